"""What a script uses, read from its source alone: ``/opt/ml`` paths, env vars, CLI options.

The script is parsed with ``ast``; it is never imported or run. Found:

* string literals starting with ``/opt/ml``, and paths built from them with ``os.path.join``,
  ``pathlib`` (``Path(...) / x``, ``joinpath``), ``+``, f-strings, ``%`` and ``str.format``,
  following names bound once (module or function level) to a constant string;
* environment reads through ``os.environ`` (``[...]``, ``get``, ``pop``, ``setdefault``,
  ``in``) and ``os.getenv``, under any import alias or ``from os import ...``;
* ``add_argument`` calls whose first argument is a string literal.

Out of reach: the part of a path built from values known only at run time (such a path is
reported by its known start, with ``exact=False``), environment variable names computed at
run time or reads through a copy of ``os.environ`` (both only set ``dynamic_env``), and
whatever other modules, ``exec`` or ``eval`` do.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard, TypeVar

from ..errors import CitError

ML_ROOT = "/opt/ml"
_JOIN_FUNCTIONS = frozenset({"os.path.join", "posixpath.join"})
_PATH_TYPES = frozenset(
    {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath"}
)
_ENVIRON = "os.environ"
_GETENV = "os.getenv"
_ENV_READ_METHODS = frozenset({"get", "pop", "setdefault"})
_ENV_WRITE_METHODS = frozenset({"update", "clear", "__setitem__", "__delitem__"})
_OPTIONAL_NARGS = frozenset({"?", "*", "...", "OPTIONAL", "ZERO_OR_MORE", "REMAINDER"})

_T = TypeVar("_T")


@dataclass(frozen=True)
class PathUse:
    """A path under ``/opt/ml`` the script names, normalised (no ``//``, no trailing ``/``)."""

    path: str
    line: int
    exact: bool  # False: only the start of a path completed at run time


@dataclass(frozen=True)
class EnvRead:
    """One read of an environment variable by a literal name."""

    name: str
    line: int
    has_default: bool  # a default other than None is given, or it is an ``in`` test
    required: bool  # a missing variable raises KeyError: ``environ[...]``, ``pop`` without default


@dataclass(frozen=True)
class ArgumentUse:
    """One ``add_argument`` call."""

    name: str  # without leading dashes, as written: 'job-type' for '--job-type'
    line: int
    required: bool
    default: str | None  # str() of a literal default; None when absent, None or not literal
    positional: bool


@dataclass(frozen=True)
class ScriptUsage:
    """Everything found in one script, each kind sorted by line."""

    file: Path
    paths: tuple[PathUse, ...]
    env: tuple[EnvRead, ...]
    arguments: tuple[ArgumentUse, ...]
    dynamic_env: bool  # env vars read by computed names or through the whole mapping


class ScriptScanError(CitError):
    """The script cannot be read or parsed; the message names the file (and line)."""


def scan_script(path: Path) -> ScriptUsage:
    """Scan the script at ``path``, decoded as its PEP 263 coding line says (UTF-8 by default)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptScanError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return scan_source(_decode(data, path), path)


def scan_source(source: str, file: Path = Path("<string>")) -> ScriptUsage:
    """Scan Python source text; ``file`` is only used in messages and the result."""
    tree = _parse(source, file)
    names = _import_names(tree)
    evaluator = _Evaluator(tree, names)
    env = _EnvScan(tree, names, evaluator)
    return ScriptUsage(
        file=file,
        paths=_sorted_unique(_find_paths(tree, evaluator), lambda p: (p.line, p.path, p.exact)),
        env=_sorted_unique(env.reads, lambda e: (e.line, e.name, e.has_default, e.required)),
        arguments=_sorted_unique(_find_arguments(tree, evaluator), lambda a: (a.line, a.name)),
        dynamic_env=env.dynamic,
    )


def _decode(data: bytes, file: Path) -> str:
    """Source bytes → text, honouring a coding line and a UTF-8 BOM."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise ScriptScanError(f"{file}: cannot decode: {exc.msg}") from exc
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScriptScanError(
            f"{file}: line {line}: not valid {encoding} text (byte 0x{data[exc.start]:02x})"
        ) from exc


def _parse(source: str, file: Path) -> ast.Module:
    try:
        return ast.parse(source, filename=str(file))
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        raise ScriptScanError(f"{file}: {where}syntax error: {exc.msg}") from exc
    except ValueError as exc:  # null bytes in the source
        raise ScriptScanError(f"{file}: syntax error: {exc}") from exc


def _sorted_unique(items: Iterable[_T], key: Callable[[_T], tuple[object, ...]]) -> tuple[_T, ...]:
    return tuple(sorted(set(items), key=key))


# --- names -----------------------------------------------------------------------------------


def _import_names(tree: ast.Module) -> dict[str, str]:
    """Local name → the dotted name it stands for, from the script's imports."""
    names = {"os": "os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                names[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _qualname(node: ast.AST, names: Mapping[str, str]) -> str | None:
    """``o.path.join`` → ``os.path.join`` when ``o`` is ``os``; None for anything else."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualname(node.value, names)
        return f"{base}.{node.attr}" if base else None
    return None


def _bindings(tree: ast.Module) -> dict[str, list[ast.expr | None]]:
    """Every name bound in the script → the value of each binding (None: not a plain value)."""
    simple = _simple_assignments(tree)
    found: dict[str, list[ast.expr | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.setdefault(node.id, []).append(simple.get(node))
        else:
            for name in _other_bound_names(node):
                found.setdefault(name, []).append(None)
    return found


def _simple_assignments(tree: ast.Module) -> dict[ast.AST, ast.expr]:
    """Target name node → value, for ``NAME = value`` (also annotated and ``:=``)."""
    simple: dict[ast.AST, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            simple.update((t, node.value) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            simple[node.target] = node.value
    return simple


def _other_bound_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.alias):
        return [node.asname or node.name.split(".")[0]]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
        return [node.name]
    return []


# --- string values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    """What is known of a string value: how it starts, and whether that is all of it."""

    text: str
    complete: bool

    def then(self, other: _Text | None) -> _Text:
        """This text followed by ``other`` (None: unknown)."""
        if not self.complete:
            return self
        if other is None:
            return _Text(self.text, False)
        return _Text(self.text + other.text, other.complete)

    def join(self, other: _Text | None) -> _Text:
        """``os.path.join(self, other)``, also ``Path(self) / other``."""
        if not self.complete:
            return self
        if other is not None and other.text.startswith("/"):
            return other
        return _Text(self.text.rstrip("/") + "/", True).then(other)

    def cut(self, marker: str) -> _Text:
        """The part before a placeholder: what ``%`` or ``.format`` keeps for sure."""
        return _Text(self.text.split(marker, 1)[0], False)


class _Evaluator:
    """Works out the known start of string expressions, through constant names."""

    def __init__(self, tree: ast.Module, names: Mapping[str, str]) -> None:
        self._names = names
        self._bindings = _bindings(tree)
        self._constants: dict[str, str | None] = {}
        self._resolving: set[str] = set()

    def value(self, node: ast.AST, used: list[ast.AST]) -> _Text | None:
        """The known start of ``node``'s value; nodes that contributed are added to ``used``."""
        known = self._value(node, used)
        if known is not None:
            used.append(node)
        return known

    def text(self, node: ast.AST) -> str | None:
        """The whole value of ``node`` when it is known."""
        known = self.value(node, [])
        return known.text if known is not None and known.complete else None

    def call_kind(self, func: ast.expr) -> str | None:
        """'join', 'path' or 'str' for the calls that build or wrap paths."""
        qualname = _qualname(func, self._names)
        if qualname in _JOIN_FUNCTIONS:
            return "join"
        if qualname in _PATH_TYPES:
            return "path"
        return "str" if isinstance(func, ast.Name) and func.id == "str" else None

    def constant(self, name: str) -> str | None:
        """The value of a name every binding of which gives the same known string."""
        if name in self._constants:
            return self._constants[name]
        if name in self._resolving:
            return None
        self._resolving.add(name)
        values = {None if v is None else self.text(v) for v in self._bindings.get(name, [None])}
        self._resolving.discard(name)
        self._constants[name] = values.pop() if len(values) == 1 else None
        return self._constants[name]

    def _value(self, node: ast.AST, used: list[ast.AST]) -> _Text | None:
        if isinstance(node, ast.Constant):
            return _Text(node.value, True) if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            text = self.constant(node.id)
            return None if text is None else _Text(text, True)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, used)
        if isinstance(node, ast.BinOp):
            return self._binop(node, used)
        if isinstance(node, ast.Call):
            return self._call(node, used)
        return None

    def _fstring(self, node: ast.JoinedStr, used: list[ast.AST]) -> _Text | None:
        known = _Text("", True)
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                plain = part.format_spec is None and part.conversion in (-1, ord("s"))
                known = known.then(self.value(part.value, used) if plain else None)
            else:
                known = known.then(self.value(part, used))
            if not known.complete:
                break
        return known if known.text else None

    def _binop(self, node: ast.BinOp, used: list[ast.AST]) -> _Text | None:
        if not isinstance(node.op, ast.Add | ast.Div | ast.Mod):
            return None
        left = self.value(node.left, used)
        if left is None:
            return None
        if isinstance(node.op, ast.Mod):
            return left.cut("%")
        right = self.value(node.right, used) if left.complete else None
        return left.then(right) if isinstance(node.op, ast.Add) else left.join(right)

    def _call(self, node: ast.Call, used: list[ast.AST]) -> _Text | None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("format", "joinpath"):
            receiver = self.value(func.value, used)
            if receiver is None or func.attr == "format":
                return None if receiver is None else receiver.cut("{")
            return self._join_all(receiver, node.args, used)
        kind = self.call_kind(func)
        if kind is None or not node.args or (kind == "str" and len(node.args) > 1):
            return None
        first = self.value(node.args[0], used)
        return None if first is None else self._join_all(first, node.args[1:], used)

    def _join_all(self, known: _Text, parts: list[ast.expr], used: list[ast.AST]) -> _Text:
        for part in parts:
            if not known.complete:
                break
            known = known.join(self.value(part, used))
        return known


# --- paths -----------------------------------------------------------------------------------


def _find_paths(tree: ast.Module, evaluator: _Evaluator) -> list[PathUse]:
    """Each outermost expression that builds or names a path under /opt/ml."""
    consumed: set[ast.AST] = set()
    found: list[PathUse] = []
    for node in ast.walk(tree):  # outer expressions come before their parts
        if node in consumed or not isinstance(node, ast.expr) or not _builds(node, evaluator):
            continue
        used: list[ast.AST] = []
        known = evaluator.value(node, used)
        path = _normalise(known.text) if known is not None else ""
        if known is not None and _is_ml_path(path):
            found.append(PathUse(path, node.lineno, known.complete))
            consumed.update(used)
        elif isinstance(node, ast.JoinedStr):
            consumed.update(node.values)  # literal middles of an f-string start no path
    return found


def _builds(node: ast.expr, evaluator: _Evaluator) -> bool:
    """A string literal or an expression that combines parts into a string or path."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Add | ast.Div | ast.Mod)
    if not isinstance(node, ast.Call):
        return False
    if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "joinpath"):
        return True
    return evaluator.call_kind(node.func) in ("join", "path") and len(node.args) > 1


def _normalise(text: str) -> str:
    collapsed = re.sub(r"/{2,}", "/", text)
    return collapsed.rstrip("/") or collapsed


def _is_ml_path(path: str) -> bool:
    return path == ML_ROOT or path.startswith(ML_ROOT + "/")


# --- environment -----------------------------------------------------------------------------


class _EnvScan:
    """Reads of ``os.environ`` and ``os.getenv``; any other use makes the scan partial."""

    def __init__(self, tree: ast.Module, names: Mapping[str, str], evaluator: _Evaluator) -> None:
        self._evaluator = evaluator
        self._parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }
        self.reads: list[EnvRead] = []
        self.dynamic = False
        for node in ast.walk(tree):
            qualname = _qualname(node, names) if isinstance(node, ast.expr) else None
            if qualname == _ENVIRON:
                self._environ_use(node)
            elif qualname == _GETENV:
                self._getenv_use(node)

    def _environ_use(self, node: ast.AST) -> None:
        parent = self._parents.get(node)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.ctx, ast.Load):
                self._read(parent.slice, parent, has_default=False, required=True)
        elif isinstance(parent, ast.Attribute):
            self._method_use(parent)
        elif isinstance(parent, ast.Compare) and _is_membership_test(parent, node):
            self._read(parent.left, parent, has_default=True, required=False)
        else:  # iterated, copied, passed on: the script may read any variable
            self.dynamic = True

    def _method_use(self, attribute: ast.Attribute) -> None:
        call = self._parents.get(attribute)
        if attribute.attr in _ENV_WRITE_METHODS:
            return
        if attribute.attr in _ENV_READ_METHODS and _calls(call, attribute):
            self._call_read(call, raises=attribute.attr == "pop")
        else:
            self.dynamic = True

    def _getenv_use(self, node: ast.AST) -> None:
        call = self._parents.get(node)
        if _calls(call, node):
            self._call_read(call, raises=False)
        else:
            self.dynamic = True

    def _call_read(self, call: ast.Call, *, raises: bool) -> None:
        """``get``/``getenv``/``setdefault``/``pop``: key first, then an optional default."""
        keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        key = call.args[0] if call.args else keywords.get("key")
        default = call.args[1] if len(call.args) > 1 else keywords.get("default")
        if key is None:
            self.dynamic = True
            return
        no_default = default is None or _is_none(default)
        self._read(key, call, has_default=not no_default, required=raises and default is None)

    def _read(self, key: ast.AST, at: ast.expr, *, has_default: bool, required: bool) -> None:
        name = self._evaluator.text(key)
        if name is None:
            self.dynamic = True
        else:
            self.reads.append(EnvRead(name, at.lineno, has_default, required))


def _calls(call: ast.AST | None, func: ast.AST) -> TypeGuard[ast.Call]:
    return isinstance(call, ast.Call) and call.func is func


def _is_membership_test(compare: ast.Compare, node: ast.AST) -> bool:
    """``key in os.environ`` or ``key not in os.environ``, not chained."""
    return (
        len(compare.ops) == 1
        and isinstance(compare.ops[0], ast.In | ast.NotIn)
        and compare.comparators[0] is node
    )


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


# --- command-line arguments ------------------------------------------------------------------


def _find_arguments(tree: ast.Module, evaluator: _Evaluator) -> list[ArgumentUse]:
    found: list[ArgumentUse] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
        ):
            use = _argument(node, evaluator)
            if use is not None:
                found.append(use)
    return found


def _argument(call: ast.Call, evaluator: _Evaluator) -> ArgumentUse | None:
    """One ``add_argument`` call as argparse reads it; None unless it starts with a literal."""
    flags: list[str] = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            break
        flags.append(arg.value)
    if not flags:
        return None
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    positional = not flags[0].startswith("-")
    if positional:
        required = _nargs(keywords.get("nargs")) not in _OPTIONAL_NARGS
    else:
        required = _literal(keywords.get("required")) is True
    default = _default_text(keywords.get("default"), evaluator)
    return ArgumentUse(_argument_name(flags), call.lineno, required, default, positional)


def _argument_name(flags: list[str]) -> str:
    """The first long option, else the first short one, else the positional name."""
    long = [flag for flag in flags if flag.startswith("--")]
    short = [flag for flag in flags if flag.startswith("-")]
    return (long or short or flags)[0].lstrip("-")


def _nargs(node: ast.AST | None) -> object:
    """``nargs`` as a literal, or the name of an ``argparse`` constant such as ``OPTIONAL``."""
    return node.attr if isinstance(node, ast.Attribute) else _literal(node)


def _literal(node: ast.AST | None) -> object:
    """The value of a literal expression; None when absent or not a literal."""
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _default_text(node: ast.AST | None, evaluator: _Evaluator) -> str | None:
    value = _literal(node)
    if value is None and node is not None:
        value = evaluator.text(node)  # a constant name or a path built from constants
    return None if value is None else str(value)
