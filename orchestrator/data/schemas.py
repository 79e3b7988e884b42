"""Declared data schemas: what a script expects to read or promises to write.

A schema file (YAML or JSON) looks like::

    format: csv                  # csv, tsv, parquet, jsonl or json
    layout: [train, val, test]   # subfolders that must each hold a dataset (optional)
    extra_columns: warn          # allow, warn or error for columns not listed
    min_rows: 1
    columns:
      id: {type: integer, nullable: false}
      amount: {type: float, min: 0}
      label: {type: integer, allowed: [0, 1]}
      note: {type: string, required: false}

``min`` and ``max`` are finite numbers (integers kept exact), and every number in ``allowed``
lies between them. A column may also be given as just its type (``id: integer``), and
``columns`` as a list of mappings with a ``name``. Two fields only guide ``cit generate-data``:
``null_ratio`` (the share of nulls in a nullable column, 0 by default) and ``weights`` (one per
``allowed`` value, for label balance; uniform by default), e.g. ``label: {type: integer,
allowed: [0, 1], weights: [0.8, 0.2]}``.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import InputError
from ..files import (
    DATA_SUFFIXES,
    FieldError,
    InputRecord,
    describe_error,
    kind_of,
    quoted,
    read_data,
    reject_unknown,
)
from .profiles import Scalar


class TypeFamily(StrEnum):
    """Types a schema can name; each arrow type belongs to one."""

    INTEGER = "integer"
    FLOAT = "float"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    NULL = "null"
    ANY = "any"
    OTHER = "other"


_NAMES_BY_FAMILY = {
    TypeFamily.INTEGER: "int integer long int8 int16 int32 int64 uint8 uint16 uint32 uint64",
    TypeFamily.FLOAT: "float double float16 float32 float64 decimal",
    TypeFamily.NUMBER: "number",
    TypeFamily.STRING: "string str text category categorical",
    TypeFamily.BOOLEAN: "bool boolean",
    TypeFamily.DATE: "date",
    TypeFamily.TIMESTAMP: "timestamp datetime",
    TypeFamily.ANY: "any",
}
TYPE_NAMES = {name: fam for fam, names in _NAMES_BY_FAMILY.items() for name in names.split()}


def family_of(type_name: str) -> TypeFamily:
    """The family of a schema type name or of an arrow type as text (int64, large_string...)."""
    name = type_name.strip().lower()
    if name in TYPE_NAMES:
        return TYPE_NAMES[name]
    for prefix, family in _ARROW_PREFIXES:
        if name.startswith(prefix):
            return family
    return TypeFamily.OTHER


_ARROW_PREFIXES = (
    ("uint", TypeFamily.INTEGER),
    ("int", TypeFamily.INTEGER),
    ("halffloat", TypeFamily.FLOAT),
    ("float", TypeFamily.FLOAT),
    ("double", TypeFamily.FLOAT),
    ("decimal", TypeFamily.FLOAT),
    ("large_string", TypeFamily.STRING),
    ("string", TypeFamily.STRING),
    ("utf8", TypeFamily.STRING),
    ("large_utf8", TypeFamily.STRING),
    ("dictionary<values=string", TypeFamily.STRING),
    ("bool", TypeFamily.BOOLEAN),
    ("date", TypeFamily.DATE),
    ("timestamp", TypeFamily.TIMESTAMP),
    ("null", TypeFamily.NULL),
)


def declared_bits(type_name: str) -> int | None:
    """Bits a schema type asks for (int32 → 32); None when it names no width (integer, float)."""
    match = re.search(r"(\d+)$", type_name)
    return int(match.group(1)) if match else None


def arrow_bits(type_name: str) -> int:
    """Bits of an arrow integer or float type: int32 → 32, float → 32, double → 64."""
    name = type_name.strip().lower()
    if name in _ARROW_FLOAT_BITS:
        return _ARROW_FLOAT_BITS[name]
    match = re.search(r"(\d+)$", name)
    return int(match.group(1)) if match else 64


_ARROW_FLOAT_BITS = {"halffloat": 16, "float": 32, "double": 64}


class ExtraColumns(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    ERROR = "error"


class _Strict(InputRecord):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """What one column must hold."""

    name: str
    type: str = "any"
    nullable: bool = True
    required: bool = True
    min: int | float | None = None
    max: int | float | None = None
    """Bounds of the values; integers stay exact (a uint64 bound needs all its digits)."""
    allowed: list[Scalar] | None = None
    null_ratio: float = Field(default=0.0, ge=0, le=1)
    """Share of nulls in generated data (nullable columns only)."""
    weights: list[float] | None = None
    """Relative frequency of each ``allowed`` value in generated data."""

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value.strip().lower() not in TYPE_NAMES:
            raise ValueError(f"unknown type '{value}'; allowed: {', '.join(SCHEMA_TYPES)}")
        return value.strip().lower()

    @field_validator("min", "max", mode="before")
    @classmethod
    def _finite_number(cls, value: Any) -> int | float | None:
        return None if value is None else _within_64_bits(_as_finite_number(value))

    @field_validator("allowed")
    @classmethod
    def _integers_within_64_bits(cls, value: list[Scalar] | None) -> list[Scalar] | None:
        for index, item in enumerate(value or []):
            try:
                _within_64_bits(item)
            except ValueError as exc:
                raise FieldError(str(index), str(exc)) from None
        return value

    @model_validator(mode="after")
    def _allowed_within_bounds(self) -> ColumnSpec:
        for value in self.allowed or []:
            number = _allowed_number(value, self.family)
            if number is None:
                continue
            if self.min is not None and number < self.min:
                raise FieldError("allowed", f"allowed value {value} is below min {self.min}")
            if self.max is not None and number > self.max:
                raise FieldError("allowed", f"allowed value {value} is above max {self.max}")
        return self

    @model_validator(mode="after")
    def _generation_hints(self) -> ColumnSpec:
        if self.null_ratio and not self.nullable:
            raise FieldError(
                "null_ratio", "the column is nullable: false; remove null_ratio or make it nullable"
            )
        if self.weights is not None:
            _check_weights(self.weights, self.allowed)
        return self

    @property
    def family(self) -> TypeFamily:
        return family_of(self.type)


def _as_finite_number(value: Any) -> int | float:
    """``value`` as an exact int or a finite float (numeric text too); ValueError otherwise."""
    number = value
    if isinstance(value, str):
        number = _parse_number(value.strip())
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError("must be a finite number")
    try:
        finite = math.isfinite(number)
    except OverflowError:  # an int beyond the float range
        finite = False
    if not finite:
        raise ValueError("must be a finite number")
    return number


INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1


def _within_64_bits(value: Any) -> Any:
    """An integer a column can hold (int64 or uint64), or any other value unchanged."""
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not INT64_MIN <= value <= UINT64_MAX
    ):
        digits = len(str(abs(value)))
        raise ValueError(f"an integer of {digits} digits is beyond what a 64-bit column holds")
    return value


def _parse_number(text: str) -> int | float | None:
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


_NUMERIC_FAMILIES = (TypeFamily.INTEGER, TypeFamily.FLOAT, TypeFamily.NUMBER)


def _allowed_number(value: Scalar, family: TypeFamily) -> int | float | None:
    """An allowed value as a number to hold against min and max: numbers, and numeric text
    in a numeric column (generated as a number); None for anything else."""
    if isinstance(value, str):
        if family not in _NUMERIC_FAMILIES:
            return None
        number: Scalar = _parse_number(value.strip())
    else:
        number = value
    if isinstance(number, bool) or not isinstance(number, int | float) or math.isnan(number):
        return None
    return number


def _check_weights(weights: list[float], allowed: list[Scalar] | None) -> None:
    if allowed is None:
        raise FieldError("weights", "needs 'allowed': one weight per allowed value")
    if len(weights) != len(allowed):
        given = f"has {len(weights)} entries for {len(allowed)} allowed values"
        raise FieldError("weights", f"{given}; give one weight per allowed value")
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not sum(weights) > 0:
        raise FieldError("weights", "must be numbers of 0 or more, not all 0")


SCHEMA_TYPES = (
    "integer",
    "int8",
    "int16",
    "int32",
    "int64",
    "float",
    "float32",
    "float64",
    "number",
    "string",
    "boolean",
    "date",
    "timestamp",
    "any",
)


class DataSchema(_Strict):
    """The declared shape of one output or input folder."""

    format: Literal["csv", "tsv", "parquet", "jsonl", "json"] | None = None
    layout: list[str] | None = None
    columns: list[ColumnSpec] = Field(default_factory=list)
    extra_columns: ExtraColumns = ExtraColumns.WARN
    min_rows: int = Field(default=1, ge=0)
    source: str | None = None
    """The file the schema was read from, for messages."""

    def column(self, name: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.name == name), None)

    @field_validator("layout")
    @classmethod
    def _relative_folders(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [folder.strip("/") for folder in value]
        if any(not f or ".." in f.split("/") for f in cleaned):
            raise ValueError("entries are subfolder names such as 'train', without '..'")
        return cleaned


SCHEMA_FIELDS = ("format", "layout", "columns", "extra_columns", "min_rows")


def schema_from_data(data: Any, source: str | None = None) -> DataSchema:
    """A schema from parsed YAML/JSON (or a Python dict); raises ``FieldError`` naming the field."""
    if isinstance(data, DataSchema):
        return data
    if not isinstance(data, dict):
        raise FieldError("", "a schema is a mapping with " + ", ".join(SCHEMA_FIELDS))
    reject_unknown(data, SCHEMA_FIELDS)
    fields = dict(data)
    fields["columns"] = _columns(fields.get("columns", []))
    for column in fields["columns"]:
        others = [key for key in column if key != "name"]
        reject_unknown(others, COLUMN_FIELDS, f"columns.{column['name']}.")
    fields["source"] = source
    try:
        return DataSchema.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if loc[:1] == ["columns"] and len(loc) > 1 and isinstance(loc[1], int):
            loc[1] = fields["columns"][loc[1]]["name"]
        raise FieldError(*describe_error({**first, "loc": tuple(loc)})) from None


COLUMN_FIELDS = (
    "type",
    "nullable",
    "required",
    "min",
    "max",
    "allowed",
    "null_ratio",
    "weights",
)


def _columns(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [_column(name, spec) for name, spec in value.items()]
    if isinstance(value, list):
        columns = [_listed_column(i, item) for i, item in enumerate(value)]
        names = [column["name"] for column in columns]
        twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
        if twice is not None:
            raise FieldError("columns", f"{quoted(twice)} is given twice")
        return columns
    raise FieldError("columns", "must map column names to types or to {type, nullable, ...}")


def _column_name(name: Any, where: str) -> str:
    """A column name as text: numbers as written (YAML reads ``2023:`` as a number); empty
    text, control characters, null and booleans are refused."""
    if isinstance(name, bool) or not isinstance(name, str | int):
        raise FieldError(where, f"a column name is text, not {kind_of(name)}")
    text = str(name)
    if not text.strip() or not text.isprintable():
        raise FieldError(
            where, f"{quoted(text)}: a column name is non-empty text without control characters"
        )
    return text


def _column(name: Any, spec: Any) -> dict[str, Any]:
    name = _column_name(name, "columns")
    if spec is None:
        return {"name": str(name)}
    if isinstance(spec, str):
        return {"name": str(name), "type": spec}
    if isinstance(spec, dict):
        return {"name": str(name), **spec}
    raise FieldError(f"columns.{name}", "must be a type name or a mapping of type, nullable, ...")


def _listed_column(index: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or "name" not in item:
        raise FieldError(f"columns.{index}", "must be a mapping with a 'name'")
    return {**item, "name": _column_name(item["name"], f"columns.{index}.name")}


def load_schema(path: Path) -> DataSchema:
    """Read a schema file (.yaml, .yml or .json); every mistake is an ``InputError``."""
    if not path.exists():
        raise InputError("no such schema file", file=path)
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise InputError("unknown schema format; allowed: .yaml, .yml, .json", file=path)
    try:
        return schema_from_data(read_data(path), source=str(path))
    except FieldError as exc:
        raise InputError(exc.message, file=path, field=exc.field or None) from None
