"""Data-quality checks: parsing, every check passing and failing, tolerance, reading datasets."""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestrator.data.quality import (
    CHECKS,
    CheckResult,
    check_from_data,
    parse_checks,
    read_dataset,
    read_head,
    run_checks,
)
from orchestrator.data.quality_checks import PSI_FLOOR, NumericRanges, ks_statistic, psi
from orchestrator.errors import InputError
from orchestrator.issues import Severity

ALL_CHECKS = ", ".join(CHECKS)


def check(data: Any, table: pa.Table, **kwargs: Any) -> CheckResult:
    [result] = run_checks(parse_checks([data]), table, **kwargs)
    return result


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def predictions() -> pa.Table:
    """200 rows; rows 10, 50 and 150 have a probability outside [0, 1]."""
    probabilities = [0.5] * 200
    probabilities[10], probabilities[50], probabilities[150] = 1.2, -0.1, 3.0
    return pa.table({"id": list(range(200)), "probability": probabilities})


# --- parsing ----------------------------------------------------------------------------------


def test_bare_names_and_mappings_parse_into_typed_specs() -> None:
    specs = parse_checks(
        [
            "no_nan_predictions",
            {"check": "numeric_ranges", "ranges": {"age": {"min": 18}}, "mostly": 0.9},
            {"check": "row_count", "max": 10, "severity": "warn"},
        ]
    )
    assert [s.name for s in specs] == ["no_nan_predictions", "numeric_ranges", "row_count"]
    assert (specs[0].severity, specs[0].mostly) == (Severity.ERROR, 1.0)
    assert isinstance(specs[1], NumericRanges)
    assert specs[1].ranges["age"].min == 18 and specs[1].ranges["age"].max is None
    assert specs[1].mostly == 0.9
    assert specs[2].severity is Severity.WARNING


