"""Test-case files: what a good file becomes, and one clear line for every mistake."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.data.metrics import (
    DEFAULT_METRICS_FILE,
    MetricExpectation,
    number_text,
    parse_metric_expectation,
)
from orchestrator.errors import InputError
from orchestrator.files import FieldError
from orchestrator.scripttest.cases import TestCase, cases_from_data, load_test_cases, log_pattern

from .conftest import write

GOOD_YAML = """
test_cases:
  - name: binary_classification
    description: high-performance model
    input_data:
      model: models/binary
      eval_data:
        synthetic: {schema: schemas/eval.yaml, rows: 500, seed: 7, format: parquet}
      extra: data/raw.csv
    environment_vars: {LABEL_FIELD: label, MAX_ROWS: 100, DEBUG: true, RATIO: 0.5}
    arguments: [--job-type, evaluation, --folds, 5]
    expected_metrics:
      auc_roc: ">= 0.9"
      f1: "> 0.85"
      log_loss: "<= 1"
      error: "< 0.2"
      folds: "== 3"
      accuracy: "between 0.7 and 0.9"
      recall: 0.75
      binary_classification_metrics.auc: "  >=0.5 "
    metrics_file: ./metrics/metrics.json
    expected_outputs: [metrics/metrics.json, "predictions/*.csv", roc_curve.jpg, ./plots/]
    data_quality_assertions:
      - no_nan_predictions
      - {check: max_missing_ratio, columns: [age], max_ratio: 0.1, severity: warning}
    expected_behavior:
      should_complete: true
      min_predictions: 10
      max_execution_time_seconds: 30
    warnings_expected: [small_dataset_warning, "/rows? dropped/"]
  - name: training.small-1
    input_data: {train: data}
    hyperparameters: {max_depth: 4, eta: 0.3, objective: "binary:logistic", early: true}
    expected_behavior: {should_complete: false}
