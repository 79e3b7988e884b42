"""One step, start to end: prepare its folders, run its container, collect what it left."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from pathlib import Path

from ..container_files import is_real_dir, read_text_bounded, regular_files, secure_written_folders
from ..data.capture import capture_output, write_profile
from ..data.profiles import DatasetProfile, OutputProfile
from ..engines.base import ENGINE_LOST, ContainerOutcome, Engine
from ..engines.log_lines import RecentLines, count_lines, decode, ended
from ..engines.spec import writable_folders
from ..files import write_problem, write_text_files
from ..pipeline.model import MODEL_OUTPUT, OUTPUT_DATA_OUTPUT, StepKind
from ..sizes import human_size
from .hosts import host_of, run_job
from .observer import RunObserver
from .packaging import MODEL_TARBALL, OUTPUT_TARBALL, tar_gz_folder
from .plan import PlannedStep
from .results import OutputSummary, Status, StepResult
from .sagemaker_job import CURRENT_HOST, StepPaths
from .secrets import masker

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
    tail = RecentLines(LOG_TAIL_LINES)
    hide_secrets = masker(planned.secret_values)
    with StepLog(planned.paths.log_file, planned.log_limit_bytes) as log:

        def on_log(text: str) -> None:
            text = hide_secrets(ended(text))  # before the log file, the tail and the terminal
            tail.add(text)
            problem = log.write(text)
            if problem:
                tail.add(problem + "\n")
            # A terminal that went away (e.g. `cit run | head`) must not cost the saved log.
            with contextlib.suppress(Exception):
                observer.step_log(planned.name, text)

        for note in planned.notes:
            on_log(note)
        ended_as = run_job(planned.container_job, engine, on_log, cancel)
    result.log_tail = tail.take() + ([tail.current] if tail.current else [])
    done = finish(result, ended_as.outcome, planned, ended_as.failed_host)
    if log.broken and not done.fault:
        with_fault(done, log.broken)
    if done.message:
        done.message = hide_secrets(done.message)
    return done


class StepLog:
    """A step's log.txt: the output as it comes (whole lines, each with the line break the
    step wrote), up to ``limit`` bytes, then a note where it was cut and, at the end, how much
    was left out."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.written = 0
        self.dropped_bytes = 0
        self.dropped_lines = 0
        self.full = False
        self.broken: str | None = None

    def __enter__(self) -> StepLog:
        # newline="": the line breaks stay as the step wrote them, progress updates' "\r" too
        self.handle = self.path.open("w", encoding="utf-8", newline="", buffering=1)
        return self

    def write(self, text: str) -> str | None:
        """Save whole lines; a message the first time the file cannot be written."""
        if self.broken or not text:
            return None
        data = text.encode("utf-8", errors="replace")
        if self.full or self.written + len(data) > self.limit:
            return self._cut(data)
        self.written += len(data)
        return self._save(text)

    def _cut(self, data: bytes) -> str | None:
        """Save the lines that still fit, note the cut once, and count the rest."""
        problem = None
        if not self.full:
            self.full = True
            fits = data[: self.limit - self.written]
            head = fits[: max(fits.rfind(b"\n"), fits.rfind(b"\r")) + 1]
            self.written += len(head)
            data = data[len(head) :]
            problem = self._save(decode(head)) if head else None
            self._save(f"[cit] log.txt is cut here at {human_size(self.limit)} (log limit)\n")
        lines, returns = count_lines(decode(data))
        self.dropped_bytes += len(data)
        self.dropped_lines += lines + returns
        return problem

    def _save(self, text: str) -> str | None:
        try:
            self.handle.write(text)
        except OSError as exc:
            return self._broke(exc)
        return None

    def _broke(self, exc: OSError) -> str:
        """Stop writing; the problem, also shown in the log tail."""
        self.broken = f"cit could not save the whole log: {write_problem(exc, self.path)}"
        return f"[cit] {self.broken}"

    def __exit__(self, *_: object) -> None:
        if self.dropped_bytes:
            self._save(
                f"[cit] {self.dropped_lines} more line(s), {human_size(self.dropped_bytes)}, "
                "were not saved; the step's last lines are in the report's log tail\n"
            )
        try:
            self.handle.close()  # writes what is buffered: may find the disk full too
        except OSError as exc:
            if not self.broken:
                self._broke(exc)


def step_record(planned: PlannedStep, status: Status, reason: str | None = None) -> StepResult:
    """The result record of a step that has not finished (yet)."""
    spec = planned.job.container if planned.job is not None else None
    return StepResult(
        name=planned.name,
        kind=planned.step.kind.value,
        status=status,
        reason=reason,
        started_at=time.time() if status is Status.RUNNING else None,
        image=spec.image if spec else None,
        sagemaker_image=planned.step.sagemaker_image,
        container_name=spec.name if spec else None,
        log_file=str(planned.paths.log_file) if spec else None,
        upstream=list(planned.step.upstream),
        container=spec.to_dict() if spec else {},
        secret_variables=dict(planned.step.secrets) if spec else {},
    )


