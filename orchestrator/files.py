"""Reading the files a user writes: YAML and JSON that reject a key given twice, Python files
run for what they define (or parsed without running them), and one wording for the mistakes
found in any of them.

Mistakes inside a mapping are ``FieldError``s (a dotted field path and a message); callers
turn them into an ``InputError`` naming the file, so every message is one line:
``FILE[:LINE]: FIELD: what is wrong; allowed: ...``.
"""

from __future__ import annotations

import ast
import difflib
import errno
import io
import json
import os
import stat
import sys
import tokenize
import traceback
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import ErrorDetails

from .errors import CitError, InputError, printable
from .sizes import human_size

T = TypeVar("T")

YAML_SUFFIXES = (".yaml", ".yml")
DATA_SUFFIXES = (*YAML_SUFFIXES, ".json")
YAML_MERGE_TAG = "tag:yaml.org,2002:merge"
DICT_KEY = "[key]"
"""How pydantic marks an error in a mapping's key rather than its value."""


class FieldError(ValueError):
    """A mistake in one field of a mapping; ``field`` is its dotted path ("" for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def unknown_field(key: Any, allowed: Sequence[str]) -> str:
    """The message for a key that is not a field: the closest allowed one, then all of them."""
    close = difflib.get_close_matches(str(key), allowed, n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown field '{key}'{guess}; allowed: {', '.join(allowed)}"


def reject_unknown(keys: Iterable[Any], allowed: Sequence[str], prefix: str = "") -> None:
    """A ``FieldError`` for the first key not in ``allowed``; ``prefix`` leads its field path."""
    for key in keys:
        if key not in allowed:
            raise FieldError(f"{prefix}{key}", unknown_field(key, allowed))


def describe_error(error: ErrorDetails) -> tuple[str, str]:
    """One pydantic error as (dotted field path, message); a ``FieldError`` raised by a
    validator extends the path with its own field."""
    loc = [str(part) for part in error["loc"] if part != DICT_KEY]
    message = error["msg"].removeprefix("Value error, ")
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        loc += [cause.field] if cause.field else []
        message = cause.message
    return ".".join(loc), message


def first_error(exc: ValidationError) -> FieldError:
    """The first problem of a pydantic error as a ``FieldError``."""
    return FieldError(*describe_error(exc.errors()[0]))


# YAML and JSON ----------------------------------------------------------------------------


MAX_FILE_BYTES = 10 * 1024 * 1024
"""The largest pipeline, configuration, test-case, contract or schema file cit reads."""
MAX_NESTING = 64
"""How deep lists and mappings may nest in a YAML or JSON file (aliases expanded)."""
MAX_ALIAS_NODES = 100_000
"""How many values YAML aliases may add to a document beyond those its text holds."""


class StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping (merge keys still override),
    nesting deeper than ``MAX_NESTING``, an alias inside the node it names, and aliases that
    expand to more than ``MAX_ALIAS_NODES`` values (a few hundred bytes can stand for billions).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._literal_nodes = 0
        self._measured: dict[int, tuple[int, int]] = {}
        """id(node) → (values in it with aliases expanded, levels of nesting in it)."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            return self._compose_alias(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _too_deep(self._next_mark())
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._measure(node)
        return node

    def _next_mark(self) -> yaml.Mark:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return mark

    def _compose_alias(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark = self._next_mark()
        node = super().compose_node(parent, index)
        measured = self._measured.get(id(node))
        if measured is None:
            raise _BeyondLimit(None, None, "an alias refers to a node that holds it (a loop)", mark)
        if self._depth + measured[1] > MAX_NESTING:
            raise _too_deep(mark)
        return node

    def _measure(self, node: yaml.Node) -> None:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        sizes = [self._measured[id(child)] for child in children]
        size = 1 + sum(size for size, _ in sizes)
        self._measured[id(node)] = (size, 1 + max((depth for _, depth in sizes), default=0))
        self._literal_nodes += 1
        if size - self._literal_nodes > MAX_ALIAS_NODES:
            raise _BeyondLimit(
                None,
                None,
                f"aliases expand to more than {MAX_ALIAS_NODES} values; write the values out "
                "or use fewer aliases",
                node.start_mark,
            )

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == YAML_MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = first_seen.setdefault(key, key_node)
            except TypeError:
                continue
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key '{key}' (first at line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep)


def load_data_file(
    path: Path, what: str, build: Callable[[Any], T], formats: str = ".yaml, .yml, .json"
) -> T:
    """``build`` applied to the content of a YAML/JSON file: a missing file, another suffix,
    and a ``FieldError`` from ``build`` become one-line ``InputError``s naming the file."""
    if not path.is_file():
        raise InputError(f"no such {what} file", file=path)
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise InputError(f"unknown {what} format; allowed: {formats}", file=path)
    try:
        return build(read_data(path))
    except FieldError as exc:
        raise InputError(exc.message, file=path, field=exc.field or None) from None


def scalar_text(value: Any) -> Any:
    """Numbers and booleans as the text a container sees (True → 'True'); anything else is
    left for validation to refuse (None must not become 'None')."""
    return str(value) if isinstance(value, int | float | bool) else value


def read_data(path: Path) -> Any:
    """The content of a ``.json`` file (read as JSON) or of a YAML file; a syntax error, a
    duplicate key or text that is not UTF-8 is an ``InputError`` naming the file and line."""
    is_json = path.suffix.lower() == ".json"
    text = read_text(path, "JSON" if is_json else "YAML")
    return parse_json(text, path) if is_json else parse_yaml(text, path)


def read_text(path: Path, kind: str) -> str:
    """A file's UTF-8 text (a byte order mark is dropped); ``kind`` names the file in advice."""
    try:
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise undecodable(exc, path, f"save the {kind} file as UTF-8") from None


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML text read from ``path`` with ``StrictLoader``."""
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    except (ValueError, OverflowError) as exc:
        # a scalar its tag cannot take: an int of more than 4300 digits, a 30th of February
        raise InputError(f"a value cannot be read: {safe_text(exc)}", file=path) from None
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_NESTING} levels", file=path) from None


def _yaml_error(exc: yaml.YAMLError, text: str, path: Path) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    position = getattr(exc, "position", None)
    if mark is not None:
        line: int | None = mark.line + 1
    elif isinstance(position, int):
        line = text[:position].count("\n") + 1
    else:
        line = None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, yaml.constructor.ConstructorError | _BeyondLimit):
        return InputError(problem, file=path, line=line)
    return InputError(f"YAML syntax error: {problem}", file=path, line=line)


class _BeyondLimit(yaml.composer.ComposerError):
    """A document beyond what cit reads: too deep, aliases that loop or expand too far."""


def _too_deep(mark: yaml.Mark) -> _BeyondLimit:
    return _BeyondLimit(
        None, None, f"nested deeper than {MAX_NESTING} levels of lists and mappings", mark
    )


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


class NotJSON(InputError):
    """Text ``parse_json`` cannot take. ``problem``: what is wrong, without the file; ``beyond``:
    it is JSON beyond what cit reads (nested too deep, a number too long) rather than not JSON
    (``line`` is set for a syntax error)."""

    def __init__(
        self, problem: str, path: Path, *, line: int | None = None, beyond: bool = False
    ) -> None:
        message = f"JSON syntax error: {problem}" if line is not None else problem
        super().__init__(message, file=path, line=line)
        self.problem = problem
        self.beyond = beyond


def parse_json(text: str, path: Path) -> Any:
    """Parse JSON text read from ``path``; a key given twice in one object is an error. What
    cannot be taken is a ``NotJSON``."""
    too_deep = NotJSON(
        f"nested deeper than {MAX_NESTING} levels of lists and objects", path, beyond=True
    )
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise NotJSON(exc.msg, path, line=exc.lineno) from None
    except _DuplicateKey as exc:
        raise NotJSON(f"duplicate key {quoted(exc.key)} in one object", path) from None
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:  # an int of more than 4300 digits
        raise NotJSON(f"a value cannot be read: {safe_text(exc)}", path, beyond=True) from None
    if nesting(data) > MAX_NESTING:
        raise too_deep
    return data


def nesting(data: Any) -> int:
    """How many levels of lists and mappings ``data`` holds (counted without recursion)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


# Python -----------------------------------------------------------------------------------

Explain = Callable[[Exception], tuple[str, str | None] | None]
"""Turns an exception raised by a user's Python file into (message, field), or None."""


def run_python(
    path: Path, module: str, doing: str, explain: Explain | None = None
) -> dict[str, Any]:
    """Run a user's Python file and return what it defines. Its folder is importable while
    it runs. Every failure is an ``InputError`` with the file's line; ``doing`` completes
    "called sys.exit() while ...", and ``explain`` words exceptions it knows."""
    code = compile_python(path)
    namespace: dict[str, Any] = {"__file__": str(path.resolve()), "__name__": module}
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        exec(code, namespace)
    except (CitError, KeyboardInterrupt):
        raise
    except SystemExit as exc:
        message = f"called {_exit_call(exc)} while {doing}"
        raise InputError(message, file=path, line=line_in(exc, path)) from None
    except BaseException as exc:  # any class a file raises is its mistake, not cit's
        known = explain(exc) if explain is not None and isinstance(exc, Exception) else None
        message, field = known or (described(exc), None)
        raise InputError(message, file=path, field=field, line=line_in(exc, path)) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return namespace


def compile_python(path: Path) -> Any:
    """Compile from bytes, so a BOM or a coding line decides the encoding as Python does."""
    return _compile(path, 0)


def parse_python(path: Path) -> ast.Module:
    """A Python file's syntax tree, read as ``compile_python`` reads it and never run."""
    tree: ast.Module = _compile(path, ast.PyCF_ONLY_AST)
    return tree


def _compile(path: Path, flags: int) -> Any:
    data = read_bytes(path)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
        return compile(data, str(path.resolve()), "exec", flags=flags)
    except UnicodeDecodeError as exc:
        advice = "save it as UTF-8 or declare its encoding in a '# -*- coding: NAME -*-' line"
        raise undecodable(exc, path, advice) from None
    except SyntaxError as exc:
        raise InputError(f"syntax error: {exc.msg}", file=path, line=exc.lineno) from None


def line_in(exc: BaseException, path: Path) -> int | None:
    """The last line of ``path`` on the exception's traceback."""
    target = str(path.resolve())
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == target]
    return lines[-1] if lines else None


