"""Planning: every step's host folders, resolved inputs and container spec, before anything runs."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..container_files import is_real_dir_inside
from ..engines.spec import (
    KEEP_LABEL,
    KEEP_ON_FAILURE,
    MANAGED_LABEL,
    OWNER_LABEL,
    PIPELINE_LABEL,
    RUN_LABEL,
    STEP_LABEL,
)
from ..errors import PipelineError
from ..pipeline.graph import topological_order
from ..pipeline.model import LocalSource, Pipeline, S3Source, SkippedStep, Step, StepOutput
from ..pipeline.resources import instance_gpus, limits
from ..pipeline.wiring import Wire, missing_sub_path, wire_of
from .debug_port import with_debug_port
from .gpus import cpu_only_note
from .sagemaker_job import JobContext, JobSpec, StepPaths, translate
from .secrets import secret_env
from .settings import DEFAULT_LOG_LIMIT_BYTES, RunSettings


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    paths: StepPaths
    job: JobSpec | None
    """None for a step that runs no container (a condition or fail step)."""
    log_limit_bytes: int = DEFAULT_LOG_LIMIT_BYTES
    """How much of the container's output its log.txt keeps."""
    secret_values: tuple[str, ...] = field(default=(), repr=False)
    """Masked in what the step's container prints: every secret of the run (one step can hand
    its secret to the next through data)."""
    notes: tuple[str, ...] = ()
    """Lines cit writes at the top of the step's log (e.g. that it runs without its GPUs)."""
    sub_paths: tuple[tuple[Wire, Path], ...] = ()
    """Inputs that take a folder inside another step's output: the wire and that output's
    folder, checked once the producer ran (``missing_sub_paths``)."""

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def container_job(self) -> JobSpec:
        """The job of a step that runs a container."""
        if self.job is None:
            raise ValueError(f"step '{self.name}' runs no container")
        return self.job


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    run_dir: Path
    pipeline_name: str
    pipeline_file: Path
    steps: dict[str, PlannedStep]
    sources: dict[str, str] = field(default_factory=dict)
    """``Step.channel`` -> the URI of each input fetched before the run (its mount is the
    local copy)."""
    skipped: tuple[SkippedStep, ...] = ()
    """Steps of the definition left out of the run (``Pipeline.skipped``)."""

    @property
    def images(self) -> set[str]:
        return {p.job.container.image for p in self.steps.values() if p.job is not None}


def owner_label() -> str:
    """Identifies this cit process, so a later one can tell a killed run's containers."""
    return f"{socket.gethostname()}:{os.getpid()}"


def plan_run(
    pipeline: Pipeline, pipeline_file: Path, settings: RunSettings, run_id: str, run_dir: Path
) -> RunPlan:
    steps: dict[str, PlannedStep] = {}
    owner = owner_label()
    for name in topological_order(pipeline.steps):
        step = pipeline.steps[name]
        paths = StepPaths(run_dir / "steps" / name)
        job = None
        if step.kind.runs_container:
            inputs = resolve_inputs(step, run_dir)
            labels = run_labels(run_id, pipeline.name, name, owner, settings.keep_on_failure)
            ctx = _context(step, labels, settings, run_id, pipeline_file)
            job = translate(step, inputs, paths, ctx)
            job = with_debug_port(job, settings.debug_ports.get(name))
        steps[name] = PlannedStep(
            step,
            paths,
            job,
            log_limit_bytes=settings.log_limit_bytes,
            secret_values=tuple(settings.secrets.values()),
            notes=step_notes(step, settings),
            sub_paths=sub_path_inputs(step, run_dir),
        )
    return RunPlan(
        run_id,
        run_dir,
        pipeline.name,
        pipeline_file,
        steps,
        fetched_sources(pipeline),
        tuple(pipeline.skipped),
    )


def fetched_sources(pipeline: Pipeline) -> dict[str, str]:
    """``Step.channel`` -> URI of every input that is a local copy of fetched data."""
    return {
        f"{step.name}.{channel}": item.source.origin
        for step in pipeline.steps.values()
        for channel, item in step.inputs.items()
        if isinstance(item.source, LocalSource) and item.source.origin is not None
    }


