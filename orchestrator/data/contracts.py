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

A ``.json`` contract is read as JSON. Numbers and booleans given for arguments and env vars
become text, as in a step's ``env``. Schema file names resolve against the contract file's
folder, in a Python contract file too; a ``ScriptContract`` built elsewhere takes a schema as
a mapping or from ``load_schema(path)``.

A step names its contract (``contract: contracts/preprocess.yaml``); the contract's paths
then decide where the step's inputs and outputs are mounted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import InputError
from ..files import (
    FieldError,
    describe_error,
    load_data_file,
    reject_unknown,
    run_python,
    scalar_text,
    unknown_field,
)
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

_SCHEMA_DIR: ContextVar[Path | None] = ContextVar("cit_contract_schema_dir", default=None)
"""The folder schema file names resolve against while a contract file is read."""


@contextmanager
def _schema_files_relative_to(folder: Path) -> Iterator[None]:
    token = _SCHEMA_DIR.set(folder)
    try:
        yield
    finally:
        _SCHEMA_DIR.reset(token)


def _schema(value: Any) -> Any:
    """A declared schema: a ``DataSchema``, a mapping, or a schema file named in a contract file."""
    if isinstance(value, str | Path):
        return _schema_file(Path(value))
    return schema_from_data(value)


def _schema_file(path: Path) -> DataSchema:
    folder = _SCHEMA_DIR.get()
    if folder is None:
        raise ValueError(
            f"'{path}' is a file name, which is read only in a contract file; "
            "give the schema as a mapping or use load_schema(path)"
        )
    resolved = path if path.is_absolute() else (folder / path).resolve()
    if not resolved.is_file():
        raise ValueError(f"no such schema file: {resolved}")
    return load_schema(resolved)


SchemaField = Annotated[DataSchema, BeforeValidator(_schema)]


def _container_paths(value: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for name, path in value.items():
        if not path.startswith("/"):
            raise FieldError(name, f"'{path}' must be an absolute path inside the container")
        cleaned[name] = "/" + "/".join(part for part in path.split("/") if part)
    return cleaned


def _as_text(value: Any) -> Any:
    """Numbers and booleans of a mapping as text, as a step's env does (True → 'True')."""
    if isinstance(value, dict):
        return {k: scalar_text(v) for k, v in value.items()}
    return value


class ScriptContract(BaseModel):
    """What one script expects: its paths, environment variables, arguments and schemas."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_point: str
    expected_input_paths: dict[str, str] = Field(default_factory=dict)
    expected_output_paths: dict[str, str] = Field(default_factory=dict)
    required_env_vars: list[str] = Field(default_factory=list)
    optional_env_vars: dict[str, str] = Field(default_factory=dict)
    expected_arguments: dict[str, str | None] = Field(default_factory=dict)
    input_schemas: dict[str, SchemaField] = Field(default_factory=dict)
    output_schemas: dict[str, SchemaField] = Field(default_factory=dict)
    description: str = ""
    source: str | None = Field(default=None, exclude=True)
    """The file the contract was read from, for messages."""

    _paths = field_validator("expected_input_paths", "expected_output_paths")(_container_paths)
    _text = field_validator("optional_env_vars", "expected_arguments", mode="before")(_as_text)

    @field_validator("expected_arguments")
    @classmethod
    def _bare_names(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        return {name.lstrip("-"): arg for name, arg in value.items()}

    @model_validator(mode="after")
    def _schemas_name_paths(self) -> ScriptContract:
        for kind, schemas, paths in (
            ("input_schemas", self.input_schemas, "expected_input_paths"),
            ("output_schemas", self.output_schemas, "expected_output_paths"),
        ):
            for name in schemas:
                if name not in getattr(self, paths):
                    raise FieldError(f"{kind}.{name}", f"no such name in {paths}")
        return self

    @property
    def label(self) -> str:
        return self.source or f"contract of {self.entry_point}"


def contract_from_data(data: Any, base_dir: Path, source: str | None = None) -> ScriptContract:
    """A contract from a parsed mapping; schema file names resolve against ``base_dir``.
    Raises ``FieldError`` naming the field."""
    if isinstance(data, ScriptContract):
        return data
    if not isinstance(data, dict):
        raise FieldError("", "a contract is a mapping with " + ", ".join(CONTRACT_FIELDS[:6]))
    reject_unknown(data, CONTRACT_FIELDS)
    try:
        with _schema_files_relative_to(base_dir):
            return ScriptContract.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise contract_error(exc) from None


def contract_error(exc: ValidationError) -> FieldError:
    """The first problem of a ``ScriptContract``'s validation error, naming its field."""
    first = exc.errors()[0]
    if first["type"] == "extra_forbidden" and len(first["loc"]) == 1:
        return FieldError(str(first["loc"][0]), unknown_field(first["loc"][0], CONTRACT_FIELDS))
    return FieldError(*describe_error(first))


def load_contract(path: Path) -> ScriptContract:
    """Read a contract from YAML/JSON or a Python file; every mistake is an ``InputError``."""
    if path.is_file() and path.suffix.lower() == ".py":
        return _python_contract(path)
    return load_data_file(
        path,
        "contract",
        lambda data: contract_from_data(data, path.resolve().parent, source=str(path)),
        formats=".yaml, .yml, .json, .py",
    )


def _python_contract(path: Path) -> ScriptContract:
    """The ``ScriptContract`` a Python file defines (named ``contract``, or its only one);
    schema file names in it resolve against the file's folder."""
    with _schema_files_relative_to(path.resolve().parent):
        namespace = run_python(path, "__cit_contract__", "defining the contract", _explain)
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


def _explain(exc: Exception) -> tuple[str, str | None] | None:
    if isinstance(exc, ValidationError):
        error = contract_error(exc)
        return error.message, error.field or None
    return None
