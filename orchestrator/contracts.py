"""Script contracts: what a script reads, writes and needs, in the cursus style.

A contract is YAML (or a ``ScriptContract`` in a Python file)::

    entry_point: preprocess.py
    expected_input_paths:
      raw: /opt/ml/processing/input/raw
    expected_output_paths:
      train: /opt/ml/processing/output/train
    required_env_vars: [LABEL_FIELD]
    optional_env_vars: {TRAIN_RATIO: "0.8"}
    expected_arguments: {job-type: training}
    input_schemas: {raw: schemas/raw.yaml}          # a schema file, or the schema inline
    output_schemas: {train: schemas/train.yaml}

A step names its contract (``contract: contracts/preprocess.yaml``); the contract's paths
then decide where the step's inputs and outputs are mounted.
"""

from __future__ import annotations

import difflib
import traceback
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import CitError, InputError
from .schemas import DataSchema, load_schema, schema_from_data

CONTRACT_FIELDS = (
    "entry_point",
    "expected_input_paths",
    "expected_output_paths",
    "required_env_vars",
    "optional_env_vars",
    "expected_arguments",
    "input_schemas",
    "output_schemas",
    "description",
)


def _container_paths(value: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for name, path in value.items():
        if not path.startswith("/"):
            raise ValueError(f"{name}: '{path}' must be an absolute path inside the container")
        cleaned[name] = "/" + "/".join(part for part in path.split("/") if part)
    return cleaned


class ScriptContract(BaseModel):
    """What one script expects: its paths, environment variables, arguments and schemas."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_point: str
    expected_input_paths: dict[str, str] = Field(default_factory=dict)
    expected_output_paths: dict[str, str] = Field(default_factory=dict)
    required_env_vars: list[str] = Field(default_factory=list)
    optional_env_vars: dict[str, str] = Field(default_factory=dict)
    expected_arguments: dict[str, str | None] = Field(default_factory=dict)
    input_schemas: dict[str, DataSchema] = Field(default_factory=dict)
    output_schemas: dict[str, DataSchema] = Field(default_factory=dict)
    description: str = ""
    source: str | None = Field(default=None, exclude=True)
    """The file the contract was read from, for messages."""

    _paths = field_validator("expected_input_paths", "expected_output_paths")(_container_paths)

    @field_validator("expected_arguments")
    @classmethod
    def _bare_names(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        return {name.lstrip("-"): arg for name, arg in value.items()}

    @field_validator("input_schemas", "output_schemas", mode="before")
    @classmethod
    def _schemas(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: schema_from_data(s) for name, s in value.items()}
        return value

    @model_validator(mode="after")
    def _schemas_name_paths(self) -> ScriptContract:
        for kind, schemas, paths in (
            ("input_schemas", self.input_schemas, "expected_input_paths"),
            ("output_schemas", self.output_schemas, "expected_output_paths"),
        ):
            for name in schemas:
                if name not in getattr(self, paths):
                    raise ValueError(f"{kind}.{name}: no such name in {paths}")
        return self

    @property
    def label(self) -> str:
        return self.source or f"contract of {self.entry_point}"


def contract_from_data(data: Any, base_dir: Path, source: str | None = None) -> ScriptContract:
    """A contract from a parsed mapping; schema file names resolve against ``base_dir``."""
    if isinstance(data, ScriptContract):
        return data
    if not isinstance(data, dict):
        raise ValueError("a contract is a mapping with " + ", ".join(CONTRACT_FIELDS[:6]))
    _reject_unknown(data)
    fields = dict(data)
    for key in ("input_schemas", "output_schemas"):
        if isinstance(fields.get(key), dict):
            fields[key] = {
                name: _schema(value, base_dir, f"{key}.{name}")
                for name, value in fields[key].items()
            }
    try:
        return ScriptContract.model_validate({**fields, "source": source})
    except ValidationError as exc:
        where, message = _first_error(exc)
        raise ValueError(f"{where}: {message}" if where else message) from None


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The first problem of a pydantic error as (field path, message)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return where, first["msg"].removeprefix("Value error, ")


def _reject_unknown(data: dict[Any, Any]) -> None:
    for key in data:
        if key not in CONTRACT_FIELDS:
            close = difflib.get_close_matches(str(key), CONTRACT_FIELDS, n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"{key}: unknown field{guess}; allowed: {', '.join(CONTRACT_FIELDS)}")


def _schema(value: Any, base_dir: Path, field: str) -> DataSchema:
    if isinstance(value, str | Path):
        path = Path(value)
        return load_schema(path if path.is_absolute() else (base_dir / path).resolve())
    try:
        return schema_from_data(value)
    except ValueError as exc:
        separator = "." if ": " in str(exc) else ": "
        raise ValueError(f"{field}{separator}{exc}") from None


def load_contract(path: Path) -> ScriptContract:
    """Read a contract from YAML/JSON or a Python file; every mistake is an ``InputError``."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("no such contract file", file=path)
    if suffix == ".py":
        return _python_contract(path)
    if suffix not in (".yaml", ".yml", ".json"):
        raise InputError("unknown contract format; allowed: .yaml, .yml, .json, .py", file=path)
    data = _parse(path)
    try:
        return contract_from_data(data, path.resolve().parent, source=str(path))
    except CitError:
        raise
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        if not message:
            raise InputError(field, file=path) from None
        raise InputError(message, file=path, field=field) from None


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
        return yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as UTF-8 text: {exc}", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"syntax error: {problem}", file=path, line=line) from None


def _python_contract(path: Path) -> ScriptContract:
    """The ``ScriptContract`` a Python file defines (named ``contract``, or its only one)."""
    namespace: dict[str, Any] = {"__file__": str(path.resolve()), "__name__": "__cit_contract__"}
    try:
        exec(compile(path.read_bytes(), str(path.resolve()), "exec"), namespace)
    except CitError:
        raise
    except SyntaxError as exc:
        raise InputError(f"syntax error: {exc.msg}", file=path, line=exc.lineno) from None
    except ValidationError as exc:
        where, message = _first_error(exc)
        line = _line_in(exc, path)
        raise InputError(message, file=path, field=where or None, line=line) from None
    except (Exception, SystemExit) as exc:
        raise InputError(f"{type(exc).__name__}: {exc}", file=path) from None
    found = [v for v in namespace.values() if isinstance(v, ScriptContract)]
    named = namespace.get("contract")
    if isinstance(named, ScriptContract):
        return named.model_copy(update={"source": str(path)})
    if len(found) != 1:
        raise InputError(
            "defines no contract; assign a ScriptContract to a variable named 'contract'",
            file=path,
        )
    return found[0].model_copy(update={"source": str(path)})


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The last line of ``path`` in the exception's traceback."""
    name = str(path.resolve())
    lines = [t.lineno for t in traceback.extract_tb(exc.__traceback__) if t.filename == name]
    return lines[-1] if lines else None