def resolve_inputs(step: Step, run_dir: Path) -> dict[str, Path]:
    """Host path of every input channel: a local file or folder, or the producer's output."""
    resolved: dict[str, Path] = {}
    for channel, item in step.inputs.items():
        source = item.source
        if isinstance(source, LocalSource):
            resolved[channel] = source.path.resolve()
        elif isinstance(source, S3Source):
            raise PipelineError(
                f"{source.uri} is not fetched yet; fetch S3 inputs before planning "
                "(workflow.fetch_inputs)",
                field=f"steps.{step.name}.inputs.{channel}",
            )
        else:
            folder = StepPaths(run_dir / "steps" / source.step).output(source.output)
            resolved[channel] = folder / source.path if source.path else folder
    return resolved


def sub_path_inputs(step: Step, run_dir: Path) -> tuple[tuple[Wire, Path], ...]:
    """Each input taking a folder inside another step's output, with that output's folder."""
    return tuple(
        (
            wire_of(step.name, channel, item.source),
            StepPaths(run_dir / "steps" / item.source.step).output(item.source.output),
        )
        for channel, item in step.inputs.items()
        if isinstance(item.source, StepOutput) and item.source.path
    )


def missing_sub_paths(planned: PlannedStep) -> str | None:
    """Why the step cannot start: a folder one of its inputs takes from another step's output
    is not there. The producer (a container) wrote it, so each part of the path must be a real
    folder: a link is never followed, lest the mount show the host what it points at."""
    problems = [
        missing_sub_path(wire, _holds(output))
        for wire, output in planned.sub_paths
        if not is_real_dir_inside(output, wire.path or "")
    ]
    return "; ".join(problems) or None


def _holds(output: Path) -> list[str]:
    """The top of an output folder, links left unfollowed: 'test/', 'a.csv', 'x (a link)'."""
    try:
        with os.scandir(output) as entries:
            found = [
                f"{e.name}/"
                if e.is_dir(follow_symlinks=False)
                else f"{e.name} (a link, not followed)"
                if e.is_symlink()
                else e.name
                for e in entries
            ]
    except OSError:
        return []
    return sorted(found)


def run_labels(
    run_id: str, pipeline_name: str, step_name: str, owner: str, keep: bool = False
) -> Mapping[str, str]:
    labels = {
        MANAGED_LABEL: "true",
        RUN_LABEL: run_id,
        STEP_LABEL: step_name,
        PIPELINE_LABEL: pipeline_name,
        OWNER_LABEL: owner,
    }
    return {**labels, KEEP_LABEL: KEEP_ON_FAILURE} if keep else labels


def _context(
    step: Step, labels: Mapping[str, str], settings: RunSettings, run_id: str, file: Path
) -> JobContext:
    cpus, memory = limits(step.instance, settings.cpus_available, settings.memory_available)
    return JobContext(
        run_id=run_id,
        image=step.image or settings.image,
        labels=labels,
        cpus=cpus,
        memory_bytes=memory,
        pids_limit=settings.pids_limit,
        user=settings.user,
        region=settings.region,
        secrets=_secrets(step, settings, file),
        wheels=settings.step_wheels.get(step.name),
        gpus=0 if settings.cpu_only else instance_gpus(step.instance),
    )


def _secrets(step: Step, settings: RunSettings, file: Path) -> dict[str, str]:
    """The step's secrets; none for a step taken from an earlier run, which starts nothing
    (the host variables they came from may be gone)."""
    if step.name in settings.taken_steps:
        return {}
    return secret_env(step, settings.secrets, file)


def step_notes(step: Step, settings: RunSettings) -> tuple[str, ...]:
    """What the step's log says first about how cit runs it."""
    note = cpu_only_note(step) if settings.cpu_only and step.kind.runs_container else None
    return (note,) if note else ()
