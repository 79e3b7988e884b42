"""Checks that a loaded pipeline can run: names, references, cycles, files, mounts, instances.

S3 inputs are checked like local ones but for existence (their URIs were parsed when the step
was built): fetching them (``workflow.fetch_inputs``) finds out what is there."""

from __future__ import annotations

import difflib
import stat
from collections.abc import Sequence
from pathlib import Path

from ..errors import PipelineError
from .expectations import TRAINING_FILES, Expectation, ExpectedMetric, ExpectedQuality
from .graph import find_cycle
from .model import MODEL_OUTPUT, LocalSource, Pipeline, Step, StepKind, StepOutput
from .resources import GPU_FAMILY, INSTANCE_GPUS, INSTANCE_TYPES
from .sagemaker_paths import (
    MODEL_DIR,
    OUTPUT_DIR,
    PROCESSING_CODE,
    PROCESSING_CONFIG,
    TRAINING_CODE,
    TRAINING_CONFIG,
    input_destination,
    output_destination,
)

PROCESSING_ROOT = "/opt/ml/processing/"
SPECIAL_FILE_KINDS = (
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def validate_pipeline(pipeline: Pipeline, file: Path) -> None:
    """Raise ``PipelineError`` naming the file and field of the first problem found."""
    if not pipeline.steps:
        raise PipelineError("defines no steps", file=file)
    _check_distinct_names(pipeline, file)
    for step in pipeline.steps.values():
        _check_references(step, pipeline, file)
        _check_property_files(step, file)
        _check_condition(step, pipeline, file)
        if not step.kind.runs_container:
            continue
        _check_code(step, file)
        _check_local_inputs(step, file)
        _check_destinations(step, file)
        _check_mount_points(step, file)
        _check_instance(step, file)
    cycle = find_cycle(pipeline.steps)
    if cycle:
        raise PipelineError(f"the steps form a cycle: {' -> '.join(cycle)}", file=file)
    check_expectations(pipeline.expectations, pipeline, file)


def _check_distinct_names(pipeline: Pipeline, file: Path) -> None:
    """Names equal but for case or '_'/'-' become the same container and job name."""
    seen: dict[str, str] = {}
    for name in pipeline.steps:
        other = seen.setdefault(name.lower().replace("_", "-"), name)
        if other != name:
            raise PipelineError(
                f"step names '{other}' and '{name}' differ only in case or '_' versus '-', "
                "which gives them the same job and folder names; rename one",
                file=file,
                field=f"steps.{name}",
            )


def _file_kind(path: Path, file: Path, field: str) -> str | None:
    """'file', 'folder' or what else is at ``path``; None when nothing is."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise PipelineError(f"cannot read {path}: {exc.strerror}", file=file, field=field) from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return next((kind for test, kind in SPECIAL_FILE_KINDS if test(mode)), "a special file")


def _check_code(step: Step, file: Path) -> None:
    where = f"steps.{step.name}"
    if step.source_dir is not None:
        field = f"{where}.source_dir"
        kind = _file_kind(step.source_dir, file, field)
        if kind is None:
            raise PipelineError(f"no such folder: {step.source_dir}", file=file, field=field)
        if kind != "folder":
            raise PipelineError(f"is not a folder: {step.source_dir}", file=file, field=field)
    if step.script is None:
        return
    field = f"{where}.script"
    kind = _file_kind(step.script, file, field)
    if kind is None:
        raise PipelineError(f"no such script: {step.script}", file=file, field=field)
    if kind == "folder":
        raise PipelineError(f"is a folder, not a file: {step.script}", file=file, field=field)
    if kind != "file":
        raise PipelineError(f"is not a regular file: {step.script}", file=file, field=field)
    if step.source_dir is not None and not step.script.is_relative_to(step.source_dir):
        raise PipelineError(
            f"the script must be inside source_dir {step.source_dir}", file=file, field=field
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
        if ref.path is not None and producer.kind is StepKind.TRAINING:
            raise PipelineError(
                f"takes folder '{ref.path}' of '{ref.step}' output '{ref.output}' ({ref}), but "
                f"a training step's '{ref.output}' is one archive "
                f"({'model.tar.gz' if ref.output == MODEL_OUTPUT else 'output.tar.gz'}), not a "
                f"folder; take the whole output ({ref.step}.{ref.output}) and unpack it in the "
                "script",
                file=file,
                field=f"{field}.path",
            )
    for name in step.depends_on:
        if name not in pipeline.steps:
            raise PipelineError(
                f"refers to unknown step '{name}'", file=file, field=f"{where}.depends_on"
            )


def _check_property_files(step: Step, file: Path) -> None:
    for name, prop in step.property_files.items():
        if prop.output not in step.outputs:
            outputs = ", ".join(step.outputs) or "none"
            raise PipelineError(
                f"is written to output '{prop.output}', which the step does not have; "
                f"its outputs: {outputs}",
                file=file,
                field=f"steps.{step.name}.property_files.{name}.output",
            )


def _check_condition(step: Step, pipeline: Pipeline, file: Path) -> None:
    """Branches name other steps, each in one branch of one condition; every value read
    names a property file of a processing step."""
    where = f"steps.{step.name}"
    for branch, names in (("if_steps", step.if_steps), ("else_steps", step.else_steps)):
        for name in names:
            field = f"{where}.{branch}"
            if name not in pipeline.steps:
                raise PipelineError(_no_step(name, pipeline), file=file, field=field)
            if name == step.name:
                raise PipelineError(
                    "a condition step cannot be in its own branch", file=file, field=field
                )
            holders = [s.name for s in pipeline.steps.values() if s.branch_of(name)]
            if len(holders) > 1 or (branch == "else_steps" and name in step.if_steps):
                raise PipelineError(
                    f"step '{name}' is in more than one branch ({', '.join(holders)}); a step "
                    "belongs to one branch of one condition",
                    file=file,
                    field=field,
                )
    for index, condition in enumerate(step.conditions):
        for read in condition.property_reads():
            problem = _property_read_problem(read.step, read.property_file, pipeline)
            if problem:
                raise PipelineError(problem, file=file, field=f"{where}.conditions.{index}")


def _property_read_problem(name: str, property_file: str, pipeline: Pipeline) -> str | None:
    producer = pipeline.steps.get(name)
    if producer is None:
        return f"reads a property file of {_no_step(name, pipeline)}"
    if property_file not in producer.property_files:
        files = ", ".join(producer.property_files) or "none"
        return (
            f"reads property file '{property_file}' of step '{name}', which has no such "
            f"property file; its property files: {files}"
        )
    return None


def _check_local_inputs(step: Step, file: Path) -> None:
    for channel, item in step.inputs.items():
        if not isinstance(item.source, LocalSource):
            continue
        path, field = item.source.path, f"steps.{step.name}.inputs.{channel}"
        kind = _file_kind(path, file, field)
        if kind is None:
            raise PipelineError(f"no such file or folder: {path}", file=file, field=field)
        if kind not in ("file", "folder"):
            raise PipelineError(
                f"{path} is {kind}; an input must be a regular file or a folder",
                file=file,
                field=field,
            )


def _check_destinations(step: Step, file: Path) -> None:
    """SageMaker's rules for where inputs and outputs may be mounted."""
    where = f"steps.{step.name}"
    if step.kind is StepKind.TRAINING:
        for channel, item in step.inputs.items():
            if item.destination is not None:
                raise PipelineError(
                    f"training channels are always mounted at /opt/ml/input/data/{channel}; "
                    "remove 'destination'",
                    file=file,
                    field=f"{where}.inputs.{channel}.destination",
                )
        return
    explicit = [(f"inputs.{c}", i.destination) for c, i in step.inputs.items()]
    explicit += [(f"outputs.{o}", spec.destination) for o, spec in step.outputs.items()]
    for field, destination in explicit:
        if destination is not None and not destination.startswith(PROCESSING_ROOT):
            raise PipelineError(
                f"a processing job mounts its inputs and outputs under {PROCESSING_ROOT}; "
                f"got {destination}",
                file=file,
                field=f"{where}.{field}.destination",
            )


def _reserved_mounts(step: Step) -> list[tuple[str, str]]:
    """(container path, what cit mounts there) for the mounts every job of this kind gets."""
    if step.kind is StepKind.PROCESSING:
        code = [(PROCESSING_CODE, "the step's code")] if step.script else []
        return [*code, (PROCESSING_CONFIG, "the job's config"), (OUTPUT_DIR, "the job's output")]
    code = [(TRAINING_CODE, "the step's code")] if step.script else []
    return [
        *code,
        (TRAINING_CONFIG, "the job's config"),
        (MODEL_DIR, "the model folder"),
        (OUTPUT_DIR, "the job's output"),
    ]


def _check_mount_points(step: Step, file: Path) -> None:
    """No two mounts of a container at the same path, or one inside another."""
    seen = _reserved_mounts(step)
    targets = [(f"inputs.{c}", input_destination(step, c)) for c in step.inputs]
    if step.kind is StepKind.PROCESSING:
        targets += [(f"outputs.{o}", output_destination(step, o)) for o in step.outputs]
    for field, target in targets:
        target = target.rstrip("/")
        for other, user in seen:
            clash = _mount_clash(target, other, user)
            if clash:
                raise PipelineError(clash, file=file, field=f"steps.{step.name}.{field}")
        seen.append((target, field))


def _mount_clash(target: str, other: str, user: str) -> str | None:
    if target == other:
        return f"mounts at {target}, which {user} already uses"
    if target.startswith(other + "/"):
        return f"mounts at {target}, inside {other} where {user} is mounted; mounts cannot nest"
    if other.startswith(target + "/"):
        return f"mounts at {target}, around {other} where {user} is mounted; mounts cannot nest"
    return None


def _check_instance(step: Step, file: Path) -> None:
    """An unknown type gives no limits, so it needs both cpus and memory (and gpus when it is
    a GPU type); only a training step runs on several instances."""
    instance = step.instance
    field = f"steps.{step.name}.instance"
    if instance.count > 1 and step.kind is not StepKind.TRAINING:
        raise PipelineError(
            f"count {instance.count}: cit runs several instances for training steps only; "
            f"a {step.kind.value} step runs on 1",
            file=file,
            field=f"{field}.count",
        )
    unknown_gpu_type = GPU_FAMILY.match(instance.type) and instance.type not in INSTANCE_GPUS
    if unknown_gpu_type and instance.gpus is None:
        raise PipelineError(
            f"'{instance.type}' is a GPU type cit has no GPU count for; set instance.gpus "
            f"(known GPU types: {', '.join(list(INSTANCE_GPUS)[:4])}, …)",
            file=file,
            field=f"{field}.gpus",
        )
    if instance.type in INSTANCE_TYPES or (instance.cpus is not None and instance.memory):
        return
    close = difflib.get_close_matches(instance.type, INSTANCE_TYPES, n=3)
    known = close or list(INSTANCE_TYPES)[:6]
    hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(known)}, …"
    raise PipelineError(
        f"unknown instance type '{instance.type}'; {hint} "
        "(another type needs instance.cpus and instance.memory)",
        file=file,
        field=f"{field}.type",
    )


