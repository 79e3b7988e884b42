"""Judging a run against its case: for every kind of expectation a run that meets it and one
that misses it, with the exact reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.scripttest.case_checks import (
    CaseOutcome,
    Failure,
    ScriptTestResult,
    TestCaseResult,
    evaluate,
    find_metric,
    flatten_metrics,
    judge,
    matches,
    metrics_file_for,
    output_files,
)
from orchestrator.scripttest.cases import TestCase


def make_case(**fields: Any) -> TestCase:
    return TestCase.model_validate({"name": "c", **fields})


def outputs(root: Path, files: dict[str, str | dict[str, Any] | list[Any]]) -> Path:
    """An outputs folder holding ``files`` (mappings and lists are written as JSON)."""
    folder = root / "outputs"
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


def outcome(folder: Path, **fields: Any) -> CaseOutcome:
    values: dict[str, Any] = {"exit_code": 0, "status": "succeeded", "duration_seconds": 1.0}
    return CaseOutcome(outputs_dir=folder, **{**values, **fields})


def messages(failures: list[Failure]) -> list[str]:
    return [failure.message for failure in failures]


# Metrics -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value", "message"),
    [
        (">= 0.8", 0.8, None),
        (">= 0.8", 0.71, "auc_roc is 0.71, expected >= 0.8"),
        ("> 0.8", 0.81, None),
        ("> 0.8", 0.8, "auc_roc is 0.8, expected > 0.8"),
        ("<= 1", 1, None),
        ("<= 1", 1.5, "auc_roc is 1.5, expected <= 1"),
        ("< 1", 0.5, None),
        ("< 1", 1, "auc_roc is 1, expected < 1"),
        ("== 3", 3, None),
        ("== 3", 3.0000000000001, None),
        ("== 3", 2, "auc_roc is 2, expected == 3"),
        ("between 0.7 and 0.9", 0.7, None),
        ("between 0.7 and 0.9", 0.9, None),
        ("between 0.7 and 0.9", 0.95, "auc_roc is 0.95, expected between 0.7 and 0.9"),
        ("between 0.7 and 0.9", 0.65, "auc_roc is 0.65, expected between 0.7 and 0.9"),
        (0.8, 0.85, None),
        (0.8, 0.123456789, "auc_roc is 0.123456789, expected >= 0.8"),
    ],
)
def test_each_operator_passes_or_fails_with_the_exact_reason(
    tmp_path: Path, written: Any, value: float, message: str | None
) -> None:
    case = make_case(expected_metrics={"auc_roc": written})
    folder = outputs(tmp_path, {"metrics/metrics.json": {"auc_roc": value}})
    failures = evaluate(case, outcome(folder))
    assert messages(failures) == ([message] if message else [])
    if message:
        (failure,) = failures
        assert failure.kind == "metric"
        assert failure.expectation == f"auc_roc {case.expected_metrics['auc_roc'].bound}"
        assert failure.actual == message.split(" is ")[1].split(",")[0]


SAGEMAKER_STYLE = {
    "binary_classification_metrics": {
        "auc": {"value": 0.91, "standard_deviation": "NaN"},
        "f1": {"value": 0.6, "standard_deviation": "NaN"},
        "confusion_matrix": {"0": {"0": 10, "1": 2}},
    }
}


@pytest.mark.parametrize(
    ("metrics", "expected", "message"),
    [
        ({"metrics": {"auc": 0.9}}, {"metrics.auc": ">= 0.8"}, None),
        ({"metrics": {"auc": 0.9}}, {"auc": ">= 0.8"}, None),
        ({"metrics": {"auc": 0.7}}, {"auc": ">= 0.8"}, "auc is 0.7, expected >= 0.8"),
        (
            {"metrics": {"auc": 0.7}},
            {"metrics.auc": ">= 0.8"},
            "metrics.auc is 0.7, expected >= 0.8",
        ),
        (SAGEMAKER_STYLE, {"binary_classification_metrics.auc": "> 0.9"}, None),
        (SAGEMAKER_STYLE, {"auc": "> 0.9", "f1": "< 0.7"}, None),
        (SAGEMAKER_STYLE, {"f1": ">= 0.7"}, "f1 is 0.6, expected >= 0.7"),
        (
            SAGEMAKER_STYLE,
            {"binary_classification_metrics.confusion_matrix.0.1": "== 2"},
            None,
        ),
        ({"a.b": 1}, {"a.b": "== 1"}, None),
        ({"test": {"auc": {"value": 0.5}}}, {"test.auc": "between 0.4 and 0.6"}, None),
    ],
)
def test_nested_and_dotted_metric_names(
    tmp_path: Path, metrics: dict[str, Any], expected: dict[str, Any], message: str | None
) -> None:
    folder = outputs(tmp_path, {"metrics/metrics.json": metrics})
    failures = evaluate(make_case(expected_metrics=expected), outcome(folder))
    assert messages(failures) == ([message] if message else [])


def test_a_metric_not_in_the_file_names_what_it_has(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"metrics/metrics.json": {"auc": 0.9, "accuracy": 0.8}})
    case = make_case(expected_metrics={"f1": ">= 0.7", "auc": ">= 0.5"})
    (failure,) = evaluate(case, outcome(folder))
    assert failure.message == "metric 'f1' not in metrics/metrics.json (it has: auc, accuracy)"
    assert (failure.kind, failure.expectation, failure.actual) == ("metric", "f1 >= 0.7", None)


def test_a_missed_metric_and_the_verdict_carry_their_bounds_structured(tmp_path: Path) -> None:
    from orchestrator.data.metrics import MetricExpectation

    folder = outputs(tmp_path, {"metrics.json": {"auc": 0.5, "f1": 0.8}})
    case = make_case(expected_metrics={"auc": "between 0.7 and 0.9", "f1": "> 0.5"})
    result = judge(case, outcome(folder))
    (failure,) = result.failures
    auc = MetricExpectation(metric="auc", op="between", value=0.7, upper=0.9)
    f1 = MetricExpectation(metric="f1", op=">", value=0.5)
    assert failure.bound == auc
    assert result.metric_expectations == [auc, f1]
    assert result.expected_metrics == ["auc between 0.7 and 0.9", "f1 > 0.5"]
    again = TestCaseResult.model_validate_json(result.model_dump_json())
    assert again.failures[0].bound == auc and again.metric_expectations == [auc, f1]


def test_an_ambiguous_short_name_asks_for_the_dotted_one(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"m/metrics.json": {"train": {"auc": 1}, "test": {"auc": 0.5}}})
    (failure,) = evaluate(make_case(expected_metrics={"auc": ">= 0.6"}), outcome(folder))
    assert failure.message == (
        "metric 'auc' is ambiguous in m/metrics.json (it matches: train.auc, test.auc); "
        "give its dotted name"
    )
    passing = make_case(expected_metrics={"train.auc": ">= 0.6"})
    assert evaluate(passing, outcome(folder)) == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [("high", '"high"'), (True, "true"), (None, "null"), ([0.9], "[0.9]")],
)
def test_a_metric_that_is_not_a_number(tmp_path: Path, value: Any, shown: str) -> None:
    folder = outputs(tmp_path, {"m/metrics.json": {"auc": value}})
    (failure,) = evaluate(make_case(expected_metrics={"auc": ">= 0.5"}), outcome(folder))
    assert failure.message == f"metric 'auc' in m/metrics.json is {shown}, not a number"
    assert failure.actual == shown


def test_a_nan_metric_fails_every_bound(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"m/metrics.json": '{"auc": NaN}'})
    (failure,) = evaluate(make_case(expected_metrics={"auc": "<= 1"}), outcome(folder))
    assert failure.message == "auc is nan, expected <= 1"


def test_a_missing_metrics_file_is_one_failure_listing_every_metric(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"predictions/predictions.csv": "p\n0.5\n"})
    case = make_case(expected_metrics={"auc": ">= 0.8", "f1": "between 0 and 1"})
    (failure,) = evaluate(case, outcome(folder))
    assert failure.kind == "metric"
    assert failure.expectation == "auc >= 0.8, f1 between 0 and 1"
    assert failure.message == (
        "metrics file 'metrics.json' was not written (outputs: predictions/predictions.csv)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "metrics file 'm/metrics.json' is not valid JSON: Expecting property name"
            " enclosed in double quotes (line 1)",
        ),
        ("", "metrics file 'm/metrics.json' is not valid JSON: Expecting value (line 1)"),
        ("[0.9]", "metrics file 'm/metrics.json' holds a JSON array, not an object of metrics"),
        ("0.9", "metrics file 'm/metrics.json' holds a JSON number, not an object of metrics"),
    ],
)
def test_a_metrics_file_that_is_no_json_object(tmp_path: Path, content: str, message: str) -> None:
    folder = outputs(tmp_path, {"m/metrics.json": content})
    (failure,) = evaluate(make_case(expected_metrics={"auc": ">= 0.8"}), outcome(folder))
    assert failure.message == message


def test_a_metrics_file_that_is_not_utf8(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {})
    (folder / "m").mkdir()
    (folder / "m" / "metrics.json").write_bytes(b'{"auc": "\xff"}')
    (failure,) = evaluate(make_case(expected_metrics={"auc": ">= 0.8"}), outcome(folder))
    assert failure.message == "metrics file 'm/metrics.json' is not UTF-8 text"


def test_the_metrics_file_is_the_shallowest_metrics_json_unless_named(tmp_path: Path) -> None:
    folder = outputs(
        tmp_path,
        {
            "z/metrics.json": {"auc": 0.9},
            "a/deeper/metrics.json": {"auc": 0.1},
            "evaluation/summary.json": {"auc": 0.2},
        },
    )
    files = output_files(folder)
    assert metrics_file_for("metrics.json", files) == "z/metrics.json"
    assert evaluate(make_case(expected_metrics={"auc": ">= 0.8"}), outcome(folder)) == []
    named = make_case(expected_metrics={"auc": ">= 0.8"}, metrics_file="evaluation/summary.json")
    assert messages(evaluate(named, outcome(folder))) == ["auc is 0.2, expected >= 0.8"]
    globbed = make_case(expected_metrics={"auc": "< 0.5"}, metrics_file="a/**/metrics.json")
    assert evaluate(globbed, outcome(folder)) == []
    missing = make_case(expected_metrics={"auc": "< 0.5"}, metrics_file="eval/metrics.json")
    assert messages(evaluate(missing, outcome(folder))) == [
        "metrics file 'eval/metrics.json' was not written (outputs: a/deeper/metrics.json, "
        "evaluation/summary.json, z/metrics.json)"
    ]


def test_a_metrics_folder_is_not_a_metrics_file(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"metrics.json/inner.txt": "x"})
    assert metrics_file_for("metrics.json", output_files(folder)) is None


def test_flatten_and_find_metric() -> None:
    flat = flatten_metrics(SAGEMAKER_STYLE)
    assert list(flat) == [
        "binary_classification_metrics.auc",
        "binary_classification_metrics.f1",
        "binary_classification_metrics.confusion_matrix.0.0",
        "binary_classification_metrics.confusion_matrix.0.1",
    ]
    assert find_metric(flat, "auc") == ["binary_classification_metrics.auc"]
    assert find_metric(flat, "0") == ["binary_classification_metrics.confusion_matrix.0.0"]
    assert find_metric(flat, "uc") == []


# Outputs -----------------------------------------------------------------------------------

WRITTEN = {
    "metrics/metrics.json": {"auc": 1},
    "predictions/predictions.csv": "p\n1\n",
    "plots/roc/roc_curve.jpg": "jpg",
}


@pytest.mark.parametrize(
    "pattern",
    [
        "metrics/metrics.json",
        "metrics.json",
        "roc_curve.jpg",
        "predictions/*.csv",
        "*.csv",
        "**/*.jpg",
        "plots/**/roc_curve.jpg",
        "plots/*/roc_curve.jpg",
        "predictions",
        "roc",
        "plots/roc",
        "pred*/predictions.[ct]sv",
    ],
)
def test_an_expected_output_that_was_written(tmp_path: Path, pattern: str) -> None:
    folder = outputs(tmp_path, WRITTEN)
    assert evaluate(make_case(expected_outputs=[pattern]), outcome(folder)) == []


@pytest.mark.parametrize(
    "pattern",
    [
        "roc_curve.png",
        "predictions/*.parquet",
        "plots/*.jpg",
        "metrics/roc_curve.jpg",
        "Metrics.json",
    ],
)
def test_an_expected_output_that_was_not_written(tmp_path: Path, pattern: str) -> None:
    folder = outputs(tmp_path, WRITTEN)
    (failure,) = evaluate(make_case(expected_outputs=[pattern]), outcome(folder))
    assert failure.kind == "output"
    assert failure.expectation == f"expected_outputs: {pattern}"
    assert failure.message == (
        f"expected output '{pattern}' was not written (outputs: metrics/metrics.json, "
        "plots/roc/roc_curve.jpg, predictions/predictions.csv)"
    )


def test_an_empty_output_folder_is_not_written(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"metrics/metrics.json": {}})
    (folder / "predictions").mkdir()
    (failure,) = evaluate(make_case(expected_outputs=["predictions"]), outcome(folder))
    assert failure.message == (
        "expected output 'predictions' was not written (outputs: metrics/metrics.json)"
    )


def test_no_outputs_at_all_and_a_long_listing(tmp_path: Path) -> None:
    case = make_case(expected_outputs=["x.csv"])
    (failure,) = evaluate(case, outcome(tmp_path / "never-created"))
    assert failure.message == "expected output 'x.csv' was not written (outputs: none)"
    folder = outputs(tmp_path, {f"p/part-{i:02}.csv": "a\n" for i in range(13)})
    (failure,) = evaluate(case, outcome(folder))
    shown = ", ".join(f"p/part-{i:02}.csv" for i in range(10))
    assert (
        failure.message == f"expected output 'x.csv' was not written (outputs: {shown} and 3 more)"
    )


def test_matches_files_and_folders() -> None:
    assert matches("a/b", "a/b/c.txt")
    assert not matches("a/b", "a/b/c.txt", folders=False)
    assert matches("a/b/c.txt", "a/b/c.txt", folders=False)
    assert not matches("a/*", "b/a/x")
    assert matches("a", "b/a/x")


# Behaviour ---------------------------------------------------------------------------------


def test_should_complete_true(tmp_path: Path) -> None:
    case = make_case()
    assert evaluate(case, outcome(tmp_path)) == []
    (failure,) = evaluate(case, outcome(tmp_path, exit_code=1, status="failed"))
    assert failure.message == "should_complete: true but the script exited 1"
    assert (failure.kind, failure.expectation, failure.actual) == (
        "behavior",
        "should_complete: true",
        "exit code 1",
    )
    (failure,) = evaluate(case, outcome(tmp_path, exit_code=None, status="timeout"))
    assert failure.message == "should_complete: true but the script timed out"
    (failure,) = evaluate(case, outcome(tmp_path, exit_code=None, status=""))
    assert failure.message == "should_complete: true but the script did not finish (no exit code)"


@pytest.mark.parametrize(
    ("status", "code", "reason", "message", "said", "actual"),
    [
        (
            "oom",
            137,
            "out of memory: killed at its memory limit of 256 MiB",
            None,
            "ran out of memory (killed at its memory limit of 256 MiB; exit code 137)",
            "oom (exit code 137)",
        ),
        (
            "timeout",
            143,
            "ran past its timeout of 5 s; container killed",
            None,
            "timed out (ran past its timeout of 5 s; container killed; exit code 143)",
            "timeout (exit code 143)",
        ),
        (
            "failed",
            1,
            "exited with code 1",
            "no 'amount' column\nmore",
            "exited 1: no 'amount' column",
            "exit code 1",
        ),
    ],
)
def test_a_run_that_did_not_complete_says_how_it_ended(
    tmp_path: Path,
    status: str,
    code: int,
    reason: str,
    message: str | None,
    said: str,
    actual: str,
) -> None:
    """Out of memory and timeouts by name, not by the exit code the kill left."""
    ended = outcome(tmp_path, exit_code=code, status=status).model_copy(
        update={"reason": reason, "message": message}
    )
    (failure,) = evaluate(make_case(), ended)
    assert failure.message == f"should_complete: true but the script {said}"
    assert failure.actual == actual


def test_should_complete_false(tmp_path: Path) -> None:
    case = make_case(expected_behavior={"should_complete": False})
    assert evaluate(case, outcome(tmp_path, exit_code=2, status="failed")) == []
    (failure,) = evaluate(case, outcome(tmp_path))
    assert failure.message == "should_complete: false but the script exited 0"
    assert (failure.expectation, failure.actual) == ("should_complete: false", "exit code 0")


def test_a_case_expected_to_fail_skips_metrics_outputs_and_predictions(tmp_path: Path) -> None:
    case = make_case(
        expected_behavior={
            "should_complete": False,
            "min_predictions": 5,
            "max_execution_time_seconds": 10,
        },
        expected_metrics={"auc": ">= 0.8"},
        expected_outputs=["predictions/*.csv"],
        warnings_expected=["ValueError: no rows"],
    )
    failed = outcome(tmp_path / "empty", exit_code=1, log_lines=["ValueError: no rows"])
    assert evaluate(case, failed) == []
    slow_and_silent = outcome(tmp_path / "empty", exit_code=1, duration_seconds=12.0)
    assert messages(evaluate(case, slow_and_silent)) == [
        "ran 12.0 s, more than max_execution_time_seconds 10",
        "expected warning 'ValueError: no rows' not in the log",
    ]


def test_a_run_that_should_have_completed_is_still_checked_for_everything(
    tmp_path: Path,
) -> None:
    case = make_case(expected_metrics={"auc": ">= 0.8"}, expected_outputs=["preds.csv"])
    failures = evaluate(case, outcome(tmp_path / "none", exit_code=137, status="oom"))
    assert messages(failures) == [
        "should_complete: true but the script ran out of memory (exit code 137)",
        "metrics file 'metrics.json' was not written (outputs: none)",
        "expected output 'preds.csv' was not written (outputs: none)",
    ]


@pytest.mark.parametrize(
    ("rows", "message", "actual"),
    [
        (10, None, None),
        (250, None, None),
        (4, "wrote 4 predictions, fewer than min_predictions 10", "4"),
        (0, "wrote 0 predictions, fewer than min_predictions 10", "0"),
        (None, "min_predictions 10: the predictions could not be counted", None),
    ],
)
def test_min_predictions(
    tmp_path: Path, rows: int | None, message: str | None, actual: str | None
) -> None:
    case = make_case(expected_behavior={"min_predictions": 10})
    failures = evaluate(case, outcome(tmp_path, prediction_rows=rows))
    assert messages(failures) == ([message] if message else [])
    if message:
        assert (failures[0].kind, failures[0].expectation) == ("behavior", "min_predictions: 10")
        assert failures[0].actual == actual


@pytest.mark.parametrize(
    ("limit", "duration", "message"),
    [
        (30, 29.9, None),
        (30, 30.0, None),
        (30, 41.2, "ran 41.2 s, more than max_execution_time_seconds 30"),
        (30, 30.04, "ran 30.040 s, more than max_execution_time_seconds 30"),
        (0.5, 0.75, "ran 0.8 s, more than max_execution_time_seconds 0.5"),
    ],
)
def test_max_execution_time(
    tmp_path: Path, limit: float, duration: float, message: str | None
) -> None:
    case = make_case(expected_behavior={"max_execution_time_seconds": limit})
    failures = evaluate(case, outcome(tmp_path, duration_seconds=duration))
    assert messages(failures) == ([message] if message else [])
    if message:
        assert failures[0].expectation == f"max_execution_time_seconds: {limit:g}"


# Warnings ----------------------------------------------------------------------------------

LOG = [
    "INFO reading 8 rows",
    "WARNING small_dataset_warning: only 8 rows",
    "INFO 3 rows dropped for missing labels",
]


@pytest.mark.parametrize(
    ("pattern", "found"),
    [
        ("small_dataset_warning", True),
        ("only 8 rows", True),
        ("large_dataset_warning", False),
        ("Small_Dataset_Warning", False),
        ("/rows? dropped/", True),
        ("/^WARNING small/", True),
        ("/^small/", False),
        ("/\\d{2} rows/", False),
        ("rows? dropped", False),
        ("/", False),
    ],
)
def test_expected_warnings(tmp_path: Path, pattern: str, found: bool) -> None:
    case = make_case(warnings_expected=[pattern])
    failures = evaluate(case, outcome(tmp_path, log_lines=LOG))
    if found:
        assert failures == []
    else:
        (failure,) = failures
        assert failure.message == f"expected warning '{pattern}' not in the log"
        assert (failure.kind, failure.expectation) == ("warning", f"warnings_expected: {pattern}")


# All failures of a case ----------------------------------------------------------------------


def test_every_failed_expectation_is_listed_in_order(tmp_path: Path) -> None:
    case = make_case(
        expected_metrics={"auc": ">= 0.8", "f1": ">= 0.7", "accuracy": "> 0.5"},
        expected_outputs=["metrics.json", "roc_curve.jpg", "predictions/*.csv"],
        expected_behavior={"min_predictions": 100, "max_execution_time_seconds": 30},
        warnings_expected=["small_dataset_warning", "/done/"],
    )
    folder = outputs(
        tmp_path,
        {"metrics/metrics.json": {"auc": 0.71, "accuracy": 0.9}, "predictions/p.csv": "p\n1\n"},
    )
    run = outcome(folder, duration_seconds=41.2, prediction_rows=1, log_lines=["all done"])
    failures = evaluate(case, run)
    assert [(f.kind, f.message) for f in failures] == [
        ("metric", "auc is 0.71, expected >= 0.8"),
        ("metric", "metric 'f1' not in metrics/metrics.json (it has: auc, accuracy)"),
        (
            "output",
            "expected output 'roc_curve.jpg' was not written (outputs: metrics/metrics.json, "
            "predictions/p.csv)",
        ),
        ("behavior", "wrote 1 predictions, fewer than min_predictions 100"),
        ("behavior", "ran 41.2 s, more than max_execution_time_seconds 30"),
        ("warning", "expected warning 'small_dataset_warning' not in the log"),
    ]


# Results -----------------------------------------------------------------------------------


def test_a_case_result_carries_its_first_failure_as_error_message(tmp_path: Path) -> None:
    case = make_case(expected_outputs=["a.csv", "b.csv"])
    result = judge(case, outcome(tmp_path, duration_seconds=2.5), "process", tmp_path)
    assert result.passed is False
    assert result.error_message == "expected output 'a.csv' was not written (outputs: none)"
    assert len(result.failures) == 2
    assert (result.name, result.duration_seconds, result.isolation, result.run_dir) == (
        "c",
        2.5,
        "process",
        tmp_path,
    )
    dumped = result.model_dump(mode="json")
    assert dumped["passed"] is False
    assert TestCaseResult.model_validate(dumped) == result


def test_a_passing_result_and_one_that_could_not_run() -> None:
    ok = TestCaseResult(name="ok")
    assert (ok.passed, ok.error_message, ok.isolation) == (True, None, "container")
    broken = TestCaseResult(name="broken", error_message="image cit-runner not found")
    assert broken.passed is False and broken.failures == []
    given = TestCaseResult(
        name="x",
        failures=[Failure(kind="warning", expectation="w", message="first")],
        error_message="own words",
    )
    assert given.error_message == "own words"
    from_dicts = TestCaseResult.model_validate(
        {"name": "d", "failures": [{"kind": "metric", "expectation": "e", "message": "m"}]}
    )
    assert from_dicts.error_message == "m"


def test_script_result_counts_cases() -> None:
    results = [
        TestCaseResult(name="a"),
        TestCaseResult(name="b", error_message="failed"),
        TestCaseResult(name="c"),
    ]
    script = ScriptTestResult(script="evaluate", test_results=results)
    assert (script.total, script.passed, script.failed) == (3, 2, 1)
    assert (script.ok, script.exit_code) == (False, 1)
    assert script.result("b").error_message == "failed"
    with pytest.raises(KeyError):
        script.result("z")
    dumped = script.model_dump(mode="json")
    assert (dumped["total"], dumped["passed"], dumped["failed"]) == (3, 2, 1)
    assert [r["passed"] for r in dumped["test_results"]] == [True, False, True]
    all_pass = ScriptTestResult(script="evaluate", test_results=[results[0]])
    assert (all_pass.ok, all_pass.exit_code) == (True, 0)


# Output schemas ------------------------------------------------------------------------------

SCHEMA = {"format": "csv", "columns": {"id": "integer", "label": {"type": "integer"}}}


def test_every_output_with_data_against_one_schema(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"train/a.csv": "id,label\n1,0\n", "test/a.csv": "id,lbl\n1,0\n"})
    (folder / "none").mkdir()
    failures = evaluate(make_case(expected_schema={"*": SCHEMA}), outcome(folder))
    assert [(f.kind, f.actual) for f in failures] == [("schema", "missing_column")]
    assert failures[0].message.startswith("output 'test': required column 'label' is missing")
    assert failures[0].message.endswith("[missing_column]")


def test_every_output_means_those_holding_a_table(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"train/a.csv": "id,label\n1,0\n", "metrics/metrics.json": "{}"})
    assert evaluate(make_case(expected_schema={"*": SCHEMA}), outcome(folder)) == []
    named = make_case(expected_schema={"metrics": SCHEMA})
    assert [f.actual for f in evaluate(named, outcome(folder))] == ["format_mismatch"]


def test_a_schema_per_output_and_a_captured_profile_is_used(tmp_path: Path) -> None:
    from orchestrator.data.capture import capture_output

    folder = outputs(tmp_path, {"scores/s.parquet.txt": "x"})
    (tmp_path / "g").mkdir()
    good = outputs(tmp_path / "g", {"scores/s.csv": "id,label\n1,0\n"})
    profile = capture_output("scores", good / "scores")
    case = make_case(expected_schema={"scores": SCHEMA})
    assert evaluate(case, outcome(folder, profiles={"scores": profile})) == []
    (failure,) = [f for f in evaluate(case, outcome(folder)) if f.kind == "schema"]
    assert "scores" in failure.expectation


def test_a_schema_file_is_read_when_the_cases_are(tmp_path: Path) -> None:
    from orchestrator.errors import InputError
    from orchestrator.scripttest.cases import load_test_cases

    (tmp_path / "s.yaml").write_text("format: csv\ncolumns: {id: integer}\n")
    (tmp_path / "cases.yaml").write_text(
        "test_cases:\n  - {name: a, expected_schema: s.yaml}\n"
        "  - {name: b, expected_schema: {train: s.yaml}}\n"
    )
    a, b = load_test_cases(tmp_path / "cases.yaml").test_cases
    assert list(a.expected_schema) == ["*"] and list(b.expected_schema) == ["train"]
    assert a.expected_schema["*"].columns[0].name == "id"
    (tmp_path / "bad.yaml").write_text("test_cases:\n  - {name: a, expected_schema: nope.yaml}\n")
    with pytest.raises(InputError, match=r"test_cases\.a\.expected_schema.*nope\.yaml"):
        load_test_cases(tmp_path / "bad.yaml")


def test_the_result_keeps_every_metric_threshold_met_or_not(tmp_path: Path) -> None:
    folder = outputs(tmp_path, {"metrics.json": {"auc": 0.9, "f1": 0.4}})
    case = make_case(expected_metrics={"auc": ">= 0.8", "f1": "between 0.5 and 0.9"})
    result = judge(case, outcome(folder))
    assert result.expected_metrics == ["auc >= 0.8", "f1 between 0.5 and 0.9"]
    assert [f.expectation for f in result.failures] == ["f1 between 0.5 and 0.9"]


def test_the_verdict_keeps_how_the_run_ended(tmp_path: Path) -> None:
    from orchestrator.run.results import Status

    case = make_case(expected_outputs=["x.csv"])
    assert judge(case, outcome(tmp_path)).run_status is Status.SUCCEEDED
    assert judge(case, outcome(tmp_path, status="timeout")).run_status is Status.TIMEOUT
    assert judge(case, outcome(tmp_path, status="")).run_status is None
    assert judge(case, outcome(tmp_path, status="odd")).run_status is None