def first_line(problem: BaseException | str) -> str:
    """The first line of an error's text (an exception without text: its class name)."""
    lines = str(problem).strip().splitlines()
    if isinstance(problem, BaseException):
        return lines[0] if lines else type(problem).__name__
    return lines[0] if lines else ""


def one_line(text: object) -> str:
    """Text of several lines joined into one."""
    lines = safe_text(text, escape=False).splitlines()
    return "; ".join(line.strip() for line in lines if line.strip())


def safe_text(value: object, *, escape: bool = True) -> str:
    """``str(value)`` with control characters escaped; when ``str`` itself raises (a user's
    exception may), the value's type in angle brackets."""
    try:
        text = str(value)
    except Exception:
        text = f"<{type(value).__name__} that cannot be shown>"
    return printable(text) if escape else text


NUL_MESSAGE = "holds a NUL character (\\x00), which no path, variable or argument may hold"


def nul_in(value: Any, at: str = "") -> str | None:
    """The field path of the first text (a key or a value, at any depth) holding a NUL."""
    if isinstance(value, str | Path) and "\x00" in str(value):
        return at
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list | tuple):
        items = list(enumerate(value))
    for key, item in items:
        where = f"{at}.{key}" if at else str(key)
        if isinstance(key, str) and "\x00" in key:
            return where
        found = nul_in(item, where)
        if found is not None:
            return found
    return None


