"""Synthetic data: values within the schema, deterministic files, and ``cit generate-data``."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.data.capture import capture_output
from orchestrator.data.compatibility import check_output
from orchestrator.data.contracts import ScriptContract, load_contract
from orchestrator.data.schemas import DataSchema, load_schema, schema_from_data
from orchestrator.data.synthetic import (
    MARKER,
    check_spec,
    data_format,
    generate_dataset,
    generate_table,
    schema_for_input,
    write_table,
)
from orchestrator.errors import CitError, InputError
from orchestrator.issues import Severity
from orchestrator.scripttest.cases import InputSource
from orchestrator.scripttest.runner import generate_synthetic

from .conftest import write

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"
runner = CliRunner()


WIDEST = (-1.7976931348623157e308, 1.7976931348623157e308)


def schema(columns: dict[str, Any], **fields: Any) -> DataSchema:
    return schema_from_data({"columns": columns, **fields})


def values(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


def present(table: pa.Table, name: str) -> list[Any]:
    return [v for v in values(table, name) if v is not None]


def errors_of(folder: Path, expected: DataSchema) -> list[str]:
    found = check_output(capture_output("x", folder), expected)
    return [i.description for i in found if i.severity is Severity.ERROR]


# Values per type family --------------------------------------------------------------------


def test_columns_come_in_the_schema_order_with_the_requested_rows() -> None:
    table = generate_table(schema({"b": "string", "a": "integer", "c": "float"}), 37, seed=1)
    assert table.column_names == ["b", "a", "c"] and table.num_rows == 37


@pytest.mark.parametrize(
    ("spec", "arrow_type", "low", "high"),
    [
        ({"type": "integer", "min": -5, "max": 7}, "int64", -5, 7),
        ({"type": "int8", "min": -1000, "max": 1000}, "int8", -128, 127),
        ({"type": "integer", "min": 2.5, "max": 4.5}, "int64", 3, 4),
        ({"type": "float", "min": 0.25, "max": 0.5}, "double", 0.25, 0.5),
        ({"type": "float32", "min": 0, "max": 0.1}, "float", 0, 0.1),
        ({"type": "number", "min": 10}, "double", 10, 110),
        ({"type": "number", "max": -3}, "double", -103, -3),
        ({"type": "integer"}, "int64", 0, 100),
        ({"type": "any", "min": 1, "max": 2}, "double", 1, 2),
    ],
)
def test_numbers_lie_within_min_and_max(
    spec: dict[str, Any], arrow_type: str, low: float, high: float
) -> None:
    table = generate_table(schema({"x": spec}), 2000, seed=3)
    got = present(table, "x")
    assert str(table.schema.field("x").type) == arrow_type
    assert len(got) == 2000 and low <= min(got) and max(got) <= high
    assert max(got) - min(got) > (high - low) * 0.8  # spread over the range, not one value


def test_floats_have_four_decimals() -> None:
    got = present(generate_table(schema({"x": {"type": "float", "max": 1}}), 200, seed=0), "x")
    assert all(round(v, 4) == v for v in got) and len(set(got)) > 150


@pytest.mark.parametrize(("low", "high"), [(0.2999, 0.3), (0.1, 0.1001)])
def test_float32_never_rounds_past_its_bounds(low: float, high: float) -> None:
    spec = {"type": "float32", "min": low, "max": high}
    got = present(generate_table(schema({"x": spec}), 400, seed=0), "x")
    assert all(low <= v <= high for v in got) and len(set(got)) > 1


def test_float32_bounds_without_a_float32_between_them_are_an_error() -> None:
    with pytest.raises(InputError, match=r"columns\.x: no float32 value lies between"):
        generate_table(schema({"x": {"type": "float32", "min": 0.1, "max": 0.1}}), 5, seed=0)


def test_strings_are_short_lower_case_tokens() -> None:
    got = present(generate_table(schema({"s": "string", "t": "any"}), 300, seed=0), "s")
    assert all(len(v) == 6 and v.isalpha() and v.islower() for v in got)
    assert len(set(got)) > 290


def test_booleans_are_balanced() -> None:
    got = present(generate_table(schema({"b": "boolean"}), 101, seed=5), "b")
    assert sorted(set(got)) == [False, True] and got.count(True) in (50, 51)


def test_dates_and_timestamps_fall_within_2020_to_2024() -> None:
    table = generate_table(schema({"d": "date", "t": "timestamp"}), 500, seed=2)
    dates, stamps = present(table, "d"), present(table, "t")
    assert all(date(2020, 1, 1) <= d <= date(2024, 12, 31) for d in dates)
    assert all(datetime(2020, 1, 1) <= t < datetime(2025, 1, 1) for t in stamps)
    assert len(set(dates)) > 300 and str(table.schema.field("t").type) == "timestamp[s]"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "integer", "allowed": [3, 5, 8]}, {3, 5, 8}),
        ({"type": "string", "allowed": ["a", "b"]}, {"a", "b"}),
        ({"type": "string", "allowed": [1, 2]}, {"1", "2"}),
        ({"type": "boolean", "allowed": [True]}, {True}),
        ({"type": "any", "allowed": ["x", 1]}, {"x", "1"}),
        ({"type": "date", "allowed": ["2024-02-29"]}, {date(2024, 2, 29)}),
        ({"type": "integer", "nullable": False, "allowed": [None, 4]}, {4}),
    ],
)
def test_allowed_values_are_the_only_values(spec: dict[str, Any], expected: set[Any]) -> None:
    got = values(generate_table(schema({"x": spec}), 90, seed=0), "x")
    assert set(got) == expected


def test_allowed_values_that_do_not_fit_the_type_are_an_error_naming_the_column() -> None:
    with pytest.raises(InputError, match=r"columns\.x: allowed values 0\.5, 1 are not all int"):
        generate_table(schema({"x": {"type": "integer", "allowed": [0.5, 1]}}), 5, seed=0)


def test_min_above_max_is_an_error_naming_the_column() -> None:
    with pytest.raises(InputError, match=r"columns\.x: min 5 is above max 1"):
        generate_table(schema({"x": {"type": "float", "min": 5, "max": 1}}), 5, seed=0)
    with pytest.raises(InputError, match=r"columns\.y: no integer value lies between"):
        generate_table(schema({"y": {"type": "integer", "min": 1.2, "max": 1.8}}), 5, seed=0)


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [
        ({"type": "float", "min": -1e308, "max": 1e308}, -1e308, 1e308),
        ({"type": "any", "min": -1e308, "max": 1e308}, -1e308, 1e308),
        ({"type": "float", "min": -1.7976931348623157e308, "max": 1.7976931348623157e308}, *WIDEST),
    ],
)
def test_huge_finite_float_bounds_are_drawn_from_without_overflow(
    spec: dict[str, Any], low: float, high: float
) -> None:
    got = present(generate_table(schema({"x": spec}), 1000, seed=3), "x")
    assert all(math.isfinite(v) and low <= v <= high for v in got)
    assert len(set(got)) > 990 and min(got) < low / 2 < high / 2 < max(got)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "float", "min": -1.7976931348623157e308}, WIDEST[0]),
        ({"type": "number", "max": 1.7976931348623157e308}, WIDEST[1]),
        ({"type": "float", "min": 1e308, "max": 1e308}, 1e308),
    ],
)
def test_a_bound_at_the_float_extremes_with_no_room_gives_that_bound(
    spec: dict[str, Any], expected: float
) -> None:
    assert set(present(generate_table(schema({"x": spec}), 50, seed=3), "x")) == {expected}


def test_float32_with_huge_bounds_keeps_to_the_float32_range() -> None:
    table = generate_table(schema({"x": {"type": "float32", "min": -1e308, "max": 1e308}}), 500, 0)
    got = present(table, "x")
    assert str(table.schema.field("x").type) == "float"
    assert all(math.isfinite(v) and abs(v) <= 3.4028234663852886e38 for v in got)
    assert len(set(got)) > 490
    with pytest.raises(InputError, match=r"columns\.x: no float32 value lies between"):
        generate_table(schema({"x": {"type": "float32", "min": 1e39}}), 5, seed=0)


def test_uint64_bounds_near_the_top_are_exact() -> None:
    top = 2**64 - 1
    table = generate_table(schema({"x": {"type": "uint64", "min": 18446744073709551000}}), 3000, 0)
    got = present(table, "x")
    assert str(table.schema.field("x").type) == "uint64"
    assert all(18446744073709551000 <= v <= 18446744073709551100 for v in got)
    assert len(set(got)) == 101  # min and the DEFAULT_SPAN above it
    exact = schema({"x": {"type": "uint64", "min": top - 2, "max": top}})
    assert set(present(generate_table(exact, 90, 0), "x")) == {top - 2, top - 1, top}
    with pytest.raises(InputError, match=r"columns\.x: no uint8 value lies between"):
        generate_table(schema({"x": {"type": "uint8", "min": 256}}), 5, seed=0)


def test_integer_bounds_beyond_float_precision_stay_exact() -> None:
    low = 2**60 + 1
    declared = schema({"x": {"type": "int64", "min": low, "max": low + 2}})
    got = present(generate_table(declared, 60, seed=0), "x")
    assert set(got) == {low, low + 1, low + 2}


@pytest.mark.parametrize(
    ("columns", "field"),
    [
        ({"a": {"type": "float", "min": float("nan")}}, "columns.a.min"),
        ({"a": {"type": "float", "max": float("inf")}}, "columns.a.max"),
    ],
)
def test_non_finite_bounds_are_refused_before_generation(
    columns: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field}: must be a finite number$"):
        schema(columns)


def test_a_case_s_synthetic_input_with_a_non_finite_bound_is_one_line(tmp_path: Path) -> None:
    bad = write(tmp_path, "s.yaml", "columns: {a: {type: float, min: .nan}}\n")
    source = InputSource.model_validate({"synthetic": {"schema": str(bad), "rows": 5}})
    with pytest.raises(InputError) as info:
        generate_synthetic(source, tmp_path / "out")
    assert str(info.value) == f"{bad}: columns.a.min: must be a finite number"


def test_allowed_values_outside_min_and_max_never_reach_generation() -> None:
    with pytest.raises(ValueError, match=r"columns\.x\.allowed: allowed value 1 is below min 5"):
        schema({"x": {"type": "integer", "allowed": [1, 2], "min": 5}})


def test_a_schema_without_columns_cannot_be_generated() -> None:
    with pytest.raises(InputError, match="lists no columns"):
        generate_table(DataSchema(), 5, seed=0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_data_for_extreme_bounds_passes_its_schema(tmp_path: Path, fmt: str) -> None:
    columns: dict[str, Any] = {
        "wide": {"type": "float", "min": -1e308, "max": 1e308, "nullable": False},
        "label": {"type": "integer", "allowed": [5, 6], "min": 5, "max": 6},
    }
    if fmt == "parquet":  # a CSV reader takes integers above the int64 range for doubles
        columns["top"] = {"type": "uint64", "min": 18446744073709551000, "nullable": False}
    declared = schema(columns)
    generate_dataset(declared, 200, 2, fmt, tmp_path)
    assert errors_of(tmp_path, declared) == []


# check_spec: whether data can be generated, before anything runs ------------------------


def test_check_spec_accepts_what_can_be_generated() -> None:
    check_spec(schema(MIXED), 10, "csv")
    check_spec(schema({"x": "float"}, layout=["train", "val"]), 0, "parquet")


@pytest.mark.parametrize(
    ("columns", "rows", "fmt", "reason"),
    [
        ({"x": {"type": "float", "min": 5, "max": 1}}, 5, "csv", "columns.x: min 5 is above max 1"),
        (
            {"y": {"type": "integer", "min": 1.2, "max": 1.8}},
            5,
            "csv",
            "columns.y: no integer value lies between min and max",
        ),
        (
            {"z": {"type": "float32", "min": 0.1, "max": 0.1}},
            5,
            "parquet",
            "columns.z: no float32 value lies between min and max",
        ),
        (
            {"w": {"type": "integer", "allowed": [0.5, 1]}},
            5,
            "csv",
            "columns.w: allowed values 0.5, 1 are not all integer",
        ),
        (
            {"v": {"type": "integer", "nullable": False, "allowed": [None]}},
            5,
            "csv",
            "columns.v: 'allowed' lists no value a non-nullable column can hold",
        ),
        ({}, 5, "csv", "the schema lists no columns to generate"),
        ({"x": "integer"}, 5, "tsv", "format tsv: data can be generated as csv or parquet"),
        ({"x": "integer"}, -1, "csv", "rows (-1) must be 0 or more"),
    ],
)
def test_check_spec_gives_the_one_line_reason_data_cannot_be_generated(
    columns: dict[str, Any], rows: int, fmt: str, reason: str
) -> None:
    declared = schema(columns).model_copy(update={"source": "s.yaml"})
    with pytest.raises(ValueError) as info:
        check_spec(declared, rows, fmt)
    where = "s.yaml: " if fmt in ("csv", "parquet") and rows >= 0 else ""
    assert str(info.value) == where + reason


def test_check_spec_names_no_file_for_a_schema_without_a_source() -> None:
    with pytest.raises(ValueError, match=r"^columns\.x: min 5 is above max 1$"):
        check_spec(schema({"x": {"type": "float", "min": 5, "max": 1}}), 5, "csv")


def test_check_spec_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    check_spec(schema(MIXED), 1000, "parquet")
    assert list(tmp_path.iterdir()) == []


# Nulls and label balance -------------------------------------------------------------------


@pytest.mark.parametrize(
    "family", ["integer", "float", "number", "string", "boolean", "date", "timestamp", "any"]
)
def test_non_nullable_columns_hold_no_nulls_and_nullable_ones_none_by_default(
    family: str,
) -> None:
    columns = {"strict": {"type": family, "nullable": False}, "loose": {"type": family}}
    table = generate_table(schema(columns), 500, seed=9)
    assert table.column("strict").null_count == 0 and table.column("loose").null_count == 0
    assert not table.schema.field("strict").nullable and table.schema.field("loose").nullable


@pytest.mark.parametrize(("ratio", "rows"), [(0.1, 1000), (0.03, 400), (0.5, 7), (1.0, 20)])
def test_null_ratio_is_honoured(ratio: float, rows: int) -> None:
    spec = {"type": "integer", "null_ratio": ratio}
    nulls = generate_table(schema({"x": spec}), rows, seed=4).column("x").null_count
    assert nulls == math.floor(ratio * rows + 0.5)  # exact: the count is not left to chance
    assert abs(nulls / rows - ratio) <= 0.5 / rows + 1e-9


def test_nulls_land_on_different_rows_for_different_seeds() -> None:
    def null_rows(seed: int) -> list[int]:
        got = values(
            generate_table(schema({"x": {"type": "float", "null_ratio": 0.2}}), 50, seed), "x"
        )
        return [i for i, v in enumerate(got) if v is None]

    assert null_rows(1) != null_rows(2) and len(null_rows(1)) == 10


def test_weights_set_the_share_of_each_allowed_value() -> None:
    spec = {"type": "integer", "allowed": [0, 1, 2], "weights": [0.7, 0.2, 0.1]}
    got = values(generate_table(schema({"label": spec}), 1000, seed=0), "label")
    assert [got.count(v) for v in (0, 1, 2)] == [700, 200, 100]


def test_weights_round_to_the_row_count_and_apply_to_non_null_rows() -> None:
    spec = {"type": "integer", "allowed": [0, 1], "weights": [3, 1], "null_ratio": 0.1}
    got = values(generate_table(schema({"label": spec}), 50, seed=0), "label")
    assert got.count(None) == 5 and (got.count(0), got.count(1)) == (34, 11)


def test_allowed_values_without_weights_are_uniform() -> None:
    got = values(generate_table(schema({"c": {"allowed": ["a", "b", "c"]}}), 300, seed=0), "c")
    assert [got.count(v) for v in "abc"] == [100, 100, 100]


@pytest.mark.parametrize(
    ("spec", "field", "fragment"),
    [
        ({"nullable": False, "null_ratio": 0.1}, "columns.x.null_ratio", "nullable: false"),
        ({"null_ratio": 1.5}, "columns.x.null_ratio", "less than or equal to 1"),
        ({"allowed": [0, 1], "weights": [1]}, "columns.x.weights", "1 entries for 2 allowed"),
        ({"weights": [1]}, "columns.x.weights", "needs 'allowed'"),
        ({"allowed": [0, 1], "weights": [0, 0]}, "columns.x.weights", "not all 0"),
        ({"allowed": [0, 1], "weights": [-1, 2]}, "columns.x.weights", "0 or more"),
    ],
)
def test_bad_generation_hints_are_one_line_errors_naming_the_column(
    tmp_path: Path, spec: dict[str, Any], field: str, fragment: str
) -> None:
    path = write(tmp_path, "s.yaml", json.dumps({"columns": {"x": spec}}))
    with pytest.raises(InputError) as info:
        load_schema(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}: ") and fragment in message
    assert "\n" not in message


# Determinism -------------------------------------------------------------------------------

MIXED = {
    "id": {"type": "integer", "nullable": False, "min": 1, "max": 10**9},
    "score": {"type": "float", "min": 0, "max": 1, "null_ratio": 0.05},
    "name": {"type": "string", "null_ratio": 0.1},
    "flag": "boolean",
    "day": {"type": "date", "null_ratio": 0.2},
    "at": "timestamp",
    "label": {"type": "integer", "allowed": [0, 1], "weights": [0.8, 0.2]},
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_same_seed_writes_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    first = generate_dataset(schema(MIXED), 300, 11, fmt, tmp_path / "a")
    second = generate_dataset(schema(MIXED), 300, 11, fmt, tmp_path / "b")
    again = generate_dataset(schema(MIXED), 300, 11, fmt, tmp_path / "a")
    assert first.name == f"data.{fmt}" and first.stat().st_size > 1000
    assert first.read_bytes() == second.read_bytes() == again.read_bytes()
    other = generate_dataset(schema(MIXED), 300, 12, fmt, tmp_path / "c")
    assert other.read_bytes() != first.read_bytes()


def test_another_seed_changes_every_random_column() -> None:
    one, two = (generate_table(schema(MIXED), 100, seed) for seed in (0, 1))
    assert all(values(one, c) != values(two, c) for c in MIXED)


def test_a_column_keeps_its_values_when_others_are_added() -> None:
    alone = generate_table(schema({"score": MIXED["score"]}), 100, seed=3)
    among = generate_table(schema(MIXED), 100, seed=3)
    assert values(alone, "score") == values(among, "score")


def test_parquet_keeps_the_schema_types_and_nullability(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = generate_dataset(schema(MIXED), 50, 0, "parquet", tmp_path)
    written = pq.read_table(path).schema
    made = generate_table(schema(MIXED), 50, 0).schema
    assert written.names == made.names
    for name in made.names:  # Parquet keeps seconds as milliseconds
        want = "timestamp[ms]" if name == "at" else str(made.field(name).type)
        assert str(written.field(name).type) == want
        assert written.field(name).nullable == made.field(name).nullable == (name != "id")


def test_write_table_names_the_file_and_leaves_no_partial_file(tmp_path: Path) -> None:
    table = generate_table(schema({"x": "integer"}), 3, seed=0)
    path = write_table(table, tmp_path / "new" / "folder", "csv", name="shard")
    assert path == tmp_path / "new" / "folder" / "shard.csv"
    assert [p.name for p in path.parent.iterdir()] == ["shard.csv"]
    assert path.read_text().splitlines()[0] == '"x"' and len(path.read_text().splitlines()) == 4
    with pytest.raises(CitError, match="csv or parquet"):
        write_table(table, tmp_path, "tsv")


def test_zero_rows_write_a_header_only(tmp_path: Path) -> None:
    path = generate_dataset(schema({"a": "integer", "b": "string"}), 0, 0, "csv", tmp_path)
    assert path.read_text() == '"a","b"\n'


def test_a_layout_gets_one_file_per_subfolder(tmp_path: Path) -> None:
    declared = schema({"x": "float"}, layout=["train", "val"])
    folder = generate_dataset(declared, 20, 0, "csv", tmp_path / "out")
    assert folder == tmp_path / "out"
    train, val = (folder / sub / "data.csv" for sub in ("train", "val"))
    assert train.is_file() and val.is_file() and train.read_bytes() != val.read_bytes()
    assert errors_of(folder, declared) == []


# Generated data passes its schema's validation -------------------------------------------


@pytest.mark.parametrize("schema_file", ["features.yaml", "raw.yaml", "predictions.yaml"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_data_passes_the_example_schemas(
    tmp_path: Path, schema_file: str, fmt: str
) -> None:
    declared = load_schema(EXAMPLE / "schemas" / schema_file)
    generate_dataset(declared, 250, 7, fmt, tmp_path)
    expected = declared.model_copy(update={"format": fmt})
    assert errors_of(tmp_path, expected) == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_data_passes_a_schema_with_every_family(tmp_path: Path, fmt: str) -> None:
    declared = schema(
        {
            **MIXED,
            "small": {"type": "int16", "min": -20, "max": 20, "nullable": False},
            "ratio": {"type": "float32", "min": 0, "max": 1},
            "amount": {"type": "number", "min": 5},
            "kind": {"type": "string", "allowed": ["a", "b", "c"], "nullable": False},
            "anything": "any",
        },
        extra_columns="error",
        min_rows=100,
    )
    generate_dataset(declared, 120, 1, fmt, tmp_path)
    assert errors_of(tmp_path, declared) == []


def test_validation_would_catch_data_outside_the_schema(tmp_path: Path) -> None:
    """The check above can fail: data made for a wider schema breaks a narrower one."""
    generate_dataset(
        schema({"x": {"type": "integer", "min": 0, "max": 10}}), 50, 0, "csv", tmp_path
    )
    narrower = schema({"x": {"type": "integer", "min": 0, "max": 5, "nullable": False}})
    assert any("out of its declared range" in e for e in errors_of(tmp_path, narrower))


def test_the_committed_raw_shards_still_fit_the_raw_schema() -> None:
    """raw.yaml is typed for generation, but still describes the dirty data that ships."""
    raw = load_schema(EXAMPLE / "schemas" / "raw.yaml")
    assert errors_of(EXAMPLE / "data" / "raw", raw) == []


# Formats and contracts ---------------------------------------------------------------------


def test_the_format_is_the_option_else_the_schema_s_else_csv() -> None:
    assert data_format(schema({"x": "integer"}), None) == "csv"
    assert data_format(schema({"x": "integer"}, format="parquet"), None) == "parquet"
    assert data_format(schema({"x": "integer"}, format="parquet"), "csv") == "csv"
    with pytest.raises(CitError, match="format tsv: data can be generated as csv or parquet"):
        data_format(schema({"x": "integer"}, format="tsv"), None)


def test_a_contract_input_schema_is_picked_by_name() -> None:
    contract = load_contract(EXAMPLE / "contracts" / "preprocess.yaml")
    raw = schema_for_input(contract, "raw")
    assert raw.source is not None and raw.source.endswith("raw.yaml")
    with pytest.raises(InputError) as info:
        schema_for_input(contract, "train")
    assert str(info.value).endswith(
        "input_schemas: input 'train' has no schema; inputs with a schema: raw"
    )


def test_an_inline_contract_schema_is_named_after_the_contract() -> None:
    contract = ScriptContract(
        entry_point="a.py",
        expected_input_paths={"data": "/opt/ml/processing/input/data"},
        input_schemas={"data": {"columns": {"x": "integer"}}},
    )
    assert schema_for_input(contract, "data").source == "contract of a.py"
    with pytest.raises(InputError, match="inputs with a schema: data"):
        schema_for_input(contract, "other")


# The command line --------------------------------------------------------------------------


def generate(*args: str) -> Any:
    return runner.invoke(app, ["generate-data", *args])


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def test_cli_writes_data_from_a_schema(tmp_path: Path) -> None:
    out = tmp_path / "out"
    features = str(EXAMPLE / "schemas" / "features.yaml")
    result = generate("--schema", features, "--rows", "40", "--seed", "3", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert one_line(result.output) == f"wrote 40 rows to {out / 'data.csv'}"
    assert len((out / "data.csv").read_text().splitlines()) == 41
    assert errors_of(out, load_schema(Path(features))) == []
    same = generate_table(load_schema(Path(features)), 40, 3)
    assert values(same, "age") == [float(v) for v in _csv_column(out / "data.csv", "age")]


def _csv_column(path: Path, name: str) -> list[str]:
    import pyarrow.csv as pcsv

    return [str(v) for v in pcsv.read_csv(path).column(name).to_pylist()]


def test_cli_writes_parquet_from_a_contract_input(tmp_path: Path) -> None:
    out = tmp_path / "out"
    contract = str(EXAMPLE / "contracts" / "preprocess.yaml")
    args = ["--contract", contract, "--input", "raw", "--rows", "25", "--output", str(out)]
    result = generate(*args, "--format", "parquet")
    assert result.exit_code == 0, result.output
    assert one_line(result.output) == f"wrote 25 rows to {out / 'data.parquet'}"
    marker = json.loads((out / MARKER).read_text())
    assert marker["rows"] == 25 and marker["format"] == "parquet"
    assert list(marker["files"]) == ["data.parquet"]


def test_cli_same_seed_same_bytes_and_a_rerun_replaces_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = ["--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--output", str(out)]
    assert generate(*base, "--rows", "30", "--format", "parquet").exit_code == 0
    first = (out / "data.parquet").read_bytes()
    assert generate(*base, "--rows", "30", "--format", "parquet").exit_code == 0
    assert (out / "data.parquet").read_bytes() == first
    result = generate(*base, "--rows", "10")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "data.csv"]


def test_cli_notes_fewer_rows_than_the_schema_asks_for(tmp_path: Path) -> None:
    features = str(EXAMPLE / "schemas" / "features.yaml")
    result = generate("--schema", features, "--rows", "0", "--output", str(tmp_path / "o"))
    assert result.exit_code == 0
    assert one_line(result.output).endswith("; the schema asks for at least 1")


def test_cli_never_overwrites_a_user_s_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "data.csv").write_text("precious\n")
    result = generate(
        "--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--rows", "5", "--output", str(out)
    )
    assert result.exit_code == 2
    assert "holds files cit did not generate (data.csv)" in one_line(result.output)
    assert (out / "data.csv").read_text() == "precious\n"


def test_cli_refuses_a_generated_file_that_was_changed_since(tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = ["--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--rows", "5", "--output", str(out)]
    assert generate(*base).exit_code == 0
    (out / "data.csv").write_text("edited by hand\n")
    (out / "notes.txt").write_text("mine\n")
    result = generate(*base)
    assert result.exit_code == 2
    assert "(data.csv, notes.txt)" in one_line(result.output)
    assert (out / "data.csv").read_text() == "edited by hand\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rows", "5"], "give --schema FILE, or --contract FILE with --input NAME"),
        (["--rows", "5", "--input", "raw"], "give --schema FILE"),
        (["--rows", "5", "--contract", "{preprocess}"], "with --input NAME"),
        (
            ["--rows", "5", "--schema", "{raw}", "--contract", "{preprocess}", "--input", "raw"],
            "give --schema FILE",
        ),
        (
            ["--rows", "5", "--contract", "{preprocess}", "--input", "nope"],
            "input 'nope' has no schema; inputs with a schema: raw",
        ),
        (["--rows", "5", "--schema", "{missing}"], "no such schema file"),
        (["--rows", "5", "--schema", "{bad}"], "columns.x.null_ratio: the column is nullable"),
        (["--rows", "5", "--schema", "{tsv}"], "format tsv: data can be generated as csv or"),
        (["--rows", "5", "--schema", "{minmax}"], "minmax.yaml: columns.x: min 5 is above max 1"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    files = {
        "preprocess": str(EXAMPLE / "contracts" / "preprocess.yaml"),
        "raw": str(EXAMPLE / "schemas" / "raw.yaml"),
        "missing": str(tmp_path / "absent.yaml"),
        "bad": str(write(tmp_path, "bad.yaml", "columns: {x: {nullable: false, null_ratio: 0.5}}")),
        "tsv": str(write(tmp_path, "tsv.yaml", "format: tsv\ncolumns: {x: integer}\n")),
        "minmax": str(write(tmp_path, "minmax.yaml", "columns: {x: {min: 5, max: 1}}\n")),
    }
    out = tmp_path / "out"
    result = generate(*[a.format(**files) for a in args], "--output", str(out))
    assert result.exit_code == 2
    assert fragment in one_line(result.output) and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    "args", [["--rows", "-1"], ["--rows", "5", "--seed", "-2"], ["--rows", "5", "--format", "tsv"]]
)
def test_cli_out_of_range_options_exit_2(tmp_path: Path, args: list[str]) -> None:
    raw = str(EXAMPLE / "schemas" / "raw.yaml")
    result = generate("--schema", raw, *args, "--output", str(tmp_path / "out"))
    assert result.exit_code == 2 and not (tmp_path / "out").exists()


def test_cli_refuses_an_output_that_is_a_file(tmp_path: Path) -> None:
    target = write(tmp_path, "out", "x\n")
    result = generate(
        "--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--rows", "1", "--output", str(target)
    )
    assert result.exit_code == 2 and "is a file" in one_line(result.output)


def test_cli_writes_each_layout_folder_and_replaces_them_on_a_rerun(tmp_path: Path) -> None:
    layout = write(tmp_path, "split.yaml", "layout: [train, val]\ncolumns: {x: float}\n")
    out = tmp_path / "out"
    args = ["--schema", str(layout), "--rows", "4", "--output", str(out)]
    result = generate(*args)
    assert result.exit_code == 0, result.output
    files = [out / "train" / "data.csv", out / "val" / "data.csv"]
    assert one_line(result.output) == f"wrote 4 rows to each of {files[0]}, {files[1]}"
    assert generate(*args, "--format", "parquet").exit_code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == [
        MARKER,
        "train/data.parquet",
        "val/data.parquet",
    ]


def test_cli_names_a_few_foreign_files_and_never_deletes_outside_its_folder(
    tmp_path: Path,
) -> None:
    outside = write(tmp_path, "keep.csv", "a\n1\n")
    out = tmp_path / "out"
    out.mkdir()
    for i in range(6):
        (out / f"user-{i}.csv").write_text("a\n")
    marker = {"files": {"../keep.csv": "x", str(outside): "y"}}
    (out / MARKER).write_text(json.dumps(marker))
    result = generate(
        "--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--rows", "1", "--output", str(out)
    )
    assert result.exit_code == 2 and "user-" in result.output and ", ...)" in result.output
    for user_file in [p for p in out.iterdir() if p.name != MARKER]:
        user_file.unlink()
    assert (
        generate(
            "--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--rows", "1", "--output", str(out)
        ).exit_code
        == 0
    )
    assert outside.read_text() == "a\n1\n"


def test_cli_a_failed_run_keeps_the_earlier_data_and_its_marker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    raw = ["--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--rows", "5", "--output", str(out)]
    assert generate(*raw).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    minmax = write(tmp_path, "minmax.yaml", "columns: {x: {type: float, min: 5, max: 1}}\n")
    result = generate("--schema", str(minmax), "--rows", "5", "--output", str(out))
    assert result.exit_code == 2 and "columns.x: min 5 is above max 1" in one_line(result.output)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minmax.yaml", "out"]
    assert generate(*raw, "--format", "parquet").exit_code == 0  # still replaceable


def test_cli_a_write_that_fails_midway_leaves_the_earlier_files_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orchestrator.data.synthetic as synthetic

    layout = write(tmp_path, "split.yaml", "layout: [train, val]\ncolumns: {x: float}\n")
    out = tmp_path / "out"
    args = ["--schema", str(layout), "--rows", "4", "--output", str(out)]
    assert generate(*args).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_write = synthetic._write
    calls: list[Path] = []

    def fail_second(table: Any, path: Path, fmt: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write(table, path, fmt)

    monkeypatch.setattr(synthetic, "_write", fail_second)
    result = generate(*args, "--format", "parquet")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "No space left on device" in one_line(result.output)
    assert len(calls) == 2 and all(out not in p.parents for p in calls)  # made elsewhere first
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "split.yaml"]


def test_cli_a_rerun_removes_earlier_layout_folders_it_emptied(tmp_path: Path) -> None:
    out = tmp_path / "out"
    split = write(tmp_path, "split.yaml", "layout: [train, val]\ncolumns: {x: float}\n")
    flat = write(tmp_path, "flat.yaml", "columns: {x: float}\n")
    assert generate("--schema", str(split), "--rows", "3", "--output", str(out)).exit_code == 0
    (out / "val" / "keep").mkdir()
    result = generate("--schema", str(flat), "--rows", "3", "--output", str(out))
    assert result.exit_code == 0, result.output
    remaining = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert remaining == [MARKER, "data.csv", "val", "val/keep"]
    assert list(json.loads((out / MARKER).read_text())["files"]) == ["data.csv"]


def test_cli_writes_into_the_current_folder_from_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "here"
    out.mkdir()
    monkeypatch.chdir(out)
    raw = ["--schema", str(EXAMPLE / "schemas" / "raw.yaml"), "--rows", "3", "--output", "."]
    assert generate(*raw).exit_code == 0
    assert generate(*raw).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "data.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