"""


@pytest.fixture
def cases_dir(tmp_path: Path) -> Path:
    """A folder holding the files a test-case file points at."""
    (tmp_path / "models" / "binary").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "raw.csv").write_text("a\n1\n")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "eval.yaml").write_text("columns: {a: integer}\n")
    return tmp_path


def test_a_good_file_is_read_with_every_field(cases_dir: Path) -> None:
    path = write(cases_dir, "cases.yaml", GOOD_YAML)
    cases = load_test_cases(path)
    assert cases.source == str(path)
    assert cases.base_dir == cases_dir.resolve()
    assert cases.names == ["binary_classification", "training.small-1"]
    case = cases.case("binary_classification")
    assert case.description == "high-performance model"
    assert case.input_data["model"].path == cases_dir.resolve() / "models/binary"
    assert case.input_data["model"].synthetic is None
    assert case.input_data["extra"].path == cases_dir.resolve() / "data/raw.csv"
    synthetic = case.input_data["eval_data"].synthetic
    assert synthetic is not None and case.input_data["eval_data"].path is None
    assert synthetic.schema_file == cases_dir.resolve() / "schemas/eval.yaml"
    assert (synthetic.rows, synthetic.seed, synthetic.format) == (500, 7, "parquet")
    assert case.environment_vars == {
        "LABEL_FIELD": "label",
        "MAX_ROWS": "100",
        "DEBUG": "True",
        "RATIO": "0.5",
    }
    assert case.arguments == ["--job-type", "evaluation", "--folds", "5"]
    described = [e.describe() for e in case.expected_metrics.values()]
    assert described == [
        "auc_roc >= 0.9",
        "f1 > 0.85",
        "log_loss <= 1",
        "error < 0.2",
        "folds == 3",
        "accuracy between 0.7 and 0.9",
        "recall >= 0.75",
        "binary_classification_metrics.auc >= 0.5",
    ]
    assert case.metrics_file == "metrics/metrics.json"
    assert case.metrics_pattern == "metrics/metrics.json"
    assert case.expected_outputs == [
        "metrics/metrics.json",
        "predictions/*.csv",
        "roc_curve.jpg",
        "plots",
    ]
    first, second = case.data_quality_assertions
    assert first.check == "no_nan_predictions" and first.severity.value == "error"
    assert second.check == "max_missing_ratio" and second.severity.value == "warning"
    assert second.model_dump()["max_ratio"] == 0.1
    behavior = case.expected_behavior
    assert (behavior.should_complete, behavior.min_predictions) == (True, 10)
    assert behavior.max_execution_time_seconds == 30
    assert case.warnings_expected == ["small_dataset_warning", "/rows? dropped/"]


def test_defaults_of_a_minimal_case(cases_dir: Path) -> None:
    cases = load_test_cases(write(cases_dir, "cases.yaml", GOOD_YAML))
    training = cases.case("training.small-1")
    assert training.hyperparameters == {
        "max_depth": 4,
        "eta": 0.3,
        "objective": "binary:logistic",
        "early": True,
    }
    assert training.should_complete is False
    assert training.metrics_file is None
    assert training.metrics_pattern == DEFAULT_METRICS_FILE == "metrics.json"
    assert training.expected_metrics == {}
    assert training.expected_outputs == []
    assert training.warnings_expected == []
    assert training.description == ""
    with pytest.raises(KeyError):
        cases.case("nope")


def test_a_bare_list_and_a_json_file_are_accepted(cases_dir: Path) -> None:
    listed = load_test_cases(write(cases_dir, "list.yml", "- name: one\n- name: two\n"))
    assert listed.names == ["one", "two"]
    data = {"test_cases": [{"name": "j", "expected_metrics": {"auc": ">= 0.5"}}]}
    (cases_dir / "cases.json").write_text(json.dumps(data))
    from_json = load_test_cases(cases_dir / "cases.json")
    assert from_json.case("j").expected_metrics["auc"].describe() == "auc >= 0.5"


def test_paths_resolve_against_the_cases_file_not_the_working_directory(
    cases_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    path = write(cases_dir, "cases.yaml", "test_cases: [{name: a, input_data: {raw: data}}]")
    case = load_test_cases(path).case("a")
    assert case.input_data["raw"].path == cases_dir.resolve() / "data"


def test_a_case_validated_directly_resolves_nothing() -> None:
    case = TestCase.model_validate({"name": "a", "input_data": {"raw": "not/there"}})
    assert case.input_data["raw"].path == Path("not/there")


def test_python_data_may_mix_cases_and_mappings(cases_dir: Path) -> None:
    ready = TestCase(name="ready")
    cases = cases_from_data([ready, {"name": "raw", "input_data": {"d": "data"}}], cases_dir)
    assert cases.test_cases[0] is ready
    assert cases.case("raw").input_data["d"].path == cases_dir / "data"
    assert cases.source is None


def _case_yaml(fields: dict[str, Any], name: str = "c1") -> str:
    return yaml.safe_dump({"test_cases": [{"name": name, **fields}]})


BAD_FIELDS = [
    (
        {"job_arguments": ["--x"]},
        "test_cases.c1.job_arguments: unknown field 'job_arguments' (did you mean 'arguments'?);"
        " allowed: name, description, input_data, environment_vars, arguments, hyperparameters,"
        " expected_metrics, metrics_file, expected_outputs, data_quality_assertions,"
        " expected_behavior, warnings_expected, expected_schema",
    ),
    (
        {"input_data": {"raw": "missing/folder"}},
        "test_cases.c1.input_data.raw.path: no such file or folder: {dir}/missing/folder",
    ),
    (
        {"input_data": {"raw": 3}},
        "test_cases.c1.input_data.raw: must be a path, an s3://bucket/prefix URI, synthetic: "
        "{schema, rows, seed, format} or registry: script/case",
    ),
    (
        {"input_data": {"raw": {"path": "data", "synthetic": {"schema": "data", "rows": 1}}}},
        "test_cases.c1.input_data.raw: give one of: a path (or s3:// URI), synthetic: {schema, "
        "rows, seed, format}, or registry: script/case[/vN]",
    ),
    (
        {"input_data": {"raw": {"synthetic": {"schema": "schemas/eval.yaml", "rows": 0}}}},
        "test_cases.c1.input_data.raw.synthetic.rows: Input should be greater than 0",
    ),
    (
        {"input_data": {"raw": {"synthetic": {"schema": "nope.yaml", "rows": 5}}}},
        "test_cases.c1.input_data.raw.synthetic.schema: no such file or folder: {dir}/nope.yaml",
    ),
    (
        {
            "input_data": {
                "raw": {"synthetic": {"schema": "schemas/eval.yaml", "rows": 5, "format": "xlsx"}}
            }
        },
        "test_cases.c1.input_data.raw.synthetic.format: Input should be 'csv' or 'parquet'",
    ),
    (
        {"input_data": {"raw": {"synthetic": {"schema": "schemas/eval.yaml", "row": 5}}}},
        "test_cases.c1.input_data.raw.synthetic.row: unknown field 'row' (did you mean 'rows'?);"
        " allowed: schema, rows, seed, format",
    ),
    (
        {"input_data": {"bad name": "data"}},
        "test_cases.c1.input_data.bad name: channel names are letters, digits, '_', '.' and '-'"
        " (at most 64)",
    ),
    (
        {"environment_vars": {"LABEL": None}},
        "test_cases.c1.environment_vars.LABEL: must be a string, number or boolean",
    ),
    (
        {"environment_vars": ["LABEL=x"]},
        "test_cases.c1.environment_vars: Input should be a valid dictionary",
    ),
    (
        {"arguments": ["--x", ["nested"]]},
        "test_cases.c1.arguments.1: must be a string, number or boolean",
    ),
    ({"arguments": "--x 1"}, "test_cases.c1.arguments: Input should be a valid list"),
    (
        {"hyperparameters": {"depth": [1, 2]}},
        "test_cases.c1.hyperparameters.depth: must be a string, number or boolean",
    ),
    (
        {"expected_metrics": ["auc >= 0.8"]},
        "test_cases.c1.expected_metrics: Input should be a valid dictionary",
    ),
    (
        {"expected_outputs": ["/abs/metrics.json"]},
        "test_cases.c1.expected_outputs: '/abs/metrics.json' must be relative to the outputs"
        " root, without '..', e.g. 'metrics/metrics.json', 'predictions/*.csv' or"
        " 'roc_curve.jpg'",
    ),
    (
        {"expected_outputs": ["a/../../b"]},
        "test_cases.c1.expected_outputs: 'a/../../b' must be relative to the outputs root,"
        " without '..', e.g. 'metrics/metrics.json', 'predictions/*.csv' or 'roc_curve.jpg'",
    ),
    (
        {"expected_outputs": ["./"]},
        "test_cases.c1.expected_outputs: an output name or glob must not be empty",
    ),
    (
        {"metrics_file": "../metrics.json"},
        "test_cases.c1.metrics_file: '../metrics.json' must be relative to the outputs root,"
        " without '..', e.g. 'metrics/metrics.json', 'predictions/*.csv' or 'roc_curve.jpg'",
    ),
    (
        {"data_quality_assertions": [3]},
        "test_cases.c1.data_quality_assertions.0: a check is a name or a mapping with 'check';"
        " got 3",
    ),
    (
        {"expected_behavior": {"should_completes": True}},
        "test_cases.c1.expected_behavior.should_completes: unknown field 'should_completes'"
        " (did you mean 'should_complete'?); allowed: should_complete, min_predictions,"
        " max_execution_time_seconds",
    ),
    (
        {"expected_behavior": {"should_complete": "sometimes"}},
        "test_cases.c1.expected_behavior.should_complete: Input should be a valid boolean,"
        " unable to interpret input",
    ),
    (
        {"expected_behavior": {"min_predictions": -1}},
        "test_cases.c1.expected_behavior.min_predictions: Input should be greater than or equal"
        " to 0",
    ),
    (
        {"expected_behavior": {"max_execution_time_seconds": 0}},
        "test_cases.c1.expected_behavior.max_execution_time_seconds: Input should be greater"
        " than 0",
    ),
    (
        {"warnings_expected": ["/[unclosed/"]},
        "test_cases.c1.warnings_expected: '/[unclosed/' is not a valid regular expression:"
        " unterminated character set at position 0",
    ),
    (
        {"warnings_expected": [""]},
        "test_cases.c1.warnings_expected: a warning pattern must not be empty",
    ),
    (
        {"description": ["not", "text"]},
        "test_cases.c1.description: Input should be a valid string",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), BAD_FIELDS)
def test_every_bad_field_is_one_line_naming_file_case_and_field(
    cases_dir: Path, fields: dict[str, Any], expected: str
) -> None:
    path = write(cases_dir, "cases.yaml", _case_yaml(fields))
    with pytest.raises(InputError) as caught:
        load_test_cases(path)
    message = str(caught.value)
    assert message == f"{path}: " + expected.replace("{dir}", str(cases_dir.resolve()))
    assert "\n" not in message
    assert caught.value.exit_code == 2


BAD_EXPRESSIONS = [
    (">> 0.8", "cannot read '>> 0.8'"),
    ("=> 0.8", "cannot read '=> 0.8'"),
    ("= 0.8", "cannot read '= 0.8'"),
    ("0.8 <=", "cannot read '0.8 <='"),
    (">= high", "cannot read '>= high'"),
    ("between 0.7", "cannot read 'between 0.7'"),
    ("between 0.7 or 0.9", "cannot read 'between 0.7 or 0.9'"),
    ("", "cannot read ''"),
    (">= nan", "cannot read '>= nan'"),
]


@pytest.mark.parametrize(("written", "start"), BAD_EXPRESSIONS)
def test_a_bad_metric_expression_is_a_load_error_naming_case_and_metric(
    cases_dir: Path, written: str, start: str
) -> None:
    path = write(cases_dir, "cases.yaml", _case_yaml({"expected_metrics": {"auc": written}}))
    with pytest.raises(InputError) as caught:
        load_test_cases(path)
    assert str(caught.value) == (
        f"{path}: test_cases.c1.expected_metrics.auc: {start}; write '>= 0.8', '> 0.8', "
        "'<= 1', '< 1', '== 3', 'between 0.7 and 0.9', or a number (meaning >=)"
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            True,
            "must be an expression such as '>= 0.8', '> 0.8', '<= 1', '< 1', '== 3', "
            "'between 0.7 and 0.9', or a number",
        ),
        (
            [0.8],
            "must be an expression such as '>= 0.8', '> 0.8', '<= 1', '< 1', '== 3', "
            "'between 0.7 and 0.9', or a number",
        ),
        ("between 0.9 and 0.7", "'between 0.9 and 0.7': the lower bound is above the upper bound"),
    ],
)
def test_metric_values_that_are_no_expression(cases_dir: Path, written: Any, message: str) -> None:
    path = write(cases_dir, "cases.yaml", _case_yaml({"expected_metrics": {"f1": written}}))
    with pytest.raises(InputError) as caught:
        load_test_cases(path)
    assert str(caught.value) == f"{path}: test_cases.c1.expected_metrics.f1: {message}"


def test_case_names_must_be_unique(cases_dir: Path) -> None:
    text = "test_cases:\n  - name: a\n  - name: b\n  - name: a\n"
    path = write(cases_dir, "cases.yaml", text)
    with pytest.raises(InputError) as caught:
        load_test_cases(path)
    assert str(caught.value) == f"{path}: test_cases.a: the name 'a' is used by two cases"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test_cases:\n  - description: x\n", "test_cases.0.name: Field required"),
        (
            "test_cases:\n  - name: a\n  - name: has space\n",
            "test_cases.1.name: 'has space' is not a case name; use letters, digits, '_', '.'"
            " and '-' (at most 100, starting with a letter or digit)",
        ),
        (
            "test_cases:\n  - just text\n",
            "test_cases.0: a case is a mapping with a 'name' and its expectations",
        ),
        ("test_cases: []\n", "test_cases: lists no cases; add at least one with a 'name'"),
        (
            "test_cases: {a: 1}\n",
            "test_cases: must be a list of cases, each a mapping with a 'name'",
        ),
        (
            "cases: []\n",
            "cases: unknown field 'cases' (did you mean 'test_cases'?); "
            "allowed: test_cases, script, dag, contract",
        ),
        ("{}\n", "test_cases: must be a list of cases, each a mapping with a 'name'"),
        ("just text\n", "a test-case file is a mapping 'test_cases: [...]' or a list of cases"),
    ],
)
def test_file_level_mistakes(cases_dir: Path, text: str, expected: str) -> None:
    path = write(cases_dir, "cases.yaml", text)
    with pytest.raises(InputError) as caught:
        load_test_cases(path)
    assert str(caught.value) == f"{path}: {expected}"


def test_missing_unreadable_and_misnamed_files(cases_dir: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: no such test-case file$"):
        load_test_cases(cases_dir / "nope.yaml")
    (cases_dir / "cases.txt").write_text("test_cases: []")
    with pytest.raises(InputError, match=r"unknown test-case format; allowed: .yaml, .yml, "):
        load_test_cases(cases_dir / "cases.txt")
    broken = write(cases_dir, "broken.yaml", "test_cases:\n  - name: [a\n")
    with pytest.raises(InputError, match=r"^.*broken\.yaml:\d+: YAML syntax error"):
        load_test_cases(broken)
    twice = write(cases_dir, "twice.yaml", "test_cases:\n  - name: a\n    name: b\n")
    with pytest.raises(InputError, match=r"twice\.yaml:3: duplicate key 'name'"):
        load_test_cases(twice)


def test_cases_from_data_raises_field_errors(cases_dir: Path) -> None:
    with pytest.raises(FieldError) as caught:
        cases_from_data([{"name": "a", "expected_metrics": {"auc": "?"}}], cases_dir)
    assert caught.value.field == "test_cases.a.expected_metrics.auc"


@pytest.mark.parametrize(
    ("written", "op", "value", "upper", "bound"),
    [
        (">= 0.8", ">=", 0.8, None, ">= 0.8"),
        ("> 0.8", ">", 0.8, None, "> 0.8"),
        ("<= 1", "<=", 1.0, None, "<= 1"),
        ("< 1", "<", 1.0, None, "< 1"),
        ("== 3", "==", 3.0, None, "== 3"),
        ("==-2.5", "==", -2.5, None, "== -2.5"),
        ("between 0.7 and 0.9", "between", 0.7, 0.9, "between 0.7 and 0.9"),
        ("  BETWEEN -1 and 1e2 ", "between", -1.0, 100.0, "between -1 and 100"),
        ("between 0.5 and 0.5", "between", 0.5, 0.5, "between 0.5 and 0.5"),
        ("0.8", ">=", 0.8, None, ">= 0.8"),
        (0.75, ">=", 0.75, None, ">= 0.75"),
        (3, ">=", 3.0, None, ">= 3"),
        (">= 1e-5", ">=", 1e-5, None, ">= 1e-05"),
        (">= .5", ">=", 0.5, None, ">= 0.5"),
    ],
)
def test_metric_expressions_are_parsed(
    written: Any, op: str, value: float, upper: float | None, bound: str
) -> None:
    parsed = parse_metric_expectation("m", written)
    assert (parsed.metric, parsed.op, parsed.value, parsed.upper) == ("m", op, value, upper)
    assert parsed.bound == bound
    assert parsed.describe() == f"m {bound}"


@pytest.mark.parametrize(
    ("written", "actual", "holds"),
    [
        (">= 0.8", 0.8, True),
        (">= 0.8", 0.79, False),
        ("> 0.8", 0.8, False),
        ("> 0.8", 0.81, True),
        ("<= 1", 1.0, True),
        ("<= 1", 1.01, False),
        ("< 1", 1.0, False),
        ("< 1", 0.99, True),
        ("== 3", 3.0, True),
        ("== 3", 3.0 + 1e-12, True),
        ("== 3", 3.001, False),
        ("== 0", 0.0, True),
        ("== 0", 1e-6, False),
        ("between 0.7 and 0.9", 0.7, True),
        ("between 0.7 and 0.9", 0.9, True),
        ("between 0.7 and 0.9", 0.69, False),
        ("between 0.7 and 0.9", 0.91, False),
        (">= 0", math.nan, False),
        ("between 0 and 1", math.nan, False),
    ],
)
def test_metric_expectations_hold_or_not(written: str, actual: float, holds: bool) -> None:
    assert parse_metric_expectation("m", written).holds(actual) is holds


def test_a_parsed_expectation_is_kept_as_is() -> None:
    made = MetricExpectation(metric="m", op="<", value=2)
    assert parse_metric_expectation("m", made) is made


def test_log_patterns_and_number_text() -> None:
    assert log_pattern("plain text") is None
    assert log_pattern("/") is None
    regex = log_pattern("/rows? dropped/")
    assert regex is not None and regex.search("3 rows dropped")
    assert [number_text(v) for v in (3.0, 0.8, -2.0, 1e-5, 1e20)] == [
        "3",
        "0.8",
        "-2",
        "1e-05",
        "1e+20",
    ]
    assert number_text(math.nan) == "nan"


@pytest.mark.parametrize(
    ("check", "fragments"),
    [
        ({"check": "no_such_check"}, ["data_quality_assertions.0", "no_nan_predictions"]),
        ({"check": "row_count", "mostly": 0.5}, ["data_quality_assertions.0.mostly"]),
        ("nope", ["data_quality_assertions.0", "unique_key"]),
    ],
)
def test_a_bad_quality_check_stops_loading(
    cases_dir: Path, check: Any, fragments: list[str]
) -> None:
    path = write(cases_dir, "cases.yaml", _case_yaml({"data_quality_assertions": [check]}))
    with pytest.raises(InputError) as caught:
        load_test_cases(path)
    message = str(caught.value)
    assert "\n" not in message and "test_cases.c1." in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("ref", "key"), [("score/standard", ("score", "standard", None)), ("s/c/v3", ("s", "c", 3))]
)
def test_registry_inputs(cases_dir: Path, ref: str, key: tuple[str, str, int | None]) -> None:
    path = write(cases_dir, "cases.yaml", _case_yaml({"input_data": {"raw": {"registry": ref}}}))
    (case,) = load_test_cases(path).test_cases
    assert case.input_data["raw"].registry_key == key


def test_a_bad_registry_reference(cases_dir: Path) -> None:
    path = write(cases_dir, "c.yaml", _case_yaml({"input_data": {"raw": {"registry": "score"}}}))
    with pytest.raises(InputError, match="not a registry reference; write script/case"):
        load_test_cases(path)


def test_a_check_reference_is_found_when_the_cases_are_read(cases_dir: Path) -> None:
    (cases_dir / "data" / "ref.csv").write_text("amount\n1\n")
    drift = {"check": "distribution_drift", "column": "amount", "reference": "data/ref.csv"}
    path = write(cases_dir, "cases.yaml", _case_yaml({"data_quality_assertions": [drift]}))
    (case,) = load_test_cases(path).test_cases
    reference = case.data_quality_assertions[0].model_dump()["reference"]
    assert reference == "data/ref.csv"  # as written, read relative to the case's base_dir
    assert case.base_dir == cases_dir.resolve()
    missing = {**drift, "reference": "data/nope.csv"}
    path = write(cases_dir, "bad.yaml", _case_yaml({"data_quality_assertions": [missing]}))
    with pytest.raises(InputError, match=r"data_quality_assertions\.0\.reference: no such file"):
        load_test_cases(path)
