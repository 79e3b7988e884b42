"""Declared schemas: parsing, one clear error per mistake, and the type families of names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.data.schemas import (
    SCHEMA_TYPES,
    TYPE_NAMES,
    ColumnSpec,
    DataSchema,
    ExtraColumns,
    TypeFamily,
    arrow_bits,
    declared_bits,
    family_of,
    load_schema,
    schema_from_data,
)
from orchestrator.errors import CitError, InputError
from orchestrator.files import FieldError

from .conftest import write

FULL_YAML = """
format: csv
layout: [train, /val/, test]
extra_columns: error
min_rows: 5
columns:
  id: {type: integer, nullable: false}
  amount: {type: float, min: 0, max: 1000.5}
  label: {type: INT32, allowed: [0, 1]}
  note: {type: string, required: false}
  city: string
  anything:
"""


# --- schema_from_data ------------------------------------------------------------------------


def test_full_schema_in_mapping_form() -> None:
    import yaml

    schema = schema_from_data(yaml.safe_load(FULL_YAML), source="s.yaml")
    assert schema.format == "csv"
    assert schema.layout == ["train", "val", "test"]
    assert schema.extra_columns is ExtraColumns.ERROR
    assert schema.min_rows == 5
    assert schema.source == "s.yaml"
    assert [c.name for c in schema.columns] == ["id", "amount", "label", "note", "city", "anything"]
    assert schema.column("id") == ColumnSpec(name="id", type="integer", nullable=False)
    amount = schema.column("amount")
    assert amount is not None and (amount.min, amount.max) == (0, 1000.5)
    label = schema.column("label")
    assert label is not None and label.type == "int32" and label.allowed == [0, 1]
    note = schema.column("note")
    assert note is not None and note.required is False and note.nullable is True
    assert schema.column("city") == ColumnSpec(name="city", type="string")
    assert schema.column("anything") == ColumnSpec(name="anything", type="any")
    assert schema.column("absent") is None


def test_defaults_of_an_empty_schema() -> None:
    schema = schema_from_data({})
    assert schema == DataSchema()
    assert schema.format is None and schema.layout is None and schema.columns == []
    assert schema.extra_columns is ExtraColumns.WARN
    assert schema.min_rows == 1


def test_columns_as_a_list_of_mappings() -> None:
    schema = schema_from_data(
        {"columns": [{"name": "id", "type": "int64"}, {"name": "score", "nullable": False}]}
    )
    assert schema.columns == [
        ColumnSpec(name="id", type="int64"),
        ColumnSpec(name="score", type="any", nullable=False),
    ]


def test_a_schema_object_passes_through() -> None:
    schema = DataSchema(format="parquet")
    assert schema_from_data(schema) is schema


def test_schema_types_are_lowercased_and_stripped() -> None:
    assert schema_from_data({"columns": {"a": " Float64 "}}).columns[0].type == "float64"


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ([1, 2], ["a schema is a mapping with format, layout, columns"]),
        (None, ["a schema is a mapping"]),
        ({"colums": {}}, ["colums: unknown field", "did you mean 'columns'", "allowed: format"]),
        ({"source": "x"}, ["source: unknown field", "allowed: format, layout"]),
        (
            {"columns": {"id": {"type": "integer", "nulable": False}}},
            ["columns.id.nulable: unknown field", "did you mean 'nullable'", "allowed: type"],
        ),
        (
            {"columns": {"id": "integr"}},
            ["columns.id.type: unknown type 'integr'", "allowed: integer, int8"],
        ),
        (
            {"columns": [{"name": "a"}, {"name": "b", "type": "blob"}]},
            ["columns.b.type: unknown type 'blob'"],
        ),
        ({"columns": {"id": {"nullable": "maybe"}}}, ["columns.id.nullable:", "boolean"]),
        ({"columns": {"id": 5}}, ["columns.id: must be a type name or a mapping"]),
        ({"columns": [{"type": "integer"}]}, ["columns.0: must be a mapping with a 'name'"]),
        ({"columns": 5}, ["columns: must map column names to types"]),
        ({"columns": {"n": {"allowed": [[1]]}}}, ["columns.n.allowed.0"]),
        ({"extra_columns": "maybe"}, ["extra_columns:", "'allow', 'warn' or 'error'"]),
        ({"format": "xml"}, ["format:", "'csv'", "'parquet'"]),
        ({"min_rows": "many"}, ["min_rows:", "valid integer"]),
        ({"min_rows": -1}, ["min_rows:", "greater than or equal to 0"]),
        ({"layout": ["train", "../up"]}, ["layout:", "without '..'"]),
        ({"layout": ["/"]}, ["layout:", "subfolder names"]),
        ({"layout": "train"}, ["layout:", "valid list"]),
    ],
)
def test_mistakes_name_the_field_and_what_is_allowed(data: Any, fragments: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        schema_from_data(data)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message


def test_every_listed_schema_type_is_accepted_and_has_a_family() -> None:
    for name in SCHEMA_TYPES:
        spec = ColumnSpec(name="c", type=name)
        assert spec.family is family_of(name)
        assert spec.family is not TypeFamily.OTHER
    for name, family in TYPE_NAMES.items():
        assert family_of(name) is family


# --- load_schema -----------------------------------------------------------------------------


def test_load_yaml_and_json_give_the_same_schema(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(FULL_YAML)
    from_yaml = load_schema(write(tmp_path, "s.yaml", FULL_YAML))
    from_yml = load_schema(write(tmp_path, "s.yml", FULL_YAML))
    json_path = tmp_path / "s.json"
    json_path.write_text(json.dumps(data), encoding="utf-8")
    from_json = load_schema(json_path)
    assert from_yaml.source == str(tmp_path / "s.yaml")
    assert from_json.source == str(json_path)
    drop = {"source"}
    assert from_yaml.model_dump(exclude=drop) == from_json.model_dump(exclude=drop)
    assert from_yml.model_dump(exclude=drop) == from_yaml.model_dump(exclude=drop)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfformat: parquet\n")
    assert load_schema(path).format == "parquet"


def load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_schema(path)
    error = info.value
    assert isinstance(error, CitError) and error.exit_code == 2
    assert error.file == str(path)
    message = str(error)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return error


@pytest.mark.parametrize(
    ("name", "text", "field", "fragments"),
    [
        ("u.yaml", "format: csv\ncolumsn: {}\n", "columsn", ["did you mean 'columns'"]),
        ("t.json", '{"min_rows": "ten"}', "min_rows", ["valid integer"]),
        ("b.yaml", "columns:\n  id: {type: bigint}\n", "columns.id.type", ["allowed: integer"]),
        ("e.yaml", "extra_columns: sometimes\n", "extra_columns", ["'allow', 'warn' or 'error'"]),
        ("c.json", '{"columns": {"a": {"typ": "int"}}}', "columns.a.typ", ["unknown field"]),
        ("l.yaml", "- format: csv\n", None, ["a schema is a mapping"]),
        ("empty.yaml", "", None, ["a schema is a mapping"]),
    ],
)
def test_load_errors_name_file_and_field(
    tmp_path: Path, name: str, text: str, field: str | None, fragments: list[str]
) -> None:
    error = load_error(write(tmp_path, name, text))
    assert error.field == field
    if field:
        assert f"{name}: {field}: " in str(error)
    for fragment in fragments:
        assert fragment in str(error), str(error)


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "s.yaml", "format: csv\nmin_rows: 1\nlayout: a: b\n"))
    assert "YAML syntax error: mapping values are not allowed here" in str(error)
    assert error.line == 3


def test_json_syntax_error_has_its_line(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "s.json", '{\n  "format": "csv",\n}\n'))
    assert "JSON syntax error" in str(error)
    assert error.line == 3


@pytest.mark.parametrize(
    ("name", "text", "line", "fragment"),
    [
        ("d.yaml", "format: csv\nmin_rows: 1\nformat: parquet\n", 3, "'format' (first at line 1)"),
        ("c.yaml", "columns:\n  id: integer\n  id: string\n", 3, "'id' (first at line 2)"),
        ("d.json", '{"columns": {"id": "integer", "id": "string"}}', None, "'id'"),
    ],
)
def test_a_key_given_twice_is_an_error(
    tmp_path: Path, name: str, text: str, line: int | None, fragment: str
) -> None:
    error = load_error(write(tmp_path, name, text))
    assert f"duplicate key {fragment}" in str(error) and error.line == line


def test_tab_indented_json_and_non_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": "csv", "columns": {"id": "integer"}}, indent="\t"))
    assert load_schema(path).column("id") is not None
    binary = tmp_path / "bin.json"
    binary.write_bytes(b'{\n"format": "caf\xe9"}')
    error = load_error(binary)
    assert "is not valid UTF-8 text (byte 0xe9); save the JSON file as UTF-8" in str(error)
    assert error.line == 2


def test_mistakes_carry_their_field() -> None:
    with pytest.raises(FieldError) as info:
        schema_from_data({"columns": [{"name": "a"}, {"name": "b", "type": "blob"}]})
    assert info.value.field == "columns.b.type"
    assert info.value.message.startswith("unknown type 'blob'")
    with pytest.raises(FieldError) as info:
        schema_from_data({"colums": {}})
    assert info.value.field == "colums"
    assert info.value.message.startswith("unknown field 'colums' (did you mean 'columns'?)")


def test_missing_file_unknown_suffix_and_bad_encoding(tmp_path: Path) -> None:
    assert "no such schema file" in str(load_error(tmp_path / "absent.yaml"))
    assert "allowed: .yaml, .yml, .json" in str(load_error(write(tmp_path, "s.txt", "{}")))
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"format: \xff\xfe\n")
    assert "UTF-8" in str(load_error(binary))
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    assert "cannot be read" in str(load_error(folder))


# --- type families and widths ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("int64", TypeFamily.INTEGER),
        ("int8", TypeFamily.INTEGER),
        ("uint32", TypeFamily.INTEGER),
        ("Integer ", TypeFamily.INTEGER),
        ("long", TypeFamily.INTEGER),
        ("double", TypeFamily.FLOAT),
        ("float", TypeFamily.FLOAT),
        ("halffloat", TypeFamily.FLOAT),
        ("decimal128(10, 2)", TypeFamily.FLOAT),
        ("number", TypeFamily.NUMBER),
        ("string", TypeFamily.STRING),
        ("large_string", TypeFamily.STRING),
        ("utf8", TypeFamily.STRING),
        ("category", TypeFamily.STRING),
        ("dictionary<values=string, indices=int32, ordered=0>", TypeFamily.STRING),
        ("bool", TypeFamily.BOOLEAN),
        ("boolean", TypeFamily.BOOLEAN),
        ("date32[day]", TypeFamily.DATE),
        ("date", TypeFamily.DATE),
        ("timestamp[ns]", TypeFamily.TIMESTAMP),
        ("timestamp[us, tz=UTC]", TypeFamily.TIMESTAMP),
        ("datetime", TypeFamily.TIMESTAMP),
        ("null", TypeFamily.NULL),
        ("any", TypeFamily.ANY),
        ("binary", TypeFamily.OTHER),
        ("list<item: int64>", TypeFamily.OTHER),
        ("struct<a: int64>", TypeFamily.OTHER),
        ("time64[us]", TypeFamily.OTHER),
        ("month_day_nano_interval", TypeFamily.OTHER),
    ],
)
def test_family_of(name: str, family: TypeFamily) -> None:
    assert family_of(name) is family


@pytest.mark.parametrize(
    ("name", "bits"),
    [
        ("int32", 32),
        ("int8", 8),
        ("uint16", 16),
        ("float64", 64),
        ("float32", 32),
        ("integer", None),
        ("float", None),
        ("number", None),
        ("any", None),
    ],
)
def test_declared_bits(name: str, bits: int | None) -> None:
    assert declared_bits(name) == bits


@pytest.mark.parametrize(
    ("name", "bits"),
    [
        ("int8", 8),
        ("int64", 64),
        ("uint16", 16),
        ("halffloat", 16),
        ("float", 32),
        ("double", 64),
        (" Double ", 64),
        ("decimal128(10, 2)", 64),
    ],
)
def test_arrow_bits(name: str, bits: int) -> None:
    assert arrow_bits(name) == bits


def test_real_arrow_type_names_map_to_their_family() -> None:
    pa = pytest.importorskip("pyarrow")
    cases = {
        pa.int16(): TypeFamily.INTEGER,
        pa.uint64(): TypeFamily.INTEGER,
        pa.float16(): TypeFamily.FLOAT,
        pa.float32(): TypeFamily.FLOAT,
        pa.float64(): TypeFamily.FLOAT,
        pa.decimal128(12, 3): TypeFamily.FLOAT,
        pa.string(): TypeFamily.STRING,
        pa.large_string(): TypeFamily.STRING,
        pa.dictionary(pa.int32(), pa.string()): TypeFamily.STRING,
        pa.bool_(): TypeFamily.BOOLEAN,
        pa.date32(): TypeFamily.DATE,
        pa.date64(): TypeFamily.DATE,
        pa.timestamp("ms"): TypeFamily.TIMESTAMP,
        pa.null(): TypeFamily.NULL,
        pa.binary(): TypeFamily.OTHER,
        pa.list_(pa.int64()): TypeFamily.OTHER,
    }
    for arrow_type, family in cases.items():
        assert family_of(str(arrow_type)) is family, str(arrow_type)
    assert arrow_bits(str(pa.float32())) == 32
    assert arrow_bits(str(pa.float16())) == 16
    assert arrow_bits(str(pa.int16())) == 16


# --- min, max and allowed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("columns: {a: {type: float, min: .nan}}", "columns.a.min"),
        ("columns: {a: {type: float, max: .inf}}", "columns.a.max"),
        ("columns: {a: {type: number, min: -.inf, max: 1}}", "columns.a.min"),
        ("columns: {a: {type: integer, max: 1e400}}", "columns.a.max"),
        (f"columns: {{a: {{type: integer, min: {10**400}}}}}", "columns.a.min"),
        ("columns: {a: {min: true}}", "columns.a.min"),
        ("columns: {a: {max: lots}}", "columns.a.max"),
    ],
)
def test_min_and_max_must_be_finite_numbers(tmp_path: Path, text: str, field: str) -> None:
    error = load_error(write(tmp_path, "s.yaml", text + "\n"))
    assert error.field == field
    expected = "must be a number, not true" if "true" in text else "must be a finite number"
    assert str(error) == f"{tmp_path / 's.yaml'}: {field}: {expected}"


def test_min_and_max_keep_integers_exact_and_accept_the_float_extremes() -> None:
    big = 18446744073709551000
    spec = ColumnSpec(name="a", type="uint64", min=big, max="18446744073709551615")
    assert (spec.min, spec.max) == (big, 2**64 - 1) and isinstance(spec.min, int)
    wide = ColumnSpec(name="b", type="float", min=-1e308, max=1.7976931348623157e308)
    assert (wide.min, wide.max) == (-1e308, 1.7976931348623157e308)
    assert ColumnSpec(name="c", min="2.5").min == 2.5


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"type": "integer", "allowed": [1, 2], "min": 5}, "value 1 is below min 5"),
        ({"type": "integer", "allowed": [0, 7, 9], "max": 8}, "value 9 is above max 8"),
        ({"type": "float", "allowed": [0.5, 1.5], "min": 0, "max": 1}, "value 1.5 is above max 1"),
        ({"type": "integer", "allowed": ["3"], "min": 5}, "value 3 is below min 5"),
    ],
)
def test_allowed_values_must_lie_within_min_and_max(
    tmp_path: Path, spec: dict[str, Any], fragment: str
) -> None:
    error = load_error(write(tmp_path, "s.json", json.dumps({"columns": {"x": spec}})))
    assert error.field == "columns.x.allowed"
    assert str(error).startswith(f"{tmp_path / 's.json'}: columns.x.allowed: allowed ")
    assert fragment in str(error)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "integer", "allowed": [5, 6, None], "min": 5, "max": 6},
        {"type": "string", "allowed": ["a", "b"], "min": 5},
        {"type": "boolean", "allowed": [True, False], "min": 0, "max": 1},
        {"type": "float", "allowed": [0.0, 1.0], "min": 0, "max": 1},
        {"type": "integer", "allowed": [0, 1]},
    ],
)
def test_allowed_values_within_min_and_max_or_not_numbers_are_accepted(
    spec: dict[str, Any],
) -> None:
    column = schema_from_data({"columns": {"x": spec}}).column("x")
    assert column is not None and column.allowed == spec["allowed"]