def kind_of(value: object) -> str:
    """What a value read from YAML or JSON is, in the words of those formats."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def quoted(value: object) -> str:
    """A user's value in quotes, control characters escaped, for a one-line message."""
    return f"'{safe_text(value)}'"


def described(exc: BaseException) -> str:
    """An exception raised by a user's code as ``Type: text`` on one line, even when its
    ``str`` raises."""
    return ": ".join(filter(None, [type(exc).__name__, one_line(exc)]))


def _exit_call(exc: SystemExit) -> str:
    if exc.code is None:
        return "sys.exit()"
    try:
        code = repr(exc.code)
    except Exception:
        code = f"<{type(exc.code).__name__}>"
    return f"sys.exit({code})"


# Bytes ------------------------------------------------------------------------------------


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, at most ``limit`` of them; a file that cannot be read, a FIFO
    or device, or a larger file is an ``InputError``."""
    try:
        # non-blocking: opening a FIFO must not wait for a writer before it is refused
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError("is not a regular file", file=path)
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", file=path) from None
    if len(data) > limit:
        raise InputError(f"is larger than {human_size(limit)}, the most cit reads", file=path)
    return data


def undecodable(exc: UnicodeDecodeError, path: Path, advice: str) -> InputError:
    """The error for text that is not in its encoding: the byte, its line, and ``advice``."""
    line = exc.object[: exc.start].count(b"\n") + 1
    encoding = "UTF-8" if exc.encoding.lower().startswith("utf-8") else exc.encoding
    byte = exc.object[exc.start]
    return InputError(
        f"is not valid {encoding} text (byte 0x{byte:02x}); {advice}", file=path, line=line
    )


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write text so a reader sees the old file or the new one, never half of one. An
    ``OSError`` names ``path`` (a full disk does not name the file it was writing)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    finally:
        partial.unlink(missing_ok=True)


FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


def write_problem(exc: OSError, path: Path | str | None = None) -> str:
    """One line for a failed write: ``no space left on device writing <path> (the disk
    mounted at <folder> is full)``; ``path`` when the error names none."""
    target = exc.filename or path
    what = (exc.strerror or str(exc)).lower() if exc.errno else str(exc)
    line = f"{what} writing {target}" if target else what
    if exc.errno in FULL_DISK and target:
        line += f" (the disk mounted at {mount_point(Path(target))} is full)"
    return line


def mount_point(path: Path) -> Path:
    """The folder where the file system holding ``path`` is mounted."""
    folder = Path(os.path.abspath(path))
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    while not os.path.ismount(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def write_text_files(files: dict[Path, str]) -> None:
    """Write each file; an ``OSError`` names the file (a full disk does not)."""
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def numbers_only(annotation: Any) -> bool:
    """Whether a field of this type takes numbers but no booleans (``int``, ``float | None``);
    pydantic's lax mode would read ``true`` as 1."""
    kinds = _flattened(annotation)
    return bool(kinds & {int, float}) and bool not in kinds


