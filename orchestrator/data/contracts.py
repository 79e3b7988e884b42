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

``framework_requirements: {pandas: ">=1.3.0"}`` names the packages the script needs.

A Python contract file is run, unless a module-level import in it is from cursus, relative, or
of a module neither installed nor beside the file: then it is read as data, never run (a
cursus contract file as it is, without cursus). Its ``...ScriptContract(...)`` call assigned at
module level gives the fields, each a literal or a module-level constant's name; of several
calls, the one whose entry_point is the script (when known), else the one named ``contract``.

A step names its contract (``contract: contracts/preprocess.yaml``); the contract's paths
then decide where the step's inputs and outputs are mounted.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
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
    InputRecord,
    describe_error,
    load_data_file,
    one_line,
    parse_python,
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
    "framework_requirements",
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


class ScriptContract(InputRecord):
    """What one script expects: its paths, environment variables, arguments and schemas."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_point: str
    expected_input_paths: dict[str, str] = Field(default_factory=dict)
    expected_output_paths: dict[str, str] = Field(default_factory=dict)
    required_env_vars: list[str] = Field(default_factory=list)
    optional_env_vars: dict[str, str] = Field(default_factory=dict)
    expected_arguments: dict[str, str | None] = Field(default_factory=dict)
    framework_requirements: dict[str, str] = Field(default_factory=dict)
    """Packages the script needs, as ``{package: version specifier}`` (``{pandas: ">=1.3"}``)."""
    input_schemas: dict[str, SchemaField] = Field(default_factory=dict)
    output_schemas: dict[str, SchemaField] = Field(default_factory=dict)
    description: str = ""
    source: str | None = Field(default=None, exclude=True)
    """The file the contract was read from, for messages."""

    _paths = field_validator("expected_input_paths", "expected_output_paths")(_container_paths)
    _text = field_validator(
        "optional_env_vars", "expected_arguments", "framework_requirements", mode="before"
    )(_as_text)

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


def load_contract(path: Path, entry_point: str | Path | None = None) -> ScriptContract:
    """Read a contract from YAML/JSON or a Python file; every mistake is an ``InputError``.
    ``entry_point`` (the script the contract is for, when known) picks among several
    contracts of a Python file read as data."""
    if path.is_file() and path.suffix.lower() == ".py":
        tree = parse_python(path)
        reason = _why_read_as_data(tree, path)
        if reason is not None:
            return _contract_read_as_data(tree, path, reason, entry_point)
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


# A Python contract read as data -----------------------------------------------------------

DATA_MODULES = ("cursus",)
"""Packages whose contract files cit reads as data, whether or not they are installed."""
CONTRACT_CLASS_SUFFIX = "ScriptContract"
"""A call to any name ending so (``ScriptContract``, ``TrainingScriptContract``, ...) is one."""
_SHOWN = 60
"""How much of a value that is not a literal a message quotes."""


def _why_read_as_data(tree: ast.Module, path: Path) -> str | None:
    """Why a Python contract file is read as data rather than run, or None to run it: a
    module-level import from cursus, a relative import (the file is part of a package cit
    does not load), or an import of a module that is not installed."""
    folder = path.resolve().parent
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom):
            if statement.level:
                dots = "." * statement.level + (statement.module or "")
                return f"it imports from '{dots}' (a relative import)"
            names = [statement.module or ""]
        elif isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top in DATA_MODULES:
                return f"it imports {name}"
            if top != "__future__" and not _importable(top, folder):
                return f"it imports {name}, which is not installed"
    return None


def _importable(name: str, folder: Path) -> bool:
    """Whether a top-level module can be found, beside the file or installed; nothing runs."""
    if (folder / f"{name}.py").is_file() or (folder / name).is_dir():
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class _Found:
    """One ``...ScriptContract(...)`` call assigned at module level, and the constants
    assigned before it."""

    def __init__(self, name: str, call: ast.Call, constants: dict[str, ast.expr]) -> None:
        self.name = name
        self.call = call
        self.constants = constants

    def keyword(self, field: str) -> ast.keyword | None:
        return next((k for k in self.call.keywords if k.arg == field), None)


def _contract_read_as_data(
    tree: ast.Module, path: Path, reason: str, entry_point: str | Path | None
) -> ScriptContract:
    """The contract a Python file assigns at module level, its fields read as literals;
    the file is never run."""
    found = _contract_calls(tree)
    why = f"cit reads this file as data, without running it, because {reason}"
    if not found:
        raise InputError(
            f"no ScriptContract(...) assigned at module level: {why}",
            file=path,
        )
    chosen = _choose(found, path, entry_point)
    data = _fields(chosen, path, why)
    try:
        return contract_from_data(data, path.resolve().parent, source=str(path))
    except FieldError as exc:
        top = exc.field.partition(".")[0]
        keyword = chosen.keyword(top)
        line = keyword.value.lineno if keyword is not None else chosen.call.lineno
        raise InputError(exc.message, file=path, field=exc.field or None, line=line) from None


def _contract_calls(tree: ast.Module) -> list[_Found]:
    found: list[_Found] = []
    constants: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Call) and _called_name(value).endswith(CONTRACT_CLASS_SUFFIX):
            found.append(_Found(target.id, value, dict(constants)))
            continue
        resolved = _resolved(value, constants)
        if _literal(resolved):
            constants[target.id] = resolved
        else:
            constants.pop(target.id, None)
    return found


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _choose(found: list[_Found], path: Path, entry_point: str | Path | None) -> _Found:
    """The only contract; or, of several, the one for ``entry_point``, else the one named
    ``contract``."""
    if len(found) == 1:
        return found[0]
    entry_points = {f.name: _entry_point_of(f) for f in found}
    if entry_point is not None:
        wanted = Path(entry_point).name
        matching = [f for f in found if entry_points[f.name] == wanted]
        if len(matching) == 1:
            return matching[0]
    named = [f for f in found if f.name == "contract"]
    if len(named) == 1:
        return named[0]
    listed = ", ".join(
        f"{f.name} (line {f.call.lineno}, entry_point {entry_points[f.name] or '?'})" for f in found
    )
    scripts = f"none or several for {Path(entry_point).name}; " if entry_point else ""
    raise InputError(
        f"defines {len(found)} contracts: {listed}; {scripts}keep one per file or name the "
        "one to use 'contract'",
        file=path,
    )


def _entry_point_of(found: _Found) -> str | None:
    keyword = found.keyword("entry_point")
    if keyword is None:
        return None
    value = _resolved(keyword.value, found.constants)
    text = ast.literal_eval(value) if _literal(value) else None
    return Path(text).name if isinstance(text, str) else None


def _fields(found: _Found, path: Path, why: str) -> dict[str, Any]:
    """The call's keyword arguments as values; one that is not a literal is an error naming
    its field and line."""
    if found.call.args:
        raise InputError(
            "give the contract's fields by name (entry_point=..., ...)",
            file=path,
            line=found.call.args[0].lineno,
        )
    data: dict[str, Any] = {}
    for keyword in found.call.keywords:
        if keyword.arg is None:
            shown = _shown(keyword.value)
            raise InputError(
                f"'**{shown}' cannot be read: {why}; write the fields out",
                file=path,
                line=keyword.value.lineno,
            )
        value = _resolved(keyword.value, found.constants)
        if not _literal(value):
            culprit = _first_non_literal(keyword.value, found.constants)
            raise InputError(
                f"{_describe(culprit)} is not a literal value: {why}; write the value out "
                "(text, numbers, lists, dicts) or name a constant assigned above it",
                file=path,
                field=keyword.arg,
                line=getattr(culprit, "lineno", keyword.value.lineno),
            )
        data[keyword.arg] = ast.literal_eval(value)
    return data


def _resolved(node: ast.expr, constants: dict[str, ast.expr]) -> ast.expr:
    """A copy of ``node`` with the names of module-level constants replaced by their values."""
    resolved: ast.expr = _ResolveNames(constants).visit(copy.deepcopy(node))
    return resolved


class _ResolveNames(ast.NodeTransformer):
    """A module-level constant's name replaced by the value it was given."""

    def __init__(self, constants: dict[str, ast.expr]) -> None:
        self.constants = constants

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.constants.get(node.id, node)


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


_LITERAL_NODES = (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.UnaryOp)


def _first_non_literal(node: ast.expr, constants: dict[str, ast.expr]) -> ast.AST:
    """The outermost part of a value that is not a literal nor a constant's name (the value
    itself if none is)."""
    for part in ast.walk(node):
        if isinstance(part, ast.Dict) and None in part.keys:
            return part.values[part.keys.index(None)]
        if isinstance(part, ast.Name) and part.id in constants:
            continue
        if isinstance(part, ast.expr) and not isinstance(part, _LITERAL_NODES):
            return part
    return node


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"'{node.id}' (not a constant assigned above the contract)"
    if isinstance(node, ast.Call):
        return f"the call '{_shown(node)}'"
    if isinstance(node, ast.JoinedStr):
        return f"the f-string '{_shown(node)}'"
    return f"'{_shown(node)}'"


def _shown(node: ast.AST) -> str:
    text = one_line(ast.unparse(node))
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