def test_a_spec_built_in_python_needs_no_check_name() -> None:
    spec = NumericRanges(ranges={"a": {"max": 1}})
    assert spec.check == "numeric_ranges"
    assert check_from_data(spec) is spec


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (
            "no_missing",
            "0.check",
            "unknown check 'no_missing' (did you mean 'no_missing_values'?); "
            f"allowed: {ALL_CHECKS}",
        ),
        ({"check": "nope"}, "0.check", f"unknown check 'nope'; allowed: {ALL_CHECKS}"),
        (
            {"check": "no_missing_values", "colums": ["a"]},
            "0.colums",
            "unknown field 'colums' (did you mean 'columns'?); "
            "allowed: check, severity, mostly, output, columns",
        ),
        (
            {"check": "no_nan_predictions", "severity": "fatal"},
            "0.severity",
            "unknown severity 'fatal'; allowed: error, warning",
        ),
        (
            {"check": "no_nan_predictions", "mostly": 1.5},
            "0.mostly",
            "must be a number from 0 to 1 (the share of rows that must pass), got 1.5",
        ),
        (
            {"check": "no_nan_predictions", "mostly": -0.1},
            "0.mostly",
            "must be a number from 0 to 1 (the share of rows that must pass), got -0.1",
        ),
        (
            {"check": "row_count", "mostly": 0.9},
            "0.mostly",
            "applies to row-level checks only; row_count checks the table as a whole",
        ),
        ("numeric_ranges", "0.ranges", "required by numeric_ranges"),
        ({"check": "numeric_ranges", "ranges": {"a": {}}}, "0.ranges.a", "give min, max or both"),
        (
            {"check": "numeric_ranges", "ranges": {"a": {"min": 3, "max": 1}}},
            "0.ranges.a.min",
            "low bound 3 is above high bound 1",
        ),
        (
            {"check": "categorical_consistency", "column": "c"},
            "0.allowed",
            "give either allowed (a list) or reference (a dataset)",
        ),
        (
            {"check": "statistics", "column": "c", "mean": [1]},
            "0.mean",
            "must be [low, high] (null for no bound), got [1]",
        ),
        ({"columns": ["a"]}, "0.check", f"missing; allowed: {ALL_CHECKS}"),
        (
            {"row_cont": {"min": 1}},
            "0.row_cont",
            f"unknown check 'row_cont' (did you mean 'row_count'?); allowed: {ALL_CHECKS}",
        ),
        (
            {"row_count": {"mni": 1}},
            "0.row_count.mni",
            "unknown field 'mni' (did you mean 'min'?); "
            "allowed: check, severity, output, min, max, equals, at_least, at_most",
        ),
        (
            {"row_count": {"check": "row_count"}},
            "0.row_count.check",
            "the key above names the check already",
        ),
        (
            {"row_count": {"equals": "0x data.csv"}},
            "0.row_count.equals",
            "'0x data.csv': the factor must be above 0",
        ),
        (
            {"row_count": {"at_least": -3}},
            "0.row_count.at_least",
            "must be 0 or more rows, got -3",
        ),
        (3, "0", "a check is a name or a mapping with 'check'; got 3"),
    ],
)
def test_parse_errors_are_one_line_naming_file_and_field(
    entry: Any, field: str, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        parse_checks([entry], "cases.yaml", prefix="test_cases.2.checks")
    text = str(raised.value)
    assert text == f"cases.yaml: test_cases.2.checks.{field}: {message}"
    assert "\n" not in text


def test_a_check_may_be_written_as_its_name_over_its_parameters() -> None:
    written = parse_checks([{"row_count": {"max": 10}}, {"no_nan_predictions": None}])
    assert written == parse_checks([{"check": "row_count", "max": 10}, "no_nan_predictions"])


def test_the_second_entry_is_named_by_its_index() -> None:
    with pytest.raises(InputError, match=r"^checks.yaml: 1.check: unknown check 'x'"):
        parse_checks(["row_count", "x"], "checks.yaml")


def test_a_list_is_required() -> None:
    with pytest.raises(InputError, match=r"^f.yaml: checks: must be a list of checks; allowed"):
        parse_checks("no_missing_values", "f.yaml", prefix="checks")


# --- row-level checks -------------------------------------------------------------------------


def test_predictions_in_range_fails_with_count_share_and_sample(predictions: pa.Table) -> None:
    result = check("predictions_in_range_0_1", predictions)
    assert result.message == (
        "3 of 200 rows (1.5%) have probability outside [0, 1]; mostly 1.0 allows 0"
    )
    assert not result.passed and result.is_failure
    assert (result.failing_rows, result.total_rows, result.failing_share) == (3, 200, 0.015)
    assert result.sample_rows == [10, 50, 150]
    assert result.sample == [
        {"id": 10, "probability": 1.2},
        {"id": 50, "probability": -0.1},
        {"id": 150, "probability": 3.0},
    ]


def test_predictions_in_range_passes_and_reads_prediction_when_no_probability() -> None:
    table = pa.table({"prediction": [0.0, 1.0, None, 0.3]})
    result = check("predictions_in_range_0_1", table)
    assert result.passed and not result.is_failure
    assert result.message == "0 of 4 rows (0%) have prediction outside [0, 1]; mostly 1.0 allows 0"
    assert result.sample == [] and result.failing_share == 0.0


def test_mostly_tolerates_that_share_of_failing_rows(predictions: pa.Table) -> None:
    tolerant = check({"check": "predictions_in_range_0_1", "mostly": 0.985}, predictions)
    assert tolerant.passed
    assert tolerant.message.endswith("; mostly 0.985 allows 3")
    strict = check({"check": "predictions_in_range_0_1", "mostly": 0.99}, predictions)
    assert not strict.passed
    assert strict.message.endswith("; mostly 0.99 allows 2")


def test_mostly_share_is_exact_despite_float_rounding() -> None:
    table = pa.table({"probability": [2.0] * 10 + [0.5] * 90})
    result = check({"check": "predictions_in_range_0_1", "mostly": 0.9}, table)
    assert result.passed, result.message
    assert result.message.endswith("mostly 0.9 allows 10")


def test_warning_severity_reports_without_failing(predictions: pa.Table) -> None:
    result = check({"check": "predictions_in_range_0_1", "severity": "warning"}, predictions)
    assert not result.passed
    assert not result.is_failure
    assert result.severity is Severity.WARNING


def test_no_prediction_column_cannot_run() -> None:
    result = check("no_nan_predictions", pa.table({"score": [0.1]}))
    assert not result.passed and result.is_failure
    assert result.message == (
        "cannot run: no prediction column: the table has neither 'probability' nor 'prediction' "
        "(columns: score); name one with 'column'"
    )
    assert result.failing_rows is None


def test_no_nan_predictions_counts_null_and_nan() -> None:
    table = pa.table({"id": [1, 2, 3, 4], "score": [0.1, float("nan"), None, 0.4]})
    result = check({"check": "no_nan_predictions", "column": "score"}, table)
    assert result.message == "2 of 4 rows (50%) have score null or NaN; mostly 1.0 allows 0"
    assert result.sample_rows == [1, 2]
    assert result.sample[1] == {"id": 3, "score": None}
    assert math.isnan(result.sample[0]["score"])
    passing = check({"check": "no_nan_predictions", "column": "id"}, table)
    assert passing.passed and passing.failing_rows == 0


def test_no_missing_values_counts_per_column() -> None:
    table = pa.table({"a": [1, None, 3, None], "b": ["x", "y", None, "z"], "c": [1.0] * 4})
    result = check("no_missing_values", table)
    assert result.message == (
        "3 of 4 rows (75%) have a missing value (a: 2, b: 1); mostly 1.0 allows 0"
    )
    assert result.sample_rows == [1, 2, 3]
    only_c = check({"check": "no_missing_values", "columns": "c"}, table)
    assert only_c.passed
    assert only_c.message == "0 of 4 rows (0%) have a missing value; mostly 1.0 allows 0"


def test_a_missing_column_cannot_run() -> None:
    result = check({"check": "no_missing_values", "columns": ["a", "zz"]}, pa.table({"a": [1]}))
    assert not result.passed
    assert result.message == "cannot run: column 'zz' is not in the table (columns: a)"


def test_numeric_ranges_one_and_several_columns() -> None:
    table = pa.table({"age": [10, 30, 150, None], "income": [-5.0, 1.0, 2.0, float("nan")]})
    one = check({"check": "numeric_ranges", "ranges": {"age": {"min": 18, "max": 120}}}, table)
    assert one.message == "2 of 4 rows (50%) have age outside [18, 120]; mostly 1.0 allows 0"
    assert one.sample_rows == [0, 2]
    both = check(
        {"check": "numeric_ranges", "ranges": {"age": {"min": 18}, "income": {"min": 0}}}, table
    )
    assert both.message == (
        "1 of 4 rows (25%) have a value outside its range (age >= 18: 1; income >= 0: 1); "
        "mostly 1.0 allows 0"
    )
    assert both.sample == [{"age": 10, "income": -5.0}]
    fine = check({"check": "numeric_ranges", "ranges": {"age": {"max": 150}}}, table)
    assert fine.passed and fine.message.startswith("0 of 4 rows (0%) have age above 150;")


def test_numeric_ranges_on_text_cannot_run() -> None:
    result = check({"check": "numeric_ranges", "ranges": {"s": {"min": 0}}}, pa.table({"s": ["a"]}))
    assert result.message == "cannot run: column 's' is string, not numeric"


def test_categorical_consistency_against_a_list() -> None:
    table = pa.table({"region": ["A", "B", "XX", None, "A", "ZZ", "XX"]})
    spec = {"check": "categorical_consistency", "column": "region", "allowed": ["A", "B"]}
    result = check(spec, table)
    assert result.message == (
        "3 of 7 rows (42.9%) have region outside the allowed set ['A', 'B'] "
        "(found: 'XX', 'ZZ'); mostly 1.0 allows 0"
    )
    assert result.sample_rows == [2, 5, 6]
    passing = check({**spec, "allowed": ["A", "B", "XX", "ZZ"]}, table)
    assert passing.passed and passing.failing_rows == 0


def test_categorical_consistency_compares_numbers_given_as_text() -> None:
    spec = {"check": "categorical_consistency", "column": "label", "allowed": ["0", "1"]}
    result = check(spec, pa.table({"label": [0, 1, 2, 1]}))
    assert result.failing_rows == 1 and result.sample == [{"label": 2}]


def test_categorical_consistency_against_a_reference(tmp_path: Path) -> None:
    write_csv(tmp_path / "ref" / "part-1.csv", "region,n\nA,1\nB,2\n")
    write_csv(tmp_path / "ref" / "part-2.csv", "region,n\nC,1\n")
    spec = {"check": "categorical_consistency", "column": "zone", "reference": "ref"}
    spec["reference_column"] = "region"
    table = pa.table({"zone": ["A", "C", "D"]})
    result = check(spec, table, base_dir=tmp_path)
    assert result.message == (
        "1 of 3 rows (33.3%) have zone outside the allowed set (the 3 values of region in ref) "
        "(found: 'D'); mostly 1.0 allows 0"
    )
    assert check(spec, table.slice(0, 2), base_dir=tmp_path).passed


def test_unreadable_reference_is_a_failed_result(tmp_path: Path) -> None:
    spec = {"check": "categorical_consistency", "column": "a", "reference": "gone.csv"}
    result = check(spec, pa.table({"a": ["x"]}), base_dir=tmp_path)
    assert not result.passed
    assert (
        result.message == f"cannot run: reference {tmp_path / 'gone.csv'}: no such file or folder"
    )


def test_unique_key_flags_every_row_of_a_repeated_key() -> None:
    table = pa.table({"id": [1, 2, 1, 3, 2, 4], "day": ["a", "a", "a", "a", "b", "a"]})
    result = check({"check": "unique_key", "columns": ["id"]}, table)
    assert result.message == (
        "4 of 6 rows (66.7%) share their key (id) with another row (2 keys repeated); "
        "mostly 1.0 allows 0"
    )
    assert result.sample_rows == [0, 1, 2, 4]
    compound = check({"check": "unique_key", "columns": ["id", "day"]}, table)
    assert compound.failing_rows == 2 and compound.sample_rows == [0, 2]
    unique = check({"check": "unique_key", "columns": ["id"]}, table.slice(0, 2))
    assert unique.passed and unique.message.startswith("0 of 2 rows (0%) share their key")


# --- table-level checks -----------------------------------------------------------------------


def test_max_missing_ratio() -> None:
    table = pa.table({"a": [None] * 12 + [1] * 188, "b": [None] * 3 + [1.0] * 197})
    result = check("max_missing_ratio", table)
    assert not result.passed
    assert result.message == (
        "1 column is missing in more than 10 of 200 rows (max_ratio 0.05): a 12 (6%)"
    )
    assert result.failing_rows == 12 and result.sample_rows == [0, 1, 2, 3, 4]
    assert result.measured == {"missing_ratio.a": 0.06, "missing_ratio.b": 0.015}
    passing = check({"check": "max_missing_ratio", "max_ratio": 0.06}, table)
    assert passing.passed
    assert passing.message == (
        "no column is missing in more than 12 of 200 rows (max_ratio 0.06); most: a 12 (6%)"
    )


def test_row_count() -> None:
    table = pa.table({"a": list(range(6))})
    assert check("row_count", table).message == "6 rows (min 1)"
    too_few = check({"check": "row_count", "min": 10}, table)
    assert not too_few.passed and too_few.message == "6 rows, fewer than min 10"
    too_many = check({"check": "row_count", "min": None, "max": 5}, table)
    assert not too_many.passed and too_many.message == "6 rows, more than max 5"
    assert too_many.measured == {"rows": 6} and too_many.failing_rows is None
    assert not check("row_count", table.slice(0, 0)).passed


def test_row_count_relative_to_another_dataset(tmp_path: Path) -> None:
    write_csv(tmp_path / "in.csv", "x\n1\n2\n3\n")
    table = pa.table({"a": list(range(6))})
    same = check({"row_count": {"equals": "in.csv"}}, table, base_dir=tmp_path)
    assert not same.passed and same.message == "6 rows, not as many as in.csv (3 rows)"
    assert same.measured == {"rows": 6, "equals": 3}
    twice = check({"row_count": {"at_least": "2x in.csv"}}, table, base_dir=tmp_path)
    assert twice.passed and twice.message == "6 rows (min 1, at_least 2x in.csv = 6)"
    more = check({"row_count": {"at_least": "2.5 x  in.csv"}}, table, base_dir=tmp_path)
    assert more.message == "6 rows, fewer than 2.5x in.csv (2.5 * 3 = 7.5 rows)"
    half = check({"row_count": {"at_most": "0.5x in.csv", "min": 0}}, table, base_dir=tmp_path)
    assert half.message == "6 rows, more than 0.5x in.csv (0.5 * 3 = 1.5 rows)"
    exact = check({"row_count": {"equals": "6"}}, table)
    assert exact.passed and exact.message == "6 rows (min 1, equals 6)"
    gone = check({"row_count": {"equals": "none.csv"}}, table, base_dir=tmp_path)
    assert not gone.passed and gone.message.startswith("cannot run: reference ")


def test_a_test_cases_row_count_dataset_must_exist(tmp_path: Path) -> None:
    from orchestrator.scripttest.cases import load_test_cases

    cases = write_csv(
        tmp_path / "cases.yaml",
        "test_cases:\n  - name: c\n"
        "    data_quality_assertions: [{row_count: {at_least: 2x data/in.csv}}]\n",
    )
    with pytest.raises(InputError) as raised:
        load_test_cases(cases)
    assert (
        "test_cases.c.data_quality_assertions.0.row_count.at_least: no such file or folder"
        in str(raised.value)
    )
    write_csv(tmp_path / "data" / "in.csv", "x\n1\n")
    (loaded,) = load_test_cases(cases).test_cases
    assert loaded.data_quality_assertions[0].datasets() == [("at_least", "data/in.csv")]


def test_consistent_prediction_count(tmp_path: Path) -> None:
    output = pa.table({"probability": [0.1, 0.2, 0.3]})
    same = check("consistent_prediction_count", output, input_table=pa.table({"x": [1, 2, 3]}))
    assert same.passed and same.message == "3 output rows for 3 input rows"
    fewer = check("consistent_prediction_count", output, input_table=pa.table({"x": [1, 2]}))
    assert not fewer.passed and fewer.message == "3 output rows for 2 input rows (1 more)"
    assert fewer.measured == {"output_rows": 3, "input_rows": 2}
    write_csv(tmp_path / "in.csv", "x\n1\n2\n3\n4\n")
    spec = {"check": "consistent_prediction_count", "reference": "in.csv"}
    assert (
        check(spec, output, base_dir=tmp_path).message == "3 output rows for 4 input rows (1 fewer)"
    )
    alone = check("consistent_prediction_count", output)
    assert alone.message == (
        "cannot run: no input table to compare with; name one with 'reference'"
    )


def test_statistics() -> None:
    table = pa.table({"x": [1.0, 2.0, 3.0, None, float("nan")]})
    spec = {"check": "statistics", "column": "x", "mean": [1.5, 2.5], "std": [0, 0.5]}
    result = check(spec, table)
    assert not result.passed
    assert result.message == "x: mean 2 within [1.5, 2.5]; std 1 outside [0, 0.5]"
    assert result.measured == {"mean": 2.0, "std": 1.0}
    passing = check({"check": "statistics", "column": "x", "mean": [None, 2]}, table)
    assert passing.passed and passing.message == "x: mean 2 within <= 2"
    one = check({"check": "statistics", "column": "x", "std": [0, 1]}, table.slice(0, 1))
    assert one.message == "cannot run: std of x needs 2 values, it has 1"
    empty = check({"check": "statistics", "column": "x", "mean": [0, 1]}, table.slice(3))
    assert empty.message == "cannot run: column 'x' has no values (every row is null or NaN)"


# --- drift ------------------------------------------------------------------------------------


def test_numeric_drift_measures_psi_over_reference_quantiles_and_ks(tmp_path: Path) -> None:
    write_csv(tmp_path / "ref.csv", "age\n" + "".join(f"{v}\n" for v in range(100)))
    spec = {"check": "distribution_drift", "column": "age", "reference": "ref.csv", "bins": 4}
    # Reference quartiles 24.75, 49.5, 74.25: the shifted values fill the last two bins only.
    shifted = check(spec, pa.table({"age": list(range(50, 150))}), base_dir=tmp_path)
    floor = PSI_FLOOR
    expected_psi = 2 * (floor - 0.25) * math.log(floor / 0.25) + 0.5 * math.log(3)
    assert shifted.measured["psi"] == pytest.approx(expected_psi)
    assert shifted.measured["ks"] == pytest.approx(0.5)
    assert not shifted.passed
    assert shifted.message == (
        f"age drifted from ref.csv: psi {expected_psi:.4g} > psi_max 0.2; ks 0.5 > ks_max 0.1 "
        "(100 values vs 100 reference values)"
    )
    same = check(spec, pa.table({"age": [float(v) for v in range(100)]}), base_dir=tmp_path)
    assert same.passed and same.measured == {"psi": 0.0, "ks": 0.0}
    assert same.message == (
        "age matches ref.csv: psi 0 <= psi_max 0.2; ks 0 <= ks_max 0.1 "
        "(100 values vs 100 reference values)"
    )


def test_drift_keeps_the_distributions_it_compared(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "ref.csv", "age,tier\n" + "".join(f"{v},{'AB'[v % 2]}\n" for v in range(100))
    )
    numeric = {"check": "distribution_drift", "column": "age", "reference": "ref.csv", "bins": 4}
    shifted = check(numeric, pa.table({"age": list(range(50, 150))}), base_dir=tmp_path)
    shares = shifted.distribution
    assert shares is not None and shares.column == "age"
    assert shares.labels == ["<= 24.75", "<= 49.5", "<= 74.25", "> 74.25"]
    assert shares.reference == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert shares.actual == pytest.approx([0.0, 0.0, 0.25, 0.75])
    categorical = {"check": "distribution_drift", "column": "tier", "reference": "ref.csv"}
    tiers = check(categorical, pa.table({"tier": ["A"] * 90 + ["C"] * 10}), base_dir=tmp_path)
    assert tiers.distribution is not None
    assert tiers.distribution.labels == ["A", "B", "C"]
    assert tiers.distribution.actual == pytest.approx([0.9, 0.0, 0.1])
    assert tiers.distribution.reference == pytest.approx([0.5, 0.5, 0.0])


def test_drift_thresholds_can_be_raised_or_switched_off(tmp_path: Path) -> None:
    write_csv(tmp_path / "ref.csv", "age\n" + "".join(f"{v}\n" for v in range(100)))
    table = pa.table({"age": list(range(10, 110))})
    spec = {"check": "distribution_drift", "column": "age", "reference": "ref.csv"}
    strict = check(spec, table, base_dir=tmp_path)
    assert strict.measured["ks"] == pytest.approx(0.1)
    loose = check({**spec, "psi_max": 5, "ks_max": None}, table, base_dir=tmp_path)
    assert loose.passed
    assert "; ks 0.1 (" in loose.message
    assert loose.distribution is not None and loose.distribution.limits == {"psi": 5.0}
    assert loose.distribution.statistics == pytest.approx(loose.measured)


def test_drift_keeps_its_statistics_and_limits_for_the_report(tmp_path: Path) -> None:
    write_csv(tmp_path / "ref.csv", "age\n" + "".join(f"{v}\n" for v in range(100)))
    spec = {"check": "distribution_drift", "column": "age", "reference": "ref.csv", "bins": 4}
    shifted = check(spec, pa.table({"age": list(range(50, 150))}), base_dir=tmp_path)
    shares = shifted.distribution
    assert shares is not None and shares.limits == {"psi": 0.2, "ks": 0.1}
    assert shares.statistics == pytest.approx(shifted.measured)


def test_categorical_drift_is_psi_over_categories(tmp_path: Path) -> None:
    write_csv(tmp_path / "ref.csv", "tier\n" + "A\n" * 50 + "B\n" * 50)
    spec = {"check": "distribution_drift", "column": "tier", "reference": "ref.csv"}
    table = pa.table({"tier": ["A"] * 80 + ["B"] * 20})
    result = check(spec, table, base_dir=tmp_path)
    expected = 0.3 * math.log(0.8 / 0.5) + (-0.3) * math.log(0.2 / 0.5)
    assert result.measured == {"psi": pytest.approx(expected)}
    assert result.message == (
        f"tier drifted from ref.csv: psi {expected:.4g} > psi_max 0.2 "
        "(100 values vs 100 reference values)"
    )
    new_category = pa.table({"tier": ["A"] * 50 + ["B"] * 49 + ["C"]})
    near = check(spec, new_category, base_dir=tmp_path)
    assert near.passed
    assert near.measured["psi"] == pytest.approx(psi([0.5, 0.49, 0.01], [0.5, 0.5, 0.0]))


def test_drift_between_number_and_text_cannot_run(tmp_path: Path) -> None:
    write_csv(tmp_path / "ref.csv", "x\na\nb\n")
    spec = {"check": "distribution_drift", "column": "x", "reference": "ref.csv"}
    result = check(spec, pa.table({"x": [1, 2]}), base_dir=tmp_path)
    assert result.message == (
        "cannot run: x is int64 but x in ref.csv is string: one numeric, one not"
    )


def test_ks_statistic_matches_a_direct_computation_with_ties() -> None:
    rng = random.Random(7)
    a = [float(rng.randint(0, 20)) for _ in range(300)]
    b = [float(rng.randint(3, 25)) for _ in range(170)]

    def ecdf(values: list[float], x: float) -> float:
        return sum(v <= x for v in values) / len(values)

    direct = max(abs(ecdf(a, x) - ecdf(b, x)) for x in set(a + b))
    measured = ks_statistic(pa.chunked_array([a]), pa.chunked_array([b]))
    assert measured == pytest.approx(direct)


# --- samples, serialising, reading datasets ---------------------------------------------------


def test_wide_tables_sample_the_checked_columns_first() -> None:
    columns: dict[str, list[float]] = {f"c{i:02}": [1.0] for i in range(20)}
    columns["probability"] = [7.0]
    result = check("predictions_in_range_0_1", pa.table(columns))
    [row] = result.sample
    assert list(row)[:3] == ["probability", "c00", "c01"] and len(row) == 12


def test_results_serialise_to_json(predictions: pa.Table) -> None:
    result = check("predictions_in_range_0_1", predictions)
    data = json.loads(result.model_dump_json())
    assert data["failing_rows"] == 3 and data["sample"][0] == {"id": 10, "probability": 1.2}
    assert CheckResult.model_validate(data) == result


def test_read_dataset_formats(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", "id,name\n1,x\n2,\n")
    assert read_dataset(tmp_path / "a.csv").to_pydict() == {"id": [1, 2], "name": ["x", None]}
    (tmp_path / "b.tsv.gz").write_bytes(gzip.compress(b"id\tv\n1\t0.5\n"))
    assert read_dataset(tmp_path / "b.tsv.gz").to_pydict() == {"id": [1], "v": [0.5]}
    write_csv(tmp_path / "c.jsonl", '{"id": 1}\n{"id": 2, "v": 3}\n')
    assert read_dataset(tmp_path / "c.jsonl").to_pydict() == {"id": [1, 2], "v": [None, 3]}
    write_csv(tmp_path / "d.json", '[{"id": 1}, {"v": "x"}]')
    assert read_dataset(tmp_path / "d.json").to_pydict() == {"id": [1, None], "v": [None, "x"]}
    pq.write_table(pa.table({"id": [5]}), tmp_path / "e.parquet")
    assert read_dataset(tmp_path / "e.parquet").to_pydict() == {"id": [5]}


def test_read_dataset_concatenates_a_folder_and_ignores_other_files(tmp_path: Path) -> None:
    write_csv(tmp_path / "out" / "part-1.csv", "id,p\n1,0.5\n")
    write_csv(tmp_path / "out" / "sub" / "part-2.csv", "id,p\n2,1\n")
    write_csv(tmp_path / "out" / "metrics.json", '{"auc": 0.9}')
    write_csv(tmp_path / "out" / "notes.txt", "hello")
    table = read_dataset(tmp_path / "out")
    assert table.to_pydict() == {"id": [1, 2], "p": [0.5, 1.0]}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file or folder"),
        ("model.pkl", "x", "is not a table file; allowed: .csv, .tsv, .parquet, .pq, .jsonl"),
        ("obj.json", '{"a": 1}', "cannot be read as a table: not a JSON array of objects"),
        ("bad.parquet", "not parquet", "cannot be read as parquet: "),
        ("bad.csv", "a,b\n1,2,3\n", "cannot be read as csv: CSV parse error"),
    ],
)
def test_read_dataset_errors_name_the_file(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as raised:
        read_dataset(path)
    assert str(raised.value).startswith(f"{path}: {message}")
    assert "\n" not in str(raised.value)


def test_a_folder_without_tables_is_an_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "out" / "metrics.json", '{"auc": 0.9}')
    with pytest.raises(InputError) as raised:
        read_dataset(tmp_path / "out")
    assert str(raised.value).startswith(f"{tmp_path / 'out'}: holds no table files; allowed: .csv")