def prepare(planned: PlannedStep) -> None:
    """Create the step's folders, copy its code where it gets a writable copy, write configs."""
    planned.paths.root.mkdir(parents=True, exist_ok=True)
    for folder in planned.container_job.directories:
        folder.mkdir(parents=True, exist_ok=True)
    for source, target in planned.container_job.copies:
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / source.name)
    write_text_files(planned.container_job.files)


def finish(
    result: StepResult,
    outcome: ContainerOutcome,
    planned: PlannedStep,
    failed_host: str | None = None,
) -> StepResult:
    """The result of a step whose job ended with ``outcome`` (that of ``failed_host``, the
    host that failed first, in a job on several instances)."""
    result.exit_code = outcome.exit_code
    result.image_id = outcome.image_id
    result.started_at = outcome.started_at
    result.finished_at = outcome.finished_at
    result.duration_seconds = round(outcome.duration_seconds, 3)
    result.status, result.reason = classify(outcome, planned)
    if failed_host is not None and result.reason:
        result.reason = f"host {failed_host} {result.reason}"
    if outcome.kept:
        failed = failed_host or CURRENT_HOST
        job = planned.container_job
        result.kept_container = next(
            (s.name for s in job.containers if host_of(s) == failed), job.container.name
        )
    if outcome.error == ENGINE_LOST:
        # The container may still be running and writing: nothing it wrote is read.
        return result
    try:
        return collect(result, planned, failed_host)
    except OSError as exc:  # a full disk: the step's own status and exit code still stand
        return with_fault(result, f"cit could not save what it left: {write_problem(exc)}")


def with_fault(result: StepResult, problem: str) -> StepResult:
    """``result`` with what cit could not do for it: a step that succeeded becomes an error
    (what it left is incomplete); a step that did not keeps its status, the problem added."""
    result.fault = problem
    if result.status is Status.SUCCEEDED:
        result.status = Status.ERROR
        result.reason = f"exited with code {result.exit_code}, but {problem}"
    else:
        result.reason = "; ".join(filter(None, [result.reason, problem]))
    return result


def collect(
    result: StepResult, planned: PlannedStep, failed_host: str | None = None
) -> StepResult:
    """What the step left: findings, its message (that of the host that failed, in a job on
    several instances), packaged training outputs, output summaries."""
    job = planned.container_job
    written = [folder for spec in job.containers for folder in writable_folders(spec.mounts)]
    result.findings = secure_written_folders(written, planned.name)
    result.message = read_message(planned.paths.host(failed_host or CURRENT_HOST))
    if result.status is Status.SUCCEEDED and planned.step.kind is StepKind.TRAINING:
        hosts = [planned.paths.host(host_of(spec)) for spec in job.containers]
        package_training_outputs(planned.paths, hosts)
    result.outputs = [
        describe_output(name, planned.paths)
        for name in planned.step.output_names
        if is_real_dir(planned.paths.output(name))
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
    files = regular_files(folder)
    return OutputProfile(
        output=name,
        folder=str(folder),
        files=len(files),
        bytes=sum(f.size for f in files),
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
    spec = planned.container_job.container
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
    """What the script wrote to /opt/ml/output/failure or /opt/ml/output/message: the first
    ``MESSAGE_LIMIT`` characters, never through a link."""
    for name in MESSAGE_FILES:
        try:
            text, _ = read_text_bounded(
                paths.ml_output_dir / name, MESSAGE_LIMIT * 4, root=paths.ml_output_dir
            )
        except OSError:  # absent, or a link or special file the findings already name
            continue
        text = text.replace("\x00", "").strip()
        if text:
            return text[:MESSAGE_LIMIT]
    return None


def package_training_outputs(paths: StepPaths, hosts: list[StepPaths] | None = None) -> None:
    """/opt/ml/model → model.tar.gz and /opt/ml/output/data → output.tar.gz, handed downstream;
    in a job on several instances every host's folder goes into the one archive, as SageMaker
    aggregates them (a name two hosts wrote keeps the first host's file)."""
    hosts = hosts or [paths]
    models = [host.model_dir for host in hosts]
    tar_gz_folder(models, paths.output(MODEL_OUTPUT) / MODEL_TARBALL)
    data = [host.ml_output_dir / "data" for host in hosts]
    tar_gz_folder(data, paths.output(OUTPUT_DATA_OUTPUT) / OUTPUT_TARBALL)
