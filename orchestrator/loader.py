"""Load a pipeline from a Python or YAML file; every mistake becomes an InputError."""

from __future__ import annotations

import io
import stat
import sys
import tokenize
import traceback
from pathlib import Path
from typing import Any

import yaml

from .dag import PipelineDAG
from .errors import CitError, InputError
from .pipeline import InvalidStep, Pipeline, Step, build_step

PYTHON_SUFFIXES = {".py"}
YAML_SUFFIXES = {".yaml", ".yml"}
YAML_TOP_LEVEL = {"name", "steps"}
YAML_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_pipeline(path: Path) -> Pipeline:
    """Read ``path`` (``.py`` or ``.yaml``) and return the pipeline it defines."""
    _require_file(path)
    suffix = path.suffix.lower()
    if suffix in PYTHON_SUFFIXES:
        return _load_python(path)
    if suffix in YAML_SUFFIXES:
        return _load_yaml(path)
    raise InputError(f"unknown pipeline format '{suffix}'; allowed: .py, .yaml, .yml", file=path)


def _require_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InputError("no such file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", file=path) from None
    if stat.S_ISDIR(mode):
        raise InputError("is a folder, not a file; give the pipeline file in it", file=path)
    if not stat.S_ISREG(mode):
        raise InputError("is not a regular file", file=path)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", file=path) from None


def _undecodable(exc: UnicodeDecodeError, path: Path, advice: str) -> InputError:
    line = exc.object[: exc.start].count(b"\n") + 1
    encoding = "UTF-8" if exc.encoding.lower().startswith("utf-8") else exc.encoding
    byte = exc.object[exc.start]
    return InputError(
        f"is not valid {encoding} text (byte 0x{byte:02x}); {advice}", file=path, line=line
    )


# Python ---------------------------------------------------------------------------------


def _load_python(path: Path) -> Pipeline:
    code = _compile_python(path)
    namespace: dict[str, Any] = {"__file__": str(path.resolve()), "__name__": "__cit_pipeline__"}
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        exec(code, namespace)
    except CitError:
        raise
    except InvalidStep as exc:
        raise InputError(
            exc.message, file=path, field=exc.field, line=_line_in(exc, path)
        ) from None
    except SystemExit as exc:
        message = f"called {_exit_call(exc)} while defining the pipeline"
        raise InputError(message, file=path, line=_line_in(exc, path)) from None
    except Exception as exc:
        message = ": ".join(filter(None, [type(exc).__name__, _one_line(str(exc))]))
        raise InputError(message, file=path, line=_line_in(exc, path)) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return _find_pipeline(namespace, path)


def _compile_python(path: Path) -> Any:
    """Compile from bytes, so a BOM or a coding line decides the encoding as Python does."""
    data = _read_bytes(path)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
        return compile(data, str(path.resolve()), "exec")
    except UnicodeDecodeError as exc:
        advice = "save it as UTF-8 or declare its encoding in a '# -*- coding: NAME -*-' line"
        raise _undecodable(exc, path, advice) from None
    except SyntaxError as exc:
        raise InputError(f"syntax error: {exc.msg}", file=path, line=exc.lineno) from None


def _exit_call(exc: SystemExit) -> str:
    return "sys.exit()" if exc.code is None else f"sys.exit({exc.code!r})"


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The last line of the user's pipeline file on the exception's traceback."""
    target = str(path.resolve())
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == target]
    return lines[-1] if lines else None


def _find_pipeline(namespace: dict[str, Any], path: Path) -> Pipeline:
    named = namespace.get("pipeline", namespace.get("dag"))
    candidates = (
        [named]
        if named is not None
        else [v for v in namespace.values() if isinstance(v, Pipeline | PipelineDAG)]
    )
    if len(candidates) != 1 or not isinstance(candidates[0], Pipeline | PipelineDAG):
        raise InputError(
            "defines no pipeline; assign a Pipeline or PipelineDAG to a variable named 'pipeline'",
            file=path,
        )
    found = candidates[0]
    if isinstance(found, PipelineDAG):
        return _dag_to_pipeline(found, path)
    return found


def _dag_to_pipeline(dag: PipelineDAG, path: Path) -> Pipeline:
    try:
        return dag.to_pipeline()
    except InvalidStep as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
    except (TypeError, ValueError) as exc:
        raise InputError(_one_line(str(exc)), file=path) from None


# YAML -----------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping."""

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


def _load_yaml(path: Path) -> Pipeline:
    data = _parse_yaml(path)
    if not isinstance(data, dict):
        raise InputError("must be a mapping with 'name' and 'steps'", file=path)
    unknown = sorted(str(key) for key in set(data) - YAML_TOP_LEVEL)
    if unknown:
        allowed = ", ".join(sorted(YAML_TOP_LEVEL))
        raise InputError(
            f"unknown field '{unknown[0]}'; allowed: {allowed}", file=path, field=unknown[0]
        )
    steps = data.get("steps")
    if not isinstance(steps, dict) or not steps:
        raise InputError("must map step names to step fields", file=path, field="steps")
    pipeline = Pipeline(str(data.get("name", path.stem)), base_dir=path.resolve().parent)
    for name, fields in steps.items():
        pipeline.add(_yaml_step(str(name), fields, pipeline.base_dir, path))
    return pipeline


def _parse_yaml(path: Path) -> Any:
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _undecodable(exc, path, "save the YAML file as UTF-8") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None


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
    if isinstance(exc, yaml.constructor.ConstructorError):
        return InputError(problem, file=path, line=line)
    return InputError(f"YAML syntax error: {problem}", file=path, line=line)


def _yaml_step(name: str, fields: Any, base_dir: Path, path: Path) -> Step:
    where = f"steps.{name}"
    if not isinstance(fields, dict):
        raise InputError("must be a mapping of step fields", file=path, field=where)
    data = dict(fields)
    kind = data.pop("kind", None)
    if kind is None:
        raise InputError("missing; allowed: processing, training", file=path, field=where + ".kind")
    try:
        return build_step(name, kind, data, base_dir)
    except InvalidStep as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