def check_expectations(
    expectations: Sequence[Expectation], pipeline: Pipeline, file: Path | str | None
) -> None:
    """Every expectation names a step of ``pipeline``, an output it has, datasets that exist,
    and nothing a training step cannot show; else a ``PipelineError`` naming ``file`` and the
    field."""
    for expectation in expectations:
        problem = _problem(expectation, pipeline)
        if problem is not None:
            field, message = problem
            raise PipelineError(message, file=file, field=field)


def _problem(expectation: Expectation, pipeline: Pipeline) -> tuple[str, str] | None:
    step = pipeline.steps.get(expectation.step)
    if step is None:
        return expectation.at, _no_step(expectation.step, pipeline)
    training = step.kind == "training"
    if isinstance(expectation, ExpectedMetric) and training:
        return f"{expectation.at}.metrics", TRAINING_FILES
    if not isinstance(expectation, ExpectedQuality):
        return None
    where = f"{expectation.at}.data_quality.{expectation.output}"
    if training:
        return f"{expectation.at}.data_quality", TRAINING_FILES
    if expectation.output not in step.output_names:
        outputs = ", ".join(step.output_names) or "none"
        return where, f"'{step.name}' has no output '{expectation.output}'; its outputs: {outputs}"
    for key, reference in expectation.check.datasets():
        message = _dataset_problem(reference, pipeline, expectation.base_dir)
        if message is not None:
            return f"{expectation.field}.{key}", message
    return None


def _no_step(name: str, pipeline: Pipeline) -> str:
    close = difflib.get_close_matches(name, list(pipeline.steps), n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return f"no step named '{name}'{guess}; steps: {', '.join(pipeline.steps)}"


def _dataset_problem(reference: str, pipeline: Pipeline, base_dir: Path) -> str | None:
    target = output_reference(reference, pipeline)
    if target is not None:
        step = pipeline.steps[target[0]]
        if step.kind == "training":
            return f"'{reference}' is a training step's archive, not a table; {TRAINING_FILES}"
        if target[1] not in step.output_names:
            outputs = ", ".join(step.output_names) or "none"
            return f"'{step.name}' has no output '{target[1]}'; its outputs: {outputs}"
        return None
    path = (base_dir / reference).expanduser()
    if path.exists():
        return None
    return (
        f"'{reference}' is neither step.output of a step ({', '.join(pipeline.steps)}) nor a "
        f"file or folder: no such file or folder {path}"
    )


def output_reference(reference: str, pipeline: Pipeline) -> tuple[str, str] | None:
    """(step, output) of a dataset written ``step.output`` whose step is in ``pipeline``."""
    step, dot, output = reference.partition(".")
    return (step, output) if dot and step in pipeline.steps else None
