"""Compatibility rules: captured or declared data against a consumer's declared schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from orchestrator.data.capture import capture_output
from orchestrator.data.compatibility import (
    RULES,
    UNKNOWN_FORMAT,
    Rule,
    check_declared,
    check_output,
    declared_profile,
    issue,
)
from orchestrator.data.profiles import ArtifactProfile, ColumnProfile, DatasetProfile, OutputProfile
from orchestrator.data.schemas import DataSchema, schema_from_data
from orchestrator.issues import Issue, Severity, errors_in, has_errors

E, W = Severity.ERROR, Severity.WARNING


def col(
    name: str,
    type_: str = "int64",
    *,
    nulls: int | None = 0,
    low: Any = None,
    high: Any = None,
    distinct: list[str] | None = None,
) -> ColumnProfile:
    """A captured column; nullable follows the null count (unknown counts as maybe)."""
    return ColumnProfile(
        name=name,
        type=type_,
        nullable=nulls is None or nulls > 0,
        null_count=nulls,
        min=low,
        max=high,
        distinct=distinct,
    )


def dataset(
    *columns: ColumnProfile, path: str = "", fmt: str = "csv", rows: int | None = 10
) -> DatasetProfile:
    name = f"{path}/part-0.{fmt}" if path else f"part-0.{fmt}"
    return DatasetProfile(path=path, format=fmt, files=[name], rows=rows, columns=list(columns))


def output(*datasets: DatasetProfile, name: str = "train") -> OutputProfile:
    return OutputProfile(
        output=name,
        folder=f"/runs/x/{name}",
        files=max(1, len(datasets)),
        layout=sorted({d.path for d in datasets if d.path}),
        datasets=list(datasets),
    )


def schema(**fields: Any) -> DataSchema:
    return schema_from_data(fields)


def found(issues: list[Issue]) -> list[tuple[str, Severity]]:
    return [(i.rule, i.severity) for i in issues]


def only(issues: list[Issue], rule: Rule, severity: Severity) -> Issue:
    """The one issue found, which must be of ``rule`` with ``severity``."""
    assert found(issues) == [(rule.value, severity)], issues
    return issues[0]


FEATURES = {
    "id": {"type": "integer", "nullable": False},
    "age": {"type": "float", "min": 18, "max": 100},
    "label": {"type": "integer", "allowed": [0, 1]},
    "region": {"type": "string", "allowed": ["north", "south"]},
}


def good_columns() -> list[ColumnProfile]:
    return [
        col("id", low=1, high=10),
        col("age", "double", low=18.5, high=99.0),
        col("label", low=0, high=1),
        col("region", "string", distinct=["north", "south"]),
    ]


# --- the rule table --------------------------------------------------------------------------


def test_every_rule_has_a_severity_and_a_meaning() -> None:
    assert set(RULES) == set(Rule)
    for rule, info in RULES.items():
        assert isinstance(info.severity, Severity), rule
        assert info.meaning.strip(), rule
        assert "\n" not in info.meaning and "|" not in info.meaning, rule


def test_issue_takes_the_rules_severity_unless_given() -> None:
    default = issue(Rule.EXTRA_COLUMNS, "text", "hint", column="c")
    assert (default.rule, default.severity, default.column) == ("extra_columns", W, "c")
    assert issue(Rule.EXTRA_COLUMNS, "text", severity=E).severity is E


# --- correct data ------------------------------------------------------------------------------


def test_correct_data_has_no_issue() -> None:
    profile = output(dataset(*good_columns(), path="train"), dataset(*good_columns(), path="val"))
    expected = schema(format="csv", layout=["train", "val"], columns=FEATURES)
    assert check_output(profile, expected) == []


def test_no_expectations_no_issue() -> None:
    profile = output(dataset(col("x", "string")), dataset(col("y"), path="sub", fmt="parquet"))
    assert check_output(profile, DataSchema()) == []


# --- empty output ------------------------------------------------------------------------------


def test_empty_output_is_an_error() -> None:
    profile = OutputProfile(output="train", folder="/runs/x/train")
    issue_ = only(check_output(profile, schema(columns=FEATURES)), Rule.EMPTY_OUTPUT, E)
    assert "'train'" in issue_.description and issue_.hint


def test_fewer_rows_than_min_rows_is_an_empty_output() -> None:
    no_rows = output(dataset(*good_columns(), rows=0))
    only(check_output(no_rows, schema(columns=FEATURES)), Rule.EMPTY_OUTPUT, E)
    few = output(dataset(*good_columns(), rows=4))
    issue_ = only(check_output(few, schema(columns=FEATURES, min_rows=5)), Rule.EMPTY_OUTPUT, E)
    assert "4 rows" in issue_.description and "at least 5" in issue_.description
    assert check_output(no_rows, schema(columns=FEATURES, min_rows=0)) == []
    unknown = output(dataset(*good_columns(), rows=None))
    assert check_output(unknown, schema(columns=FEATURES, min_rows=100)) == []


# --- format and layout -----------------------------------------------------------------------


def test_parquet_where_csv_is_expected() -> None:
    profile = output(dataset(col("renamed"), fmt="parquet"))
    issue_ = only(
        check_output(profile, schema(format="csv", columns=FEATURES)), Rule.FORMAT_MISMATCH, E
    )
    assert "parquet" in issue_.description and "csv is expected" in issue_.description
    assert "part-0.parquet" in issue_.description
    assert issue_.hint is not None and "format: parquet" in issue_.hint


def test_csv_where_tsv_is_expected() -> None:
    profile = output(dataset(*good_columns()))
    only(check_output(profile, schema(format="tsv")), Rule.FORMAT_MISMATCH, E)


def test_only_artifacts_where_a_table_is_expected() -> None:
    profile = OutputProfile(
        output="model",
        folder="/runs/x/model",
        files=1,
        artifacts=[ArtifactProfile(path="model.tar.gz", kind="model-archive", bytes=9, sha256="0")],
    )
    issue_ = only(check_output(profile, schema(format="csv")), Rule.FORMAT_MISMATCH, E)
    assert "model-archive" in issue_.description
    assert check_output(profile, DataSchema()) == []


def test_missing_train_subfolder_is_a_layout_mismatch() -> None:
    profile = output(dataset(*good_columns()))
    issues = check_output(profile, schema(layout=["train", "val"], columns=FEATURES))
    assert found(issues) == [(Rule.LAYOUT_MISMATCH.value, E)] * 2
    assert "'train/'" in issues[0].description and "'val/'" in issues[1].description
    assert "files at the output root only" in issues[0].description


def test_one_missing_split_of_three() -> None:
    profile = output(*(dataset(*good_columns(), path=p) for p in ("train", "test")))
    issues = check_output(profile, schema(layout=["train", "val", "test"], columns=FEATURES))
    issue_ = only(issues, Rule.LAYOUT_MISMATCH, E)
    assert "'val/'" in issue_.description and "test/, train/" in issue_.description


def test_layout_picks_the_dataset_of_the_expected_format() -> None:
    profile = output(
        dataset(col("other"), path="train", fmt="json"),
        dataset(*good_columns(), path="train", fmt="csv"),
    )
    assert check_output(profile, schema(format="csv", layout=["train"], columns=FEATURES)) == []


def test_unreadable_data() -> None:
    broken = dataset(path="train").model_copy(update={"error": "part-0.csv: bad quote at row 3"})
    issue_ = only(check_output(output(broken), schema(format="csv")), Rule.UNREADABLE_DATA, E)
    assert "bad quote" in issue_.description


# --- columns ---------------------------------------------------------------------------------


def test_renamed_column_is_missing_with_a_hint() -> None:
    columns = [c if c.name != "label" else col("labels", low=0, high=1) for c in good_columns()]
    issues = check_output(
        output(dataset(*columns)), schema(columns=FEATURES, extra_columns="allow")
    )
    issue_ = only(issues, Rule.MISSING_COLUMN, E)
    assert issue_.column == "label"
    assert issue_.hint is not None and "renamed to 'labels'" in issue_.hint


def test_missing_optional_column_is_fine() -> None:
    spec = {**FEATURES, "note": {"type": "string", "required": False}}
    assert check_output(output(dataset(*good_columns())), schema(columns=spec)) == []


@pytest.mark.parametrize(
    ("actual", "declared", "rule", "severity"),
    [
        ("string", "integer", Rule.TYPE_NOT_CASTABLE, E),
        ("double", "integer", Rule.TYPE_NOT_CASTABLE, E),
        ("string", "float", Rule.TYPE_NOT_CASTABLE, E),
        ("string", "number", Rule.TYPE_NOT_CASTABLE, E),
        ("timestamp[s]", "date", Rule.TYPE_NOT_CASTABLE, E),
        ("list<item: int64>", "integer", Rule.TYPE_NOT_CASTABLE, E),
        ("int64", "float", Rule.NUMERIC_WIDENING, W),
        ("int32", "float64", Rule.NUMERIC_WIDENING, W),
        ("bool", "integer", Rule.NUMERIC_WIDENING, W),
        ("bool", "float", Rule.NUMERIC_WIDENING, W),
        ("bool", "number", Rule.NUMERIC_WIDENING, W),
        ("date32[day]", "timestamp", Rule.NUMERIC_WIDENING, W),
        ("double", "float32", Rule.NUMERIC_NARROWING, W),
        ("int64", "string", Rule.READ_AS_TEXT, W),
        ("date32[day]", "string", Rule.READ_AS_TEXT, W),
    ],
)
def test_type_rules(actual: str, declared: str, rule: Rule, severity: Severity) -> None:
    profile = output(dataset(col("x", actual)))
    issue_ = only(check_output(profile, schema(columns={"x": declared})), rule, severity)
    assert issue_.column == "x"
    assert actual in issue_.description and declared in issue_.description


def output_cases() -> list[tuple[OutputProfile, DataSchema]]:
    """Captured data and an expected schema that, together, make every rule of check_output
    fire, each severity a rule can have included."""
    return [
        (OutputProfile(output="o", folder=""), DataSchema()),
        (output(dataset(col("x"), fmt="parquet")), schema(format="csv")),
        (output(dataset(col("x"))), schema(layout=["train"])),
        (output(dataset().model_copy(update={"error": "bad"})), schema(format="csv")),
        (output(dataset(col("x"), rows=0)), schema(columns={"x": "any"})),
        (output(dataset(col("x"))), schema(columns={"y": "any"})),
        (output(dataset(col("x", "string"))), schema(columns={"x": "integer"})),
        (output(dataset(col("x"))), schema(columns={"x": "float"})),
        (output(dataset(col("x"))), schema(columns={"x": "int8"})),
        (output(dataset(col("x"))), schema(columns={"x": "string"})),
        (output(dataset(col("x", nulls=1))), schema(columns={"x": {"nullable": False}})),
        (output(dataset(col("x", nulls=None))), schema(columns={"x": {"nullable": False}})),
        (output(dataset(col("x", low=-1))), schema(columns={"x": {"min": 0}})),
        (output(dataset(col("x", low=2, high=2))), schema(columns={"x": {"allowed": [1]}})),
        (output(dataset(col("x"), col("y"))), schema(columns={"x": "any"})),
        (output(dataset(col("x"), col("y"))), schema(columns={"x": "any"}, extra_columns="error")),
    ]


def test_every_output_issue_has_a_one_line_hint() -> None:
    """Each rule check_output can produce, with the hint that tells how to fix it."""
    rules: set[Rule] = set()
    for profile, expected in output_cases():
        for issue_ in check_output(profile, expected):
            rules.add(Rule(issue_.rule))
            assert issue_.hint and "\n" not in issue_.hint, issue_
            assert issue_.description and "\n" not in issue_.description, issue_
    assert rules == set(Rule) - DRIFT_RULES


def test_a_rule_whose_severity_varies_says_so_in_its_meaning() -> None:
    varied: set[Rule] = set()
    for profile, expected in output_cases():
        for issue_ in check_output(profile, expected):
            rule = Rule(issue_.rule)
            if issue_.severity is not RULES[rule].severity:
                varied.add(rule)
                assert issue_.severity.value in RULES[rule].meaning, rule
    assert varied == {Rule.NULLABLE_MISMATCH, Rule.EXTRA_COLUMNS}


DRIFT_RULES = {
    Rule.COLUMN_ADDED,
    Rule.COLUMN_REMOVED,
    Rule.TYPE_CHANGED,
    Rule.NULLABILITY_CHANGED,
    Rule.FORMAT_CHANGED,
    Rule.LAYOUT_CHANGED,
}


@pytest.mark.parametrize(
    ("actual", "declared"),
    [
        ("int64", "integer"),
        ("int64", "int64"),
        ("int8", "int32"),
        ("double", "float"),
        ("float", "float64"),
        ("int64", "number"),
        ("double", "number"),
        ("large_string", "string"),
        ("timestamp[us]", "timestamp"),
        ("date32[day]", "date"),
        ("bool", "boolean"),
        ("list<item: int64>", "any"),
        ("null", "integer"),
        ("null", "string"),
    ],
)
def test_matching_types_have_no_issue(actual: str, declared: str) -> None:
    assert check_output(output(dataset(col("x", actual))), schema(columns={"x": declared})) == []


def test_wider_integers_are_fine_while_the_values_fit() -> None:
    declared = schema(columns={"x": "int32"})
    fits = output(dataset(col("x", "int64", low=-(2**31), high=2**31 - 1)))
    assert check_output(fits, declared) == []
    too_big = output(dataset(col("x", "int64", low=0, high=2**31)))
    only(check_output(too_big, declared), Rule.NUMERIC_NARROWING, W)
    no_stats = output(dataset(col("x", "int64")))
    only(check_output(no_stats, declared), Rule.NUMERIC_NARROWING, W)


def test_unsigned_declared_types_need_non_negative_values() -> None:
    declared = schema(columns={"x": "uint8"})
    assert check_output(output(dataset(col("x", "int64", low=0, high=255))), declared) == []
    negative = output(dataset(col("x", "int64", low=-1, high=3)))
    only(check_output(negative, declared), Rule.NUMERIC_NARROWING, W)
    only(
        check_output(output(dataset(col("x", "int64", low=0, high=256))), declared),
        Rule.NUMERIC_NARROWING,
        W,
    )


def test_nulls_in_a_non_nullable_column() -> None:
    declared = schema(columns={"id": {"type": "integer", "nullable": False}})
    issue_ = only(
        check_output(output(dataset(col("id", nulls=3))), declared), Rule.NULLABLE_MISMATCH, E
    )
    assert "3 nulls" in issue_.description and issue_.column == "id"
    maybe = only(
        check_output(output(dataset(col("id", nulls=None))), declared), Rule.NULLABLE_MISMATCH, W
    )
    assert "may hold nulls" in maybe.description
    nullable = schema(columns={"id": {"type": "integer"}})
    assert check_output(output(dataset(col("id", nulls=3))), nullable) == []


def test_values_out_of_range() -> None:
    declared = schema(columns={"p": {"type": "float", "min": 0, "max": 1}})
    issues = check_output(output(dataset(col("p", "double", low=-0.5, high=1.5))), declared)
    assert found(issues) == [(Rule.VALUE_OUT_OF_RANGE.value, E)] * 2
    assert "minimum -0.5 < 0" in issues[0].description
    assert "maximum 1.5 > 1" in issues[1].description
    inside = output(dataset(col("p", "double", low=0.0, high=1.0)))
    assert check_output(inside, declared) == []
    unknown = output(dataset(col("p", "double")))
    assert check_output(unknown, declared) == []


def test_range_ignores_text_and_bool_bounds() -> None:
    declared = schema(columns={"p": {"type": "any", "min": 0, "max": 1}})
    assert check_output(output(dataset(col("p", "string", low="a", high="z"))), declared) == []
    assert check_output(output(dataset(col("p", "bool", low=False, high=True))), declared) == []


def test_values_not_allowed() -> None:
    declared = schema(columns={"region": {"type": "string", "allowed": ["north", "south"]}})
    odd = col("region", "string", distinct=["east", "north", "west"])
    issue_ = only(check_output(output(dataset(odd)), declared), Rule.VALUE_NOT_ALLOWED, E)
    assert "east, west" in issue_.description and "allowed: north, south" in issue_.description
    many = col("region", "string", distinct=None)
    assert check_output(output(dataset(many)), declared) == []


def test_integer_ends_outside_allowed_values() -> None:
    declared = schema(columns={"label": {"type": "integer", "allowed": [0, 1]}})
    only(
        check_output(output(dataset(col("label", low=0, high=2))), declared),
        Rule.VALUE_NOT_ALLOWED,
        E,
    )
    assert check_output(output(dataset(col("label", low=0, high=1))), declared) == []


def test_boolean_column_with_boolean_allowed_values() -> None:
    declared = schema(columns={"flag": {"type": "boolean", "allowed": [True, False]}})
    assert check_output(output(dataset(col("flag", "bool", low=False, high=True))), declared) == []
    only_true = schema(columns={"flag": {"type": "boolean", "allowed": [True]}})
    only(
        check_output(output(dataset(col("flag", "bool", low=False, high=True))), only_true),
        Rule.VALUE_NOT_ALLOWED,
        E,
    )


@pytest.mark.parametrize(("policy", "severity"), [("warn", W), ("error", E)])
def test_extra_columns(policy: str, severity: Severity) -> None:
    profile = output(dataset(*good_columns(), col("region_north"), col("region_south")))
    issues = check_output(profile, schema(columns=FEATURES, extra_columns=policy))
    issue_ = only(issues, Rule.EXTRA_COLUMNS, severity)
    assert (
        "2 column(s)" in issue_.description and "region_north, region_south" in issue_.description
    )


def test_extra_columns_allowed_or_no_columns_declared() -> None:
    profile = output(dataset(*good_columns(), col("more")))
    assert check_output(profile, schema(columns=FEATURES, extra_columns="allow")) == []
    assert check_output(profile, schema(format="csv", extra_columns="error")) == []


def test_extra_columns_is_warn_by_default() -> None:
    profile = output(dataset(*good_columns(), col("more")))
    only(check_output(profile, schema(columns=FEATURES)), Rule.EXTRA_COLUMNS, W)


def test_each_split_is_checked_and_named() -> None:
    bad = [c if c.name != "id" else col("id", nulls=1) for c in good_columns()]
    profile = output(dataset(*good_columns(), path="train"), dataset(*bad, path="val"))
    issues = check_output(profile, schema(layout=["train", "val"], columns=FEATURES))
    issue_ = only(issues, Rule.NULLABLE_MISMATCH, E)
    assert "val/" in issue_.description


# --- declared producer against declared consumer ---------------------------------------------


def test_identical_declared_schemas_are_compatible() -> None:
    features = schema(format="csv", layout=["train"], columns=FEATURES)
    assert check_declared(features, features) == []


def test_declared_renamed_column() -> None:
    renamed = {("label_" if k == "label" else k): v for k, v in FEATURES.items()}
    producer = schema(format="csv", columns=renamed)
    issues = check_declared(producer, schema(format="csv", columns=FEATURES))
    assert (Rule.MISSING_COLUMN.value, E) in found(issues)
    assert (Rule.EXTRA_COLUMNS.value, W) in found(issues)


def test_declared_format_mismatch() -> None:
    issues = check_declared(schema(format="parquet"), schema(format="csv", columns=FEATURES))
    only(issues, Rule.FORMAT_MISMATCH, E)


def test_declared_layout_mismatch() -> None:
    producer = schema(format="csv", layout=["train", "test"], columns=FEATURES)
    consumer = schema(format="csv", layout=["train", "val"], columns=FEATURES)
    issue_ = only(check_declared(producer, consumer), Rule.LAYOUT_MISMATCH, E)
    assert "'val/'" in issue_.description
    root = schema(format="csv", columns=FEATURES, layout=[])
    assert found(check_declared(root, consumer)) == [(Rule.LAYOUT_MISMATCH.value, E)] * 2


def test_producer_silent_on_layout_or_format_is_assumed_to_fit() -> None:
    producer = schema(columns=FEATURES)
    consumer = schema(format="parquet", layout=["train", "val"], columns=FEATURES)
    assert check_declared(producer, consumer) == []
    profile = declared_profile(producer, consumer)
    assert profile.layout == ["train", "val"]
    assert {d.format for d in profile.datasets} == {UNKNOWN_FORMAT}


def test_producer_without_columns_is_only_checked_on_format_and_layout() -> None:
    consumer = schema(format="csv", layout=["train"], columns=FEATURES)
    assert check_declared(schema(format="csv"), consumer) == []
    only(check_declared(schema(format="csv", layout=["val"]), consumer), Rule.LAYOUT_MISMATCH, E)


def test_declared_nullable_producer_against_non_nullable_consumer_is_a_warning() -> None:
    producer = schema(columns={"id": "integer"})
    consumer = schema(columns={"id": {"type": "integer", "nullable": False}})
    only(check_declared(producer, consumer), Rule.NULLABLE_MISMATCH, W)
    strict = schema(columns={"id": {"type": "integer", "nullable": False}})
    assert check_declared(strict, consumer) == []


DECLARED_CASES = [
    (schema(format="parquet"), schema(format="csv"), Rule.FORMAT_MISMATCH),
    (schema(layout=["train", "test"]), schema(layout=["train", "val"]), Rule.LAYOUT_MISMATCH),
    (schema(layout=[]), schema(layout=["train"]), Rule.LAYOUT_MISMATCH),
    (
        schema(columns={"lbl": "any"}),
        schema(columns={"label": "any"}, extra_columns="allow"),
        Rule.MISSING_COLUMN,
    ),
    (schema(columns={"x": "string"}), schema(columns={"x": "integer"}), Rule.TYPE_NOT_CASTABLE),
    (schema(columns={"x": "integer"}), schema(columns={"x": "float"}), Rule.NUMERIC_WIDENING),
    (schema(columns={"x": "int64"}), schema(columns={"x": "int32"}), Rule.NUMERIC_NARROWING),
    (schema(columns={"x": "integer"}), schema(columns={"x": "string"}), Rule.READ_AS_TEXT),
    (
        schema(columns={"x": "any"}),
        schema(columns={"x": {"nullable": False}}),
        Rule.NULLABLE_MISMATCH,
    ),
    (schema(columns={"x": "any", "y": "any"}), schema(columns={"x": "any"}), Rule.EXTRA_COLUMNS),
]


@pytest.mark.parametrize(("producer", "consumer", "rule"), DECLARED_CASES)
def test_declared_issues_say_what_is_declared(
    producer: DataSchema, consumer: DataSchema, rule: Rule
) -> None:
    """Nothing ran: a declared issue says what each side declares, not what was written."""
    [issue_] = check_declared(producer, consumer)
    assert issue_.rule == rule.value
    text = issue_.description
    assert text.startswith(("the producer declares", "the consumer requires")), text
    assert "consumer" in text, text
    for wording in ("written", "found", "output root", "is expected", "'declared'", "in the"):
        assert wording not in text, text
    assert issue_.hint and "\n" not in issue_.hint and "\n" not in text


def test_every_declared_rule_is_worded_for_declared_data() -> None:
    """check_declared can produce no rule that DECLARED_CASES leaves out."""
    reachable = set(Rule) - DRIFT_RULES
    reachable -= {Rule.EMPTY_OUTPUT, Rule.UNREADABLE_DATA}  # no files, no rows: nothing to read
    reachable -= {Rule.VALUE_OUT_OF_RANGE, Rule.VALUE_NOT_ALLOWED}  # no values either
    assert {rule for _, _, rule in DECLARED_CASES} == reachable


def test_declared_issue_of_every_split_is_reported_once() -> None:
    split = ["train", "val", "test"]
    producer = schema(format="parquet", layout=split, columns={"id": "string"})
    consumer = schema(format="csv", layout=split, columns={"id": "integer"})
    issue_ = only(check_declared(producer, consumer), Rule.FORMAT_MISMATCH, E)
    assert issue_.description == "the producer declares parquet where the consumer expects csv"
    columns = check_declared(producer, consumer.model_copy(update={"format": None}))
    assert only(columns, Rule.TYPE_NOT_CASTABLE, E).description == (
        "the producer declares column 'id' as string where the consumer expects integer"
    )


def test_declared_layout_names_both_sides() -> None:
    producer = schema(layout=["train", "test"])
    [issue_] = check_declared(producer, schema(layout=["train", "val"]))
    assert issue_.description == (
        "the producer declares subfolders test/, train/ where the consumer expects 'val/'"
    )
    [root] = check_declared(schema(layout=[]), schema(layout=["train"]))
    assert root.description == (
        "the producer declares no subfolders where the consumer expects 'train/'"
    )


@pytest.mark.parametrize(
    ("producer", "consumer", "expected"),
    [
        ("string", "integer", [(Rule.TYPE_NOT_CASTABLE.value, E)]),
        ("float", "integer", [(Rule.TYPE_NOT_CASTABLE.value, E)]),
        ("integer", "float", [(Rule.NUMERIC_WIDENING.value, W)]),
        ("int64", "int32", [(Rule.NUMERIC_NARROWING.value, W)]),
        ("float64", "float32", [(Rule.NUMERIC_NARROWING.value, W)]),
        ("integer", "string", [(Rule.READ_AS_TEXT.value, W)]),
        ("int32", "int64", []),
        ("any", "integer", []),
        ("any", "number", []),
        ("integer", "any", []),
        ("int16", "number", []),
    ],
)
def test_declared_types(producer: str, consumer: str, expected: list[tuple[str, Severity]]) -> None:
    issues = check_declared(schema(columns={"x": producer}), schema(columns={"x": consumer}))
    assert found(issues) == expected


# --- from real files -------------------------------------------------------------------------


def features_table(rows: int = 6, **overrides: list[Any]) -> Any:
    data: dict[str, list[Any]] = {
        "id": list(range(1, rows + 1)),
        "age": [20.5 + i for i in range(rows)],
        "label": [i % 2 for i in range(rows)],
        "region": [("north", "south")[i % 2] for i in range(rows)],
    }
    data.update(overrides)
    return pa.table(data)


def write_csv(folder: Path, table: Any, name: str = "part-0.csv") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pcsv.write_csv(table, folder / name)


def write_parquet(folder: Path, table: Any, name: str = "part-0.parquet") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name)


SPLITS = schema(format="csv", layout=["train", "val"], columns=FEATURES, extra_columns="error")


def test_real_correct_csv_splits_have_no_error(tmp_path: Path) -> None:
    for split in ("train", "val"):
        write_csv(tmp_path / "out" / split, features_table())
    issues = check_output(capture_output("train", tmp_path / "out"), SPLITS)
    assert errors_in(issues) == [] and not has_errors(issues), issues


def test_real_renamed_column(tmp_path: Path) -> None:
    table = features_table().rename_columns(["id", "age", "target", "region"])
    for split in ("train", "val"):
        write_csv(tmp_path / "out" / split, table)
    issues = check_output(capture_output("train", tmp_path / "out"), SPLITS)
    missing = [i for i in issues if i.rule == Rule.MISSING_COLUMN]
    assert [(i.severity, i.column) for i in missing] == [(E, "label"), (E, "label")]
    assert "train/" in missing[0].description and "val/" in missing[1].description
    assert (Rule.EXTRA_COLUMNS.value, E) in found(issues)


def test_real_parquet_where_csv_is_expected(tmp_path: Path) -> None:
    for split in ("train", "val"):
        write_parquet(tmp_path / "out" / split, features_table())
    issues = check_output(capture_output("train", tmp_path / "out"), SPLITS)
    assert found(issues) == [(Rule.FORMAT_MISMATCH.value, E)] * 2
    assert "train/part-0.parquet" in issues[0].description


def test_real_output_without_the_train_subfolder(tmp_path: Path) -> None:
    write_csv(tmp_path / "out", features_table())
    issues = check_output(capture_output("train", tmp_path / "out"), SPLITS)
    assert found(issues) == [(Rule.LAYOUT_MISMATCH.value, E)] * 2
    assert "'train/'" in issues[0].description


def test_real_empty_output(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    only(check_output(capture_output("train", tmp_path / "out"), SPLITS), Rule.EMPTY_OUTPUT, E)
    missing = capture_output("train", tmp_path / "never-created")
    only(check_output(missing, SPLITS), Rule.EMPTY_OUTPUT, E)


def test_real_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "part-0.csv").write_text('"id","age","label","region"\n')
    flat = schema(format="csv", columns={"id": "any"}, extra_columns="allow")
    issues = check_output(capture_output("train", tmp_path / "out"), flat)
    assert (Rule.EMPTY_OUTPUT.value, E) in found(issues)


def test_real_csv_values_nulls_and_allowed(tmp_path: Path) -> None:
    table = features_table(
        id=[1, 2, None, 4, 5, 6],
        age=[17.5, 30.5, 40.5, 50.5, 60.5, 70.5],
        label=[0, 1, 2, 0, 1, 0],
        region=["north", "south", "east", "north", "south", "north"],
    )
    write_csv(tmp_path / "out", table)
    flat = schema(format="csv", columns=FEATURES)
    issues = check_output(capture_output("train", tmp_path / "out"), flat)
    by_column = {(i.column, i.rule, i.severity) for i in issues}
    assert by_column == {
        ("id", Rule.NULLABLE_MISMATCH.value, E),
        ("age", Rule.VALUE_OUT_OF_RANGE.value, E),
        ("label", Rule.VALUE_NOT_ALLOWED.value, E),
        ("region", Rule.VALUE_NOT_ALLOWED.value, E),
    }


def test_real_text_and_integer_types(tmp_path: Path) -> None:
    table = features_table(age=[20, 30, 40, 50, 60, 70], label=["no", "yes"] * 3)
    write_csv(tmp_path / "out", table)
    issues = check_output(capture_output("train", tmp_path / "out"), schema(columns=FEATURES))
    by_column = {(i.column, i.rule, i.severity) for i in issues}
    assert by_column == {
        ("age", Rule.NUMERIC_WIDENING.value, W),
        ("label", Rule.TYPE_NOT_CASTABLE.value, E),
        ("label", Rule.VALUE_NOT_ALLOWED.value, E),
    }


def test_real_parquet_statistics(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "p": pa.array([0.1, 0.5, 1.5], pa.float64()),
            "label": pa.array([0, 1, 1], pa.int8()),
        }
    )
    write_parquet(tmp_path / "out" / "train", table)
    declared = schema(
        format="parquet",
        layout=["train"],
        columns={
            "id": {"type": "int32", "nullable": False},
            "p": {"type": "float", "min": 0, "max": 1},
            "label": {"type": "integer", "allowed": [0, 1]},
        },
    )
    issues = check_output(capture_output("train", tmp_path / "out"), declared)
    assert found(issues) == [(Rule.VALUE_OUT_OF_RANGE.value, E)]
    assert issues[0].column == "p"


@pytest.mark.parametrize(
    ("promised", "expected", "rules"),
    [
        ("number", "number", []),
        ("integer", "number", []),
        ("float", "number", []),
        ("int32", "number", []),
        ("number", "float", [(Rule.NUMERIC_WIDENING.value, W)]),
        ("number", "integer", [(Rule.NUMERIC_NARROWING.value, W)]),
        ("number", "string", [(Rule.READ_AS_TEXT.value, W)]),
        ("number", "boolean", [(Rule.TYPE_NOT_CASTABLE.value, E)]),
        ("integer", "float", [(Rule.NUMERIC_WIDENING.value, W)]),
        ("float", "integer", [(Rule.TYPE_NOT_CASTABLE.value, E)]),
    ],
)
def test_declared_number_columns(promised: str, expected: str, rules: list[Any]) -> None:
    """A column both ends declare ``number`` is no finding; ``number`` against a narrower type
    is a warning, for the values it may hold."""
    producer = schema(format="csv", columns={"age": {"type": promised, "nullable": False}})
    consumer = schema(format="csv", columns={"age": {"type": expected, "nullable": False}})
    issues = check_declared(producer, consumer)
    assert found(issues) == rules, issues
    for found_issue in issues:
        assert f"as {promised} where the consumer expects {expected}" in found_issue.description
