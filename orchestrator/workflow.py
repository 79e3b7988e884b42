"""The run as a short pipeline: load → validate → plan → execute. Each stage is testable alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .cleanup import sweep_orphans
from .engine import Engine
from .errors import ImageError
from .executor import execute
from .loader import load_pipeline
from .observer import RunObserver
from .pipeline import Pipeline
from .plan import RunPlan, plan_run
from .results import RunResult
from .rundir import create_run_dir, new_run_id
from .settings import RUNNER_IMAGE, RunSettings
from .validate import validate_pipeline

ImageBuilder = Callable[[str], None]


def load_and_validate(path: Path) -> Pipeline:
    pipeline = load_pipeline(path)
    validate_pipeline(pipeline, path)
    return pipeline


def required_images(pipeline: Pipeline, settings: RunSettings) -> list[str]:
    return sorted({step.image or settings.image for step in pipeline.steps.values()})


def ensure_images(images: list[str], engine: Engine, build_default: ImageBuilder | None) -> None:
    """Every image must be local; the default runner image is built when it is missing."""
    for image in images:
        if engine.image_id(image) is not None:
            continue
        if image == RUNNER_IMAGE and build_default is not None:
            build_default(image)
            continue
        raise ImageError(
            f"image '{image}' is not on the local engine; build it ('cit image build' for the "
            f"runner image) or load it ('docker load -i <file>')"
        )


def prepare_run(pipeline: Pipeline, path: Path, settings: RunSettings) -> RunPlan:
    """Plan first, so a pipeline that cannot be planned leaves no run directory behind."""
    run_id = new_run_id()
    runs_dir = settings.runs_dir.resolve()
    plan = plan_run(pipeline, path.resolve(), settings, run_id, runs_dir / run_id)
    create_run_dir(runs_dir, run_id)
    return plan


def bounded_by_engine(settings: RunSettings, engine: Engine) -> RunSettings:
    """Limits never above what the engine has (a VM or remote engine may have less)."""
    capacity = engine.capacity()
    if capacity is None:
        return settings
    cpus, memory = capacity
    return replace(
        settings,
        cpus_available=min(settings.cpus_available, cpus),
        memory_available=min(settings.memory_available, memory or settings.memory_available),
    )


def run_pipeline(
    path: str | Path,
    engine: Engine,
    *,
    settings: RunSettings | None = None,
    observer: RunObserver | None = None,
    build_default: ImageBuilder | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run the pipeline in ``path`` and return its result: the Python API of ``cit run``."""
    file = Path(path)
    return run_loaded(
        load_and_validate(file),
        file,
        engine,
        settings=settings,
        observer=observer,
        build_default=build_default,
        cancel=cancel,
    )


def run_loaded(
    pipeline: Pipeline,
    file: Path,
    engine: Engine,
    *,
    settings: RunSettings | None = None,
    observer: RunObserver | None = None,
    build_default: ImageBuilder | None = None,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run an already validated pipeline: images, leftover sweep, plan, execute."""
    settings = bounded_by_engine(settings or RunSettings(), engine)
    ensure_images(required_images(pipeline, settings), engine, build_default)
    sweep_orphans(engine)
    plan = prepare_run(pipeline, file, settings)
    try:
        return execute(
            plan, engine, max_workers=settings.max_workers, observer=observer, cancel=cancel
        )
    finally:
        engine.flush()
