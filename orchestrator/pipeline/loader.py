"""Load a pipeline from a Python or YAML file; every mistake becomes an InputError."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..data.contracts import ScriptContract, contract_error
from ..errors import CitError, InputError
from ..files import (
    YAML_SUFFIXES,
    FieldError,
    described,
    kind_of,
    quoted,
    read_data,
    reject_unknown,
    run_python,
)
from .expectations import InvalidExpectation, parse_expectations
from .model import InvalidStep, Pipeline, PipelineSource, Step, build_step, pipeline_name
from .sagemaker_definition import (
    DefinitionOptions,
    definition_pipeline,
    is_definition,
)
from .sagemaker_sdk import (
    imports_sagemaker,
    is_sdk_pipeline,
    offline_aws,
    sdk_definition,
    sdk_pipeline_name,
)

PYTHON_SUFFIXES = (".py",)
JSON_SUFFIXES = (".json",)
YAML_TOP_LEVEL = ("name", "steps", "expectations")


def load_pipeline(path: Path, *, definition: DefinitionOptions | None = None) -> Pipeline:
    """Read ``path`` (``.py``: cit's ``Pipeline`` or a SageMaker SDK pipeline; ``.yaml``; or
    ``.json``: a SageMaker pipeline definition) and return the pipeline it defines.
    ``definition`` (parameter values, code folder) is for a SageMaker pipeline only; given for
    another pipeline it is an ``InputError``."""
    _require_file(path)
    suffix = path.suffix.lower()
    if suffix in PYTHON_SUFFIXES and imports_sagemaker(path):
        pipeline = _load_sdk(path, definition)
    elif definition and suffix not in JSON_SUFFIXES:
        raise InputError(
            f"{definition.given()}: only for a SageMaker pipeline (a definition .json or an "
            "SDK .py file); this pipeline is in cit's own format, whose values are set in the "
            "file",
            file=path,
        )
    elif suffix in PYTHON_SUFFIXES:
        pipeline = _load_python(path)
    elif suffix in YAML_SUFFIXES:
        pipeline = _load_yaml(path)
    elif suffix in JSON_SUFFIXES:
        pipeline = _load_definition(path, definition)
    else:
        allowed = ".py, .yaml, .yml, .json (a SageMaker pipeline definition)"
        raise InputError(f"unknown pipeline format '{suffix}'; allowed: {allowed}", file=path)
    pipeline.source_file = path
    return pipeline


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


# Python ---------------------------------------------------------------------------------


def _load_python(path: Path) -> Pipeline:
    namespace = run_python(path, "__cit_pipeline__", "defining the pipeline", _explain)
    return _find_pipeline(namespace, path)


def _explain(exc: Exception) -> tuple[str, str | None] | None:
    """Step and contract mistakes name their field."""
    if isinstance(exc, InvalidStep | InvalidExpectation | FieldError):
        return exc.message, exc.field or None
    if isinstance(exc, ValidationError) and exc.title == ScriptContract.__name__:
        error = contract_error(exc)
        return error.message, error.field or None
    return None


def _find_pipeline(namespace: dict[str, Any], path: Path) -> Pipeline:
    named = namespace.get("pipeline", namespace.get("dag"))
    candidates = (
        [named] if named is not None else [v for v in namespace.values() if _is_pipeline(v)]
    )
    if len(candidates) != 1 or not _is_pipeline(candidates[0]):
        raise InputError(
            "defines no pipeline; assign a Pipeline or PipelineDAG to a variable named 'pipeline'",
            file=path,
        )
    found = candidates[0]
    if isinstance(found, Pipeline):
        return found
    return _dag_to_pipeline(found, path)


def _is_pipeline(value: object) -> bool:
    """A ``Pipeline``, or an object that becomes one (a ``PipelineDAG``; not its class)."""
    if isinstance(value, Pipeline):
        return True
    try:
        return isinstance(value, PipelineSource) and not isinstance(value, type)
    except Exception:  # a user's object whose __getattr__ raises is no pipeline source
        return False


def _dag_to_pipeline(dag: PipelineSource, path: Path) -> Pipeline:
    try:
        return dag.to_pipeline()
    except InvalidStep as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
    except FieldError as exc:
        raise InputError(exc.message, file=path, field=exc.field or None) from None
    except (KeyboardInterrupt, CitError):
        raise
    except BaseException as exc:  # the user's object: any exception is the file's mistake
        raise InputError(described(exc), file=path) from None


# SageMaker pipeline definition or SDK object --------------------------------------------


def _load_sdk(path: Path, options: DefinitionOptions | None) -> Pipeline:
    """A ``.py`` file that imports the SageMaker SDK: its SageMaker ``Pipeline`` read offline,
    or else the cit pipeline it defines (a file may use SDK helpers for a cit pipeline)."""
    with offline_aws(path) as uploads:
        namespace = run_python(path, "__cit_pipeline__", "defining the pipeline", _explain)
        found = _find_sdk_pipeline(namespace, path)
        data = sdk_definition(found, path) if found is not None else None
    if data is None:
        if options:
            raise InputError(
                f"{options.given()}: only for a SageMaker pipeline; this file defines a cit "
                "pipeline, whose values are set in the file",
                file=path,
            )
        return _find_pipeline(namespace, path)
    return definition_pipeline(
        data, path, options=options, name=sdk_pipeline_name(found), uploads=uploads
    )


def _find_sdk_pipeline(namespace: dict[str, Any], path: Path) -> Any:
    """The SageMaker ``Pipeline`` named ``pipeline``, or the only one the file defines; None
    when the file defines a cit pipeline instead."""
    named = namespace.get("pipeline")
    if is_sdk_pipeline(named):
        return named
    if _is_pipeline(named):
        return None
    found = list({id(v): v for v in namespace.values() if is_sdk_pipeline(v)}.values())
    if len(found) > 1:
        names = ", ".join(sorted(str(getattr(v, "name", "?")) for v in found))
        raise InputError(
            f"defines several SageMaker pipelines ({names}); assign the one to run to a "
            "variable named 'pipeline'",
            file=path,
        )
    return found[0] if found else None


def _load_definition(path: Path, options: DefinitionOptions | None) -> Pipeline:
    data = read_data(path)
    if not is_definition(data):
        raise InputError(
            "is not a SageMaker pipeline definition (a JSON object with 'Version' and "
            "'Steps', as Pipeline.definition() returns); write a pipeline in cit's own "
            "format as .py or .yaml",
            file=path,
        )
    return definition_pipeline(data, path, options=options)


# YAML -----------------------------------------------------------------------------------


def _load_yaml(path: Path) -> Pipeline:
    data = read_data(path)
    if not isinstance(data, dict):
        raise InputError("must be a mapping with 'name' and 'steps'", file=path)
    try:
        reject_unknown(data, YAML_TOP_LEVEL)
    except FieldError as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
    steps = data.get("steps")
    if not isinstance(steps, dict) or not steps:
        raise InputError("must map step names to step fields", file=path, field="steps")
    try:
        name = pipeline_name(data.get("name", path.stem))
        pipeline = Pipeline(name, base_dir=path.resolve().parent)
    except FieldError as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
    for name, fields in steps.items():
        if not isinstance(name, str):
            raise InputError(
                f"a step name is text, not {kind_of(name)} ({quoted(name)}); quote it in YAML",
                file=path,
                field="steps",
            )
        pipeline.add(_yaml_step(name, fields, pipeline.base_dir, path))
    try:
        pipeline.expectations = parse_expectations(data.get("expectations"), pipeline.base_dir)
    except FieldError as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
    return pipeline


def _yaml_step(name: str, fields: Any, base_dir: Path, path: Path) -> Step:
    where = f"steps.{name}"
    if not isinstance(fields, dict):
        raise InputError("must be a mapping of step fields", file=path, field=where)
    data = dict(fields)
    kind = data.pop("kind", None)
    if kind is None:
        raise InputError(
            "missing; allowed: processing, training, condition, fail",
            file=path,
            field=where + ".kind",
        )
    try:
        return build_step(name, kind, data, base_dir)
    except InvalidStep as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