def test_read_head_gives_the_first_rows_read_dataset_gives(tmp_path: Path) -> None:
    import gzip
    import json

    import pyarrow.parquet as pq

    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "p1.csv").write_text(
        "id,v\n" + "".join(f"{i},{i / 3}\n" for i in range(7))
    )
    (tmp_path / "parts" / "p2.csv").write_text(
        "id,v\n" + "".join(f"{i},{i / 3}\n" for i in range(7, 30))
    )
    with gzip.open(tmp_path / "g.tsv.gz", "wt") as file:
        file.write('x\ty\n1\t"q\nr"\n2\tb\n')
    table = pa.table({"k": list(range(100)), "s": [str(i) for i in range(100)]})
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=10)
    lines = (json.dumps({"a": i, "b": None if i % 2 else "x"}) + "\n" for i in range(50))
    (tmp_path / "j.jsonl").write_text("".join(lines))
    (tmp_path / "arr.json").write_text(json.dumps([{"a": i} for i in range(12)]))
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "metrics.json").write_text('{"auc": 1}')
    (tmp_path / "mixed" / "rows.csv").write_text("z\n1\n2\n")
    for name in ("parts", "g.tsv.gz", "p.parquet", "j.jsonl", "arr.json", "mixed"):
        for rows in (1, 5, 20, 1000):
            full = read_dataset(tmp_path / name).slice(0, rows)
            head = read_head(tmp_path / name, rows)
            assert head.to_pylist() == full.to_pylist(), (name, rows)
            assert head.schema.names == full.schema.names
    with pytest.raises(InputError, match="no such file or folder"):
        read_head(tmp_path / "missing.csv", 5)
    with pytest.raises(InputError, match="holds no table files"):
        read_head(_empty(tmp_path), 5)


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("no table")
    return folder
