"""The run as a short pipeline: load → validate → fetch → plan → execute. Each stage is
testable alone."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..aws import s3
from ..engines.base import PROCESS_IMAGE_ID, Engine
from ..engines.cleanup import sweep_orphans
from ..engines.image_build import split_ref
from ..errors import CitError, ImageError, PullError, printable
from ..pipeline.loader import load_pipeline
from ..pipeline.model import LocalSource, Pipeline, S3Source, Step
from ..pipeline.sagemaker_definition import DefinitionOptions
from ..pipeline.sagemaker_images import IMAGE_MAP_OPTION
from ..pipeline.validate import validate_pipeline
from .debug_port import check_debug_ports
from .executor import execute
from .gpus import check_gpus
from .observer import RunObserver
from .plan import RunPlan, plan_run
from .results import RunResult
from .rundir import create_run_dir, new_run_id
from .secrets import with_host_secrets
from .settings import RUNNER_IMAGE, RunSettings
from .step_cache import step_cache
from .step_requirements import fetch_step_wheels

if TYPE_CHECKING:
    from ..aws.s3 import Download, S3Settings

ImageBuilder = Callable[[str], None]
S3Fetcher = Callable[[str], Path]
"""Fetches an S3 URI and returns the local folder or file that holds its data."""
FollowDownload = Callable[[str, s3.DownloadProgress], AbstractContextManager[object]]
"""Shows the download of a URI while it runs, from its progress (a console's live line)."""


def load_and_validate(path: Path, *, definition: DefinitionOptions | None = None) -> Pipeline:
    """The pipeline in ``path`` (a definition's parameters and code folder from
    ``definition``), checked."""
    pipeline = load_pipeline(path, definition=definition)
    validate_pipeline(pipeline, path)
    return pipeline


def required_images(steps: Iterable[Step], settings: RunSettings) -> list[str]:
    return sorted({step.image or settings.image for step in steps})


def steps_to_run(pipeline: Pipeline, settings: RunSettings) -> list[Step]:
    """The steps that will start something: not those whose outputs are taken from an earlier
    run (``--from``/``--only``), which need no image, GPU, wheel or secret of their own."""
    return [step for name, step in pipeline.steps.items() if name not in settings.taken_steps]


def ensure_images(
    images: list[str],
    engine: Engine,
    build_default: ImageBuilder | None,
    steps: Collection[Step] = (),
    source: Path | str | None = None,
) -> None:
    """Every image must be local: the default runner image is built when it is missing, any
    other image is pulled (a ``PullError`` saying why when it cannot be; the steps and
    ``--image-map`` named for an image a SageMaker definition gives; ``source`` and the field
    ``steps.NAME.image`` for an image a step names)."""
    for image in images:
        if engine.image_id(image) is not None:
            continue
        if image == RUNNER_IMAGE:
            if build_default is None:
                raise ImageError(
                    f"image '{image}' is not on the local engine; build it ('cit image build')"
                )
            build_default(image)
            continue
        imported = [s for s in steps if s.sagemaker_image is not None and s.image == image]
        if imported:
            _pull_definition_image(image, imported, engine)
        else:
            _pull_named(image, engine, steps, source)


def _pull_named(
    image: str, engine: Engine, steps: Collection[Step], source: Path | str | None
) -> None:
    """Pull an image; when it cannot be, the file and the step whose ``image:`` names it are
    named too."""
    try:
        engine.pull(image)
    except PullError as exc:
        naming = next((s.name for s in steps if s.image == image), None)
        if naming is not None and source is not None:
            exc.message = printable(f"{source}: steps.{naming}.image: {exc.message}")
        raise


def _pull_definition_image(image: str, steps: list[Step], engine: Engine) -> None:
    names = ", ".join(f"'{s.name}'" for s in steps)
    which = f"step {names} runs" if len(steps) == 1 else f"steps {names} run"
    mapped = [s.sagemaker_image for s in steps if s.sagemaker_image != image]
    if mapped:
        raise ImageError(
            f"image '{image}', which {IMAGE_MAP_OPTION} gives for {mapped[0]} ({which} on it), "
            "is not on the local engine; build or load it ('docker load -i <file>'), or "
            f"change the {IMAGE_MAP_OPTION}"
        )
    try:
        engine.pull(image)
    except PullError as exc:
        reason = f"no registry reachable ({exc.reason})" if exc.unreachable else exc.reason
        repository = split_ref(image)[0]
        raise ImageError(
            f"{which} on {image}, the image its SageMaker definition names: it is not on the "
            f"local engine and cannot be pulled ({reason}); map it to a local image with "
            f"{IMAGE_MAP_OPTION} {image}=IMAGE (or {IMAGE_MAP_OPTION} {repository}=IMAGE for "
            "every tag), or load it ('docker load -i FILE'); cit logs in to an ECR registry "
            "with the AWS credentials in use"
        ) from None


def s3_inputs(pipeline: Pipeline, steps: Collection[str] | None = None) -> list[str]:
    """The URIs of the S3 inputs of ``steps`` (default: every step), each once, in order."""
    uris = [
        item.source.uri
        for name, step in pipeline.steps.items()
        if steps is None or name in steps
        for item in step.inputs.values()
        if isinstance(item.source, S3Source)
    ]
    return list(dict.fromkeys(uris))


def fetch_inputs(
    pipeline: Pipeline, fetch: S3Fetcher, steps: Collection[str] | None = None
) -> Pipeline:
    """The pipeline with the S3 inputs of ``steps`` (default: every step) fetched: each becomes
    a ``LocalSource`` of its local copy that remembers its URI. A URI is fetched once; the
    fetcher's errors (``CitError``) stop here, before anything runs."""
    local = {uri: fetched(uri, fetch) for uri in s3_inputs(pipeline, steps)}
    if not local:
        return pipeline
    steps = {name: _with_local_copies(step, local) for name, step in pipeline.steps.items()}
    return pipeline.with_steps(steps)


def fetched(uri: str, fetch: S3Fetcher) -> Path:
    """The local copy of ``uri``; it must be there once fetched."""
    path = Path(fetch(uri))
    if not path.exists():
        raise CitError(f"{uri}: fetched, but its local copy {path} is not there")
    return path


def _with_local_copies(step: Step, local: dict[str, Path]) -> Step:
    inputs = dict(step.inputs)
    for channel, item in step.inputs.items():
        if isinstance(item.source, S3Source) and item.source.uri in local:
            source = LocalSource(path=local[item.source.uri], origin=item.source.uri)
            inputs[channel] = item.model_copy(update={"source": source})
    return step.model_copy(update={"inputs": inputs})


def s3_fetcher(
    settings: S3Settings | None = None,
    report: Callable[[Download], None] | None = None,
    follow: FollowDownload | None = None,
) -> S3Fetcher:
    """``s3.download`` with ``settings`` (read once, by the caller); ``report`` is told of each
    download (files, bytes, fetched and cached), and ``follow`` shows each while it runs."""

    def fetch(uri: str) -> Path:
        progress = s3.DownloadProgress()
        with follow(uri, progress) if follow is not None else contextlib.nullcontext():
            done = s3.download(uri, settings, progress)
        if report is not None:
            report(done)
        return done.path

    return fetch


def prepare_run(
    pipeline: Pipeline, path: Path, settings: RunSettings, run_id: str | None = None
) -> RunPlan:
    """Plan first, so a pipeline that cannot be planned leaves no run directory behind. The
    run gets ``run_id`` (a new one without it)."""
    run_id = run_id or new_run_id()
    runs_dir = settings.runs_dir.resolve()
    plan = plan_run(pipeline, path.resolve(), settings, run_id, runs_dir / run_id)
    create_run_dir(runs_dir, run_id)
    return plan


def with_step_wheels(settings: RunSettings, steps: Iterable[Step], engine: Engine) -> RunSettings:
    """The settings with the wheels of each training step's ``requirements.txt`` fetched on
    the host (progress where the engine shows its pulls); a host process needs none."""
    if engine.image_id(settings.image) == PROCESS_IMAGE_ID:
        return settings
    progress = getattr(engine, "pull_progress", None) or (lambda line: None)
    wheels = fetch_step_wheels(steps, settings.image, progress)
    return replace(settings, step_wheels=wheels) if wheels else settings


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


def execute_pipeline(
    path: str | Path,
    engine: Engine,
    *,
    settings: RunSettings | None = None,
    observer: RunObserver | None = None,
    build_default: ImageBuilder | None = None,
    cancel: threading.Event | None = None,
    fetch_s3: S3Fetcher | None = None,
) -> RunResult:
    """Execute the steps of the pipeline in ``path`` and return how each went: no edge checks,
    snapshots, expectations or reports (``suite.pipeline.run_pipeline`` adds them: what
    ``cit run`` does). S3 inputs are fetched with ``fetch_s3`` (default: ``s3_fetcher()``)
    before anything runs."""
    file = Path(path)
    return run_loaded(
        load_and_validate(file),
        file,
        engine,
        settings=settings,
        observer=observer,
        build_default=build_default,
        cancel=cancel,
        fetch_s3=fetch_s3,
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
    fetch_s3: S3Fetcher | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Run an already validated pipeline: secrets, S3 inputs, images, leftover sweep, plan,
    execute. Secrets ``settings`` lack are read from the host environment first; ``run_id``
    names the run (a new id without it)."""
    settings = settings or RunSettings()
    settings = with_host_secrets(settings, steps_to_run(pipeline, settings), file)
    check_debug_ports(pipeline, settings.debug_ports)  # before any download or build
    if s3_inputs(pipeline):
        pipeline = fetch_inputs(pipeline, fetch_s3 or s3_fetcher())
    settings = bounded_by_engine(settings, engine)
    running = steps_to_run(pipeline, settings)
    check_gpus(running, settings, engine)
    ensure_images(
        required_images(running, settings),
        engine,
        build_default,
        running,
        source=pipeline.source_file or file,
    )
    settings = with_step_wheels(settings, running, engine)
    sweep_orphans(engine)
    plan = prepare_run(pipeline, file, settings, run_id)
    try:
        result = execute(
            plan,
            engine,
            max_workers=settings.max_workers,
            observer=observer,
            cancel=cancel,
            cache=step_cache(settings, engine),
            taken=settings.taken_steps,
        )
    finally:
        engine.flush()
    return result
