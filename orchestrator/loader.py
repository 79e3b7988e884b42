"""Load a pipeline from a Python or YAML file; every mistake becomes an InputError."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import yaml

from .dag import PipelineDAG
from .errors import InputError
from .pipeline import InvalidStep, Pipeline, Step, build_step

PYTHON_SUFFIXES = {".py"}
YAML_SUFFIXES = {".yaml", ".yml"}
YAML_TOP_LEVEL = {"name", "steps"}


def load_pipeline(path: Path) -> Pipeline:
    """Read ``path`` (``.py`` or ``.yaml``) and return the pipeline it defines."""
    if not path.is_file():
        raise InputError("no such file", file=path)
    suffix = path.suffix.lower()
    if suffix in PYTHON_SUFFIXES:
        return _load_python(path)
    if suffix in YAML_SUFFIXES:
        return _load_yaml(path)
    raise InputError(f"unknown pipeline format '{suffix}'; allowed: .py, .yaml, .yml", file=path)


def _load_python(path: Path) -> Pipeline:
    source = path.read_text(encoding="utf-8")
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise InputError(f"syntax error: {exc.msg}", file=path, line=exc.lineno) from None
    namespace: dict[str, Any] = {"__file__": str(path.resolve()), "__name__": "__cit_pipeline__"}
    sys.path.insert(0, str(path.resolve().parent))
    try:
        exec(code, namespace)
    except InvalidStep as exc:
        raise InputError(
            exc.message, file=path, field=exc.field, line=_line_in(exc, path)
        ) from None
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise InputError(message, file=path, line=_line_in(exc, path)) from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    return _find_pipeline(namespace, path)


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
    except ValueError as exc:
        raise InputError(str(exc), file=path) from None


def _load_yaml(path: Path) -> Pipeline:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"YAML syntax error: {problem}", file=path, line=line) from None
    if not isinstance(data, dict):
        raise InputError("must be a mapping with 'name' and 'steps'", file=path)
    unknown = set(data) - YAML_TOP_LEVEL
    if unknown:
        allowed = ", ".join(sorted(YAML_TOP_LEVEL))
        raise InputError(
            f"unknown field '{sorted(unknown)[0]}'; allowed: {allowed}",
            file=path,
            field=sorted(unknown)[0],
        )
    steps = data.get("steps")
    if not isinstance(steps, dict) or not steps:
        raise InputError("must map step names to step fields", file=path, field="steps")
    pipeline = Pipeline(str(data.get("name", path.stem)), base_dir=path.resolve().parent)
    for name, fields in steps.items():
        pipeline.add(_yaml_step(str(name), fields, pipeline.base_dir, path))
    return pipeline


def _yaml_step(name: str, fields: Any, base_dir: Path, path: Path) -> Step:
    where = f"steps.{name}"
    if not isinstance(fields, dict):
        raise InputError("must be a mapping of step fields", file=path, field=where)
    data = dict(fields)
    kind = data.pop("kind", None)
    if kind is None:
        raise InputError("missing; allowed: processing, training", file=path, field=f"{where}.kind")
    try:
        return build_step(name, kind, data, base_dir)
    except InvalidStep as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
