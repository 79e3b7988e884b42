"""Checks that a loaded pipeline can run: references, cycles, files, mount points."""

from __future__ import annotations

from pathlib import Path

from .errors import PipelineError
from .graph import find_cycle
from .pipeline import LocalSource, Pipeline, Step, StepKind, StepOutput
from .sagemaker_contract import input_destination, output_destination


def validate_pipeline(pipeline: Pipeline, file: Path) -> None:
    """Raise ``PipelineError`` naming the file and field of the first problem found."""
    if not pipeline.steps:
        raise PipelineError("defines no steps", file=file)
    for step in pipeline.steps.values():
        _check_code(step, file)
        _check_references(step, pipeline, file)
        _check_local_inputs(step, file)
        _check_mount_points(step, file)
    cycle = find_cycle(pipeline.steps)
    if cycle:
        raise PipelineError(f"the steps form a cycle: {' -> '.join(cycle)}", file=file)


def _check_code(step: Step, file: Path) -> None:
    where = f"steps.{step.name}"
    if step.source_dir is not None and not step.source_dir.is_dir():
        raise PipelineError(
            f"no such folder: {step.source_dir}", file=file, field=f"{where}.source_dir"
        )
    if step.script is None:
        return
    if not step.script.is_file():
        raise PipelineError(f"no such script: {step.script}", file=file, field=f"{where}.script")
    if step.source_dir is not None and not step.script.is_relative_to(step.source_dir):
        raise PipelineError(
            f"the script must be inside source_dir {step.source_dir}",
            file=file,
            field=f"{where}.script",
        )


def _check_references(step: Step, pipeline: Pipeline, file: Path) -> None:
    where = f"steps.{step.name}"
    for channel, item in step.inputs.items():
        if not isinstance(item.source, StepOutput):
            continue
        ref = item.source
        field = f"{where}.inputs.{channel}"
        producer = pipeline.steps.get(ref.step)
        if producer is None:
            known = ", ".join(pipeline.steps)
            raise PipelineError(
                f"refers to unknown step '{ref.step}'; steps: {known}", file=file, field=field
            )
        if ref.output not in producer.output_names:
            outputs = ", ".join(producer.output_names) or "none"
            raise PipelineError(
                f"step '{ref.step}' has no output '{ref.output}'; its outputs: {outputs}",
                file=file,
                field=field,
            )
    for name in step.depends_on:
        if name not in pipeline.steps:
            raise PipelineError(
                f"refers to unknown step '{name}'", file=file, field=f"{where}.depends_on"
            )


def _check_local_inputs(step: Step, file: Path) -> None:
    for channel, item in step.inputs.items():
        if isinstance(item.source, LocalSource) and not item.source.path.exists():
            raise PipelineError(
                f"no such file or folder: {item.source.path}",
                file=file,
                field=f"steps.{step.name}.inputs.{channel}",
            )


def _check_mount_points(step: Step, file: Path) -> None:
    seen: dict[str, str] = {}
    targets = [(f"inputs.{c}", input_destination(step, c)) for c in step.inputs]
    if step.kind is StepKind.PROCESSING:
        targets += [(f"outputs.{o}", output_destination(step, o)) for o in step.outputs]
    for field, target in targets:
        clash = seen.get(target.rstrip("/"))
        if clash:
            raise PipelineError(
                f"mounts at {target}, which {clash} already uses",
                file=file,
                field=f"steps.{step.name}.{field}",
            )
        seen[target.rstrip("/")] = field