def boolean_for_number(value: Any, annotation: Any) -> tuple[str, bool] | None:
    """Where in ``value`` a boolean stands for a number its type wants ("" for ``value``
    itself, "2" for an item of a list), and that boolean; None when there is no such place."""
    if isinstance(value, bool):
        return ("", value) if numbers_only(annotation) else None
    for member in _flattened(annotation):
        origin, args = typing.get_origin(member), typing.get_args(member)
        items: list[tuple[Any, Any]] = []
        if origin is list and isinstance(value, list) and args:
            items = [(index, (item, args[0])) for index, item in enumerate(value)]
        elif origin is dict and isinstance(value, dict) and len(args) == 2:
            items = [(key, (item, args[1])) for key, item in value.items()]
        for place, (item, kind) in items:
            found = boolean_for_number(item, kind)
            if found is not None:
                inner, given = found
                return (f"{place}.{inner}" if inner else str(place)), given
    return None


def _flattened(annotation: Any) -> set[Any]:
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # the type, not its constraints
        return _flattened(args[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_flattened(arg) for arg in args))
    if origin is typing.Literal:  # Literal[1] takes True as 1
        return {type(arg) for arg in args}
    return {annotation}


class NulFreeRecord(BaseModel):
    """A record whose values reach a container (paths, variables, arguments): a NUL anywhere
    in it is refused when it is read, not when the container is created."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        found = nul_in(data)
        if found is not None:
            raise FieldError(found, NUL_MESSAGE)
        return data


class InputRecord(BaseModel):
    """A record read from a user's file: a boolean given for a number is refused (``true``
    must not become a 1-second timeout)."""

    @model_validator(mode="before")
    @classmethod
    def _numbers_not_booleans(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                key = field.alias or name
                value = data.get(key, data.get(name))
                found = boolean_for_number(value, field.annotation)
                if found is not None:
                    place, given = found
                    where = f"{key}.{place}" if place else key
                    raise FieldError(where, f"must be a number, not {str(given).lower()}")
        return data


class StrictRecord(InputRecord):
    """A record whose unknown keys are refused with the closest allowed one."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        data = cls._shorthand(data)
        if isinstance(data, dict):
            allowed = [field.alias or name for name, field in cls.model_fields.items()]
            reject_unknown(data, allowed)
        return data

    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return data
