"""One step, start to end: prepare its folders, run its container, collect what it left."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections import deque
from pathlib import Path

from .capture import capture_output, write_profile
from .engine import ENGINE_LOST, ContainerOutcome, Engine
from .observer import RunObserver
from .packaging import MODEL_TARBALL, OUTPUT_TARBALL, tar_gz_folder
from .pipeline import MODEL_OUTPUT, OUTPUT_DATA_OUTPUT, StepKind
from .plan import PlannedStep
from .profiles import DatasetProfile, OutputProfile
from .results import OutputSummary, Status, StepResult
from .rundir import write_text_files
from .sagemaker_contract import StepPaths

LOG_TAIL_LINES = 40
MESSAGE_FILES = ("failure", "message")
MESSAGE_LIMIT = 1024
SCHEMAS_FOLDER = "schemas"


def run_step(
    planned: PlannedStep, engine: Engine, observer: RunObserver, cancel: threading.Event
) -> StepResult:
    """Run one planned step; faults in the container come back as a result."""
    result = step_record(planned, Status.RUNNING)
    prepare(planned)
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    with planned.paths.log_file.open("w", encoding="utf-8", buffering=1) as log:
        unwritable: list[str] = []

        def on_log(line: str) -> None:
            tail.append(line)
            if not unwritable:
                try:
                    log.write(line + "\n")
                except OSError as exc:
                    unwritable.append(f"cit could not write {log.name}: {exc.strerror}")
                    tail.append(unwritable[0])
            # A terminal that went away (e.g. `cit run | head`) must not cost the saved log.
            with contextlib.suppress(Exception):
                observer.step_log(planned.name, line)

        outcome = engine.run(planned.job.container, on_log=on_log, cancel=cancel)
    result.log_tail = list(tail)
    return finish(result, outcome, planned)


def step_record(planned: PlannedStep, status: Status, reason: str | None = None) -> StepResult:
    """The result record of a step that has not finished (yet)."""
    spec = planned.job.container
    return StepResult(
        name=planned.name,
        kind=planned.step.kind.value,
        status=status,
        reason=reason,
        started_at=time.time() if status is Status.RUNNING else None,
        image=spec.image,
        container_name=spec.name,
        log_file=str(planned.paths.log_file),
        upstream=list(planned.step.upstream),
        container=spec.to_dict(),
    )


def prepare(planned: PlannedStep) -> None:
    """Create the step's folders, copy its code where it gets a writable copy, write configs."""
    planned.paths.root.mkdir(parents=True, exist_ok=True)
    for folder in planned.job.directories:
        folder.mkdir(parents=True, exist_ok=True)
    for source, target in planned.job.copies:
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / source.name)
    write_text_files(planned.job.files)


def finish(result: StepResult, outcome: ContainerOutcome, planned: PlannedStep) -> StepResult:
    result.exit_code = outcome.exit_code
    result.image_id = outcome.image_id
    result.started_at = outcome.started_at
    result.finished_at = outcome.finished_at
    result.duration_seconds = round(outcome.duration_seconds, 3)
    result.message = read_message(planned.paths)
    result.status, result.reason = classify(outcome, planned)
    if result.status is Status.SUCCEEDED and planned.step.kind is StepKind.TRAINING:
        package_training_outputs(planned.paths)
    result.outputs = [
        describe_output(name, planned.paths)
        for name in planned.step.output_names
        if planned.paths.output(name).exists()
    ]
    return result


def describe_output(name: str, paths: StepPaths) -> OutputSummary:
    """Size of an output and its captured schema, also saved as schemas/<output>.json."""
    folder = paths.output(name)
    try:
        profile = capture_output(name, folder)
    except Exception as exc:  # a bug in capture must not cost the step its result
        profile = uncaptured(name, folder, f"{type(exc).__name__}: {exc}")
    return OutputSummary(
        name=name,
        path=str(folder),
        files=profile.files,
        bytes=profile.bytes,
        schema_file=save_profile(profile, paths.root / SCHEMAS_FOLDER / f"{name}.json"),
        profile=profile,
    )


def uncaptured(name: str, folder: Path, reason: str) -> OutputProfile:
    """The profile of an output whose capture failed: its size, and the failure as the error
    of one dataset, so checks report it as unreadable rather than passing it."""
    files = [Path(root) / f for root, _, names in os.walk(folder) for f in names]
    return OutputProfile(
        output=name,
        folder=str(folder),
        files=len(files),
        bytes=sum(f.stat().st_size for f in files if f.is_file()),
        datasets=[
            DatasetProfile(path="", format="unknown", error=f"cit could not capture it: {reason}")
        ],
    )


def save_profile(profile: OutputProfile, target: Path) -> str | None:
    """Save a captured schema in the step's folder; None when that folder is gone (the run
    directory was removed mid-run, which the manifest write then reports)."""
    try:
        write_profile(profile, target)
    except OSError:
        return None
    return str(target)


def classify(outcome: ContainerOutcome, planned: PlannedStep) -> tuple[Status, str | None]:
    """The step's status and a one-line reason for anything but success."""
    spec = planned.job.container
    if outcome.cancelled:
        return Status.INTERRUPTED, "stopped by the user"
    if outcome.timed_out:
        return (
            Status.TIMEOUT,
            f"ran past its timeout of {spec.timeout_seconds:g} s; container killed",
        )
    if outcome.oom_killed:
        limit = f" of {spec.memory_bytes / 2**20:.0f} MiB" if spec.memory_bytes else ""
        return Status.OOM, f"out of memory: killed at its memory limit{limit}"
    if outcome.error == ENGINE_LOST:
        return Status.ERROR, f"{ENGINE_LOST}; once it is back, 'cit clean' removes the container"
    if outcome.exit_code is None:
        return Status.ERROR, f"the engine could not run the container: {outcome.error}"
    if outcome.exit_code != 0:
        return Status.FAILED, f"exited with code {outcome.exit_code}"
    return Status.SUCCEEDED, None


def read_message(paths: StepPaths) -> str | None:
    """What the script wrote to /opt/ml/output/failure or /opt/ml/output/message."""
    for name in MESSAGE_FILES:
        path = paths.ml_output_dir / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            if text:
                return text[:MESSAGE_LIMIT]
    return None


def package_training_outputs(paths: StepPaths) -> None:
    """/opt/ml/model → model.tar.gz and /opt/ml/output/data → output.tar.gz, handed downstream."""
    tar_gz_folder(paths.model_dir, paths.output(MODEL_OUTPUT) / MODEL_TARBALL)
    data = paths.ml_output_dir / "data"
    tar_gz_folder(data, paths.output(OUTPUT_DATA_OUTPUT) / OUTPUT_TARBALL)
