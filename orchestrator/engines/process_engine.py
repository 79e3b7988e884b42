"""Process isolation: a step's script runs in a host Python process instead of a container.

A script that follows the testable convention ::

    def main(input_paths: dict[str, str], output_paths: dict[str, str],
             environ_vars: dict[str, str], job_args: argparse.Namespace) -> None

can be run without Docker: ``ProcessEngine`` reads the container spec cit planned for the step
and runs, in a fresh interpreter, ``main`` of the script imported as a module (its ``__name__``
is its file's stem, so its ``if __name__ == "__main__":`` block does not run) with:

- ``input_paths``: input name → a copy of the input. Names are the processing job's
  ``InputName``s (``processingjobconfig.json``), else the ``<name>`` of
  ``/opt/ml/processing/input/<name>`` or ``/opt/ml/input/data/<name>``. Every input, file or
  folder, is copied into the run's scratch folder, laid out as the container sees it (an input
  given as one file is a folder holding it), so ``main`` never gets the user's own files: what it
  writes there changes only the copy. A copy of a read-only mount loses its write permission
  (which binds every user but root) and the scratch folder is removed after the run. Copying
  costs time and disk space for big inputs; it is the price of that safety (a hard link would
  share the content and let a write through).
- ``output_paths``: output name → host folder: the processing outputs (as for inputs), and for
  training ``model`` (``/opt/ml/model``) and ``output_data`` (``/opt/ml/output/data``).
- ``environ_vars``: the step's environment, also set as ``os.environ`` (with the host's PATH and
  HOME); a value that is a container path becomes the host path ``main`` sees there: in an
  input's copy, in an output's folder, or under another mount. Secrets reach ``main`` through
  the process's environment only, never through a file.
- ``job_args``: the job's arguments as an ``argparse.Namespace`` (see ``job_arguments``).

Its output lines are the step's log; an exception in ``main`` prints its traceback and exits 1;
``sys.exit`` works as usual; what ``main`` returns is ignored. CPU, memory and network limits
do not apply to a process. The process and every process it starts die with cit, also when
cit is killed (``process_guard``).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import posixpath
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from ..errors import CitError, InputError
from ..pipeline.sagemaker_paths import (
    MODEL_DIR,
    OUTPUT_DATA_DIR,
    PROCESSING_CODE,
    PROCESSING_CONFIG,
    PROCESSING_INPUT,
    PROCESSING_OUTPUT,
    TRAINING_DATA,
)
from .base import PROCESS_IMAGE_ID, ContainerInfo, ContainerOutcome, Engine, LogSink
from .log_lines import MAX_LINE_BYTES, LineSplitter
from .process_guard import (
    Marker,
    Watchdog,
    record_group,
    remove_folder,
    scratch_folder,
    sweep_leftovers,
)
from .spec import ContainerSpec, Mount, NetworkSpec

MAIN_PARAMETERS = ("input_paths", "output_paths", "environ_vars", "job_args")
MAIN_SIGNATURE = f"main({', '.join(MAIN_PARAMETERS)})"
JOB_CONFIG = f"{PROCESSING_CONFIG}/processingjobconfig.json"
HOST_VARIABLES = ("PATH", "HOME")
POLL_SECONDS = 0.05
STOP_GRACE_SECONDS = 5.0
LOG_DRAIN_SECONDS = 2.0
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
OPTION = re.compile(r"--?([A-Za-z_][A-Za-z0-9_-]*)(?:=(.*))?", re.DOTALL)

BOOTSTRAP = """\
import argparse, importlib.util, json, os, sys
with open(sys.argv[1], encoding="utf-8") as handle:
    job = json.load(handle)
sys.argv = [job["script"], *job["arguments"]]
sys.path.insert(0, os.path.dirname(job["script"]))
spec = importlib.util.spec_from_file_location(job["module"], job["script"])
module = importlib.util.module_from_spec(spec)
sys.modules[job["module"]] = module
spec.loader.exec_module(module)
main = getattr(module, "main", None)
if not callable(main):
    sys.exit(job["script"] + " has no " + job["signature"])
environ_vars = {**job["environ_vars"], **{k: os.environ[k] for k in job["secret_names"]}}
main(job["input_paths"], job["output_paths"], environ_vars, argparse.Namespace(**job["job_args"]))
"""


class ProcessJobError(ValueError):
    """The spec cannot be run as a process; the message says why, in one line."""


# The main() convention -------------------------------------------------------------------


def has_main(source: str) -> bool:
    """Whether ``source`` defines, at module level, ``main`` taking the four parameters first
    (any further ones optional). Source that does not parse is not judged here: True."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    defined = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    return bool(defined) and _takes_the_four(defined[-1].args)  # the last definition counts


def _takes_the_four(args: ast.arguments) -> bool:
    positional = [*args.posonlyargs, *args.args]
    names = tuple(a.arg for a in positional[: len(MAIN_PARAMETERS)])
    if names != MAIN_PARAMETERS:
        return False
    required_after = len(positional) - len(MAIN_PARAMETERS) - len(args.defaults)
    required_keywords = any(d is None for d in args.kw_defaults)
    return required_after <= 0 and not required_keywords


def require_main(script: Path) -> None:
    """Refuse, in one line, a script that process isolation cannot call."""
    try:
        source = script.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {script}: {exc.strerror}") from None
    if not has_main(source):
        raise InputError(
            f"{script} has no {MAIN_SIGNATURE}; process isolation needs it — "
            "run it in a container (the default)"
        )


def job_arguments(arguments: Sequence[str]) -> dict[str, str | bool]:
    """``job_args`` fields from a job's arguments: ``--key value`` and ``--key=value`` give the
    string ``value``, ``--flag`` (followed by another option or nothing) gives True; one dash
    works as two, hyphens in a key become underscores, and a repeated key keeps its last
    value. A value that starts with '-' and a letter reads as an option: write ``--key=-x``."""
    fields: dict[str, str | bool] = {}
    items = list(arguments)
    index = 0
    while index < len(items):
        match = OPTION.fullmatch(items[index])
        if match is None:
            raise ProcessJobError(
                f"argument '{items[index]}' is no option; job_args takes '--key value', "
                "'--key=value' and '--flag' arguments"
            )
        key, value = match.group(1).replace("-", "_"), match.group(2)
        if value is None and index + 1 < len(items) and not OPTION.fullmatch(items[index + 1]):
            index += 1
            value = items[index]
        fields[key] = True if value is None else value
        index += 1
    return fields


def job_args(arguments: Sequence[str]) -> argparse.Namespace:
    """The ``argparse.Namespace`` ``main`` receives for ``arguments``."""
    return argparse.Namespace(**job_arguments(arguments))


# From a container spec to a process ------------------------------------------------------


@dataclass(frozen=True)
class StagedCopy:
    """One mount of an input, copied before ``main`` runs."""

    source: Path
    """The host file or folder the container would mount."""
    target: Path
    """Where its copy goes, in the staging folder."""
    read_only: bool


@dataclass(frozen=True)
class ProcessJob:
    """A container spec on host paths: what ``main`` is called with."""

    script: Path
    arguments: tuple[str, ...]
    input_paths: dict[str, str]
    """Input name → its copy in the staging folder (made by ``stage_inputs``)."""
    output_paths: dict[str, str]
    environ_vars: dict[str, str]
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)
    """The secrets: in the process's environment (and ``environ_vars``), never in a file."""
    working_dir: Path | None = None
    copies: tuple[StagedCopy, ...] = ()
    """The inputs' mounts to copy, shallowest target first."""


def host_path(mounts: Sequence[Mount], container_path: str) -> Path | None:
    """Where ``container_path`` lands on the host through the deepest mount holding it."""
    path = PurePosixPath(container_path)
    for mount in sorted(mounts, key=lambda m: len(m.target), reverse=True):
        root = PurePosixPath(mount.target)
        if path == root or root in path.parents:
            return Path(mount.source, path.relative_to(root))
    return None


def process_job(
    spec: ContainerSpec, config: Mapping[str, Any] | None = None, *, stage_dir: Path
) -> ProcessJob:
    """The process that runs ``spec``, its inputs copied under ``stage_dir`` (see
    ``stage_inputs``); ``config`` is its processingjobconfig.json, if any."""
    locations = {
        name: location
        for name, location in _input_locations(spec.mounts, config).items()
        if any(_holds(location, m.target) for m in spec.mounts)
    }
    view = _view(spec.mounts, list(locations.values()), stage_dir)
    script, arguments = _script_and_arguments(spec, view)
    outputs = {
        name: str(host)
        for name, location in _output_locations(spec.mounts, config).items()
        if (host := host_path(view, location)) is not None
    }
    working_dir = host_path(view, spec.working_dir) if spec.working_dir else None
    return ProcessJob(
        script=script,
        arguments=arguments,
        input_paths={name: str(_staged(stage_dir, loc)) for name, loc in locations.items()},
        output_paths=outputs,
        environ_vars={k: _host_value(view, v) for k, v in spec.env.items()},
        secret_env=dict(spec.secret_env),
        working_dir=working_dir,
        copies=_copies(spec.mounts, list(locations.values()), stage_dir),
    )


def _holds(location: str, target: str) -> bool:
    """Whether the container path ``target`` is ``location`` or lies under it."""
    path, root = PurePosixPath(target), PurePosixPath(location)
    return path == root or root in path.parents


def _staged(stage_dir: Path, container_path: str) -> Path:
    """Where ``container_path`` is copied: the same path, under ``stage_dir``."""
    return stage_dir / posixpath.normpath(container_path).lstrip("/")


def _copies(
    mounts: Sequence[Mount], locations: Sequence[str], stage_dir: Path
) -> tuple[StagedCopy, ...]:
    """The mounts at or under the input ``locations``, shallowest first (a deeper mount
    covers what a shallower one holds there, as in a container)."""
    inside = [m for m in mounts if any(_holds(loc, m.target) for loc in locations)]
    inside.sort(key=lambda m: len(PurePosixPath(m.target).parts))
    return tuple(
        StagedCopy(Path(m.source), _staged(stage_dir, m.target), m.read_only) for m in inside
    )


def _view(mounts: Sequence[Mount], locations: Sequence[str], stage_dir: Path) -> tuple[Mount, ...]:
    """The mounts as ``main`` sees them: each input location is its copy under ``stage_dir``,
    and the mounts at or under input locations are gone (their copies are in there)."""
    staged = [Mount(str(_staged(stage_dir, loc)), loc, read_only=True) for loc in locations]
    others = [m for m in mounts if not any(_holds(loc, m.target) for loc in locations)]
    return (*staged, *others)


def _script_and_arguments(
    spec: ContainerSpec, mounts: Sequence[Mount]
) -> tuple[Path, tuple[str, ...]]:
    """The first ``.py`` of the command line that is a mounted file, and what follows it."""
    line = [*(spec.entrypoint or ()), *spec.command]
    for index, word in enumerate(line):
        if word.endswith(".py") and word.startswith("/"):
            host = host_path(mounts, word)
            if host is not None:
                return host, tuple(line[index + 1 :])
    shown = " ".join(line) or "nothing"
    raise ProcessJobError(
        f"the step runs no mounted Python script ({shown}); process isolation calls a "
        f"script's {MAIN_SIGNATURE}"
    )


def _input_locations(mounts: Sequence[Mount], config: Mapping[str, Any] | None) -> dict[str, str]:
    """Input name → container folder: the job config's inputs, then the standard folders."""
    named: dict[str, str] = {}
    for item in (config or {}).get("ProcessingInputs", []):
        local = item.get("S3Input", {}).get("LocalPath")
        if item.get("InputName") != "code" and isinstance(local, str):
            named[str(item["InputName"])] = local
    for base in (PROCESSING_INPUT, TRAINING_DATA):
        for name in _names_under(mounts, base):
            location = f"{base}/{name}"
            if location != PROCESSING_CODE and location not in named.values():
                named.setdefault(name, location)
    return named


def _output_locations(mounts: Sequence[Mount], config: Mapping[str, Any] | None) -> dict[str, str]:
    """Output name → container folder: the job config's outputs, the standard folders, and a
    training job's model and output data."""
    named: dict[str, str] = {}
    outputs = (config or {}).get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        local = item.get("S3Output", {}).get("LocalPath")
        if isinstance(local, str):
            named[str(item["OutputName"])] = local
    for name in _names_under(mounts, PROCESSING_OUTPUT):
        location = f"{PROCESSING_OUTPUT}/{name}"
        if location not in named.values():
            named.setdefault(name, location)
    targets = {m.target for m in mounts}
    if MODEL_DIR in targets:
        named.setdefault("model", MODEL_DIR)
        named.setdefault("output_data", OUTPUT_DATA_DIR)
    return named


def _names_under(mounts: Sequence[Mount], base: str) -> list[str]:
    """The ``<name>``s of mounts at ``base/<name>`` or ``base/<name>/<file>``."""
    root = PurePosixPath(base)
    names: list[str] = []
    for mount in mounts:
        target = PurePosixPath(mount.target)
        if root in target.parents:
            name = target.relative_to(root).parts[0]
            if name not in names:
                names.append(name)
    return names


def _host_value(mounts: Sequence[Mount], value: str) -> str:
    """An environment value; a container path under one of ``mounts`` (``main``'s view of them:
    see ``_view``) becomes its host path."""
    if not value.startswith("/"):
        return value
    host = host_path(mounts, value)
    return str(host) if host is not None else value


def stage_inputs(job: ProcessJob) -> None:
    """Copy the inputs' mounts where ``job.input_paths`` point; a copy of a read-only mount loses
    its write permission. Raises ``ProcessJobError`` when a copy fails."""
    for copy in job.copies:
        try:
            _copy(copy.source, copy.target)
        except OSError as exc:
            raise ProcessJobError(
                f"cannot copy input {copy.source} for process isolation: {_reason(exc)}"
            ) from None
    for copy in job.copies:
        if copy.read_only:
            _read_only(copy.target)


def _copy(source: Path, target: Path) -> None:
    """A copy of the file or folder ``source`` at ``target``, replacing what is there."""
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore_dangling_symlinks=True)
    else:
        shutil.copy2(source, target)


def _reason(exc: OSError) -> str:
    """One line for a failed copy; ``shutil.Error`` carries a list of (source, target, why)."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        first = exc.args[0][0]
        return f"{first[0]}: {first[2]}" if len(first) == 3 else str(first)
    return exc.strerror or str(exc)


def _read_only(path: Path) -> None:
    """Remove the write permission of ``path`` and, for a folder, of all it holds."""
    if path.is_dir() and not path.is_symlink():
        for root, folders, files in os.walk(path, topdown=False):
            for name in [*files, *folders]:
                _drop_write(Path(root, name))
    _drop_write(path)


def _drop_write(path: Path) -> None:
    """Best effort: a copy that keeps its write permission is still a copy."""
    with contextlib.suppress(OSError):
        if not path.is_symlink():
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~WRITE_BITS)


def read_job_config(spec: ContainerSpec) -> dict[str, Any] | None:
    """The processingjobconfig.json cit wrote for the step, when there is one."""
    path = host_path(spec.mounts, JOB_CONFIG)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# The engine ------------------------------------------------------------------------------


class ProcessEngine:
    """Runs each spec's script as a host Python process (see the module's docstring).

    ``python`` is the interpreter (default: the one running cit); ``stop_grace_seconds`` is how
    long a process stopped at its timeout or by cancel gets after SIGTERM before SIGKILL.
    """

    def __init__(
        self, python: str | Path | None = None, *, stop_grace_seconds: float = STOP_GRACE_SECONDS
    ) -> None:
        self.python = str(python or sys.executable)
        self.stop_grace_seconds = stop_grace_seconds
        self._running: dict[str, tuple[ContainerSpec, subprocess.Popen[bytes]]] = {}
        self._lock = threading.Lock()
        self._swept = False

    def create(self, spec: ContainerSpec) -> None:
        """Nothing to create ahead: a process starts when it runs."""

    def run(
        self, spec: ContainerSpec, *, on_log: LogSink, cancel: threading.Event
    ) -> ContainerOutcome:
        started = time.time()
        self._sweep_once()
        scratch, marker = scratch_folder(spec)
        try:
            try:
                job = process_job(spec, read_job_config(spec), stage_dir=scratch / "inputs")
                fields = job_arguments(job.arguments)
                stage_inputs(job)
            except ProcessJobError as exc:
                on_log(f"cit: {exc}")
                return ContainerOutcome(None, started, time.time(), error=str(exc))
            command = [self.python, "-u", "-c", BOOTSTRAP, str(_write_job(job, fields, scratch))]
            return self._run_process(spec, job, command, (scratch, marker), on_log, cancel)
        finally:
            remove_folder(scratch)

    def _sweep_once(self) -> None:
        """What killed cit processes left, removed before this engine's first process (as
        the Docker engine's first run removes their containers)."""
        with self._lock:
            swept, self._swept = self._swept, True
        if not swept:
            sweep_leftovers()

    def _run_process(
        self,
        spec: ContainerSpec,
        job: ProcessJob,
        command: list[str],
        scratch: tuple[Path, Marker],
        on_log: LogSink,
        cancel: threading.Event,
    ) -> ContainerOutcome:
        started = time.time()
        folder, marker = scratch
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=_process_env(job),
                cwd=job.working_dir or _work_folder(folder),
                start_new_session=True,  # its own group: it and its children end together
            )
        except OSError as exc:
            error = f"cannot start {self.python}: {exc.strerror or exc}"
            return ContainerOutcome(None, started, time.time(), error=error)
        watchdog = Watchdog.start(process.pid)
        with self._lock:
            self._running[spec.name] = (spec, process)
        try:
            with contextlib.suppress(OSError):  # the watchdog ends the group all the same
                record_group(folder, marker, process.pid)
            assert process.stdout is not None
            pump = threading.Thread(
                target=_pump, args=(process.stdout, on_log), name="cit-logs", daemon=True
            )
            pump.start()
            ended = self._wait(process, spec.timeout_seconds, cancel)
            finished = time.time()
            _signal_group(process, signal.SIGKILL)  # what it left running ends with it
            pump.join(LOG_DRAIN_SECONDS)
        finally:
            with self._lock:
                self._running.pop(spec.name, None)
            if watchdog is not None:
                watchdog.stand_down()
        return ContainerOutcome(
            exit_code=_exit_code(process.returncode),
            started_at=started,
            finished_at=finished,
            timed_out=ended == "timeout",
            cancelled=ended == "cancelled",
            image_id=PROCESS_IMAGE_ID,
        )

    def _wait(
        self, process: subprocess.Popen[bytes], timeout: float | None, cancel: threading.Event
    ) -> str:
        """Until the process ends; stop it on timeout or cancel. Says which happened."""
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            try:
                process.wait(POLL_SECONDS)
                return "exited"
            except subprocess.TimeoutExpired:
                pass
            if cancel.is_set():
                self._stop(process)
                return "cancelled"
            if deadline is not None and time.monotonic() > deadline:
                self._stop(process)
                return "timeout"

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the process and its children, SIGKILL once the grace period is over."""
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(self.stop_grace_seconds)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()

    def image_id(self, ref: str) -> str | None:
        """Every image is 'present': a process runs on the host's Python."""
        return PROCESS_IMAGE_ID

    def pull(self, ref: str) -> str:
        """Nothing to pull: a process runs on the host's Python."""
        return PROCESS_IMAGE_ID

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        """The processes running now whose spec carries all of ``labels``."""
        with self._lock:
            running = [spec for spec, _ in self._running.values()]
        return [
            ContainerInfo(spec.name, dict(spec.labels), "running")
            for spec in running
            if all(spec.labels.get(k) == v for k, v in labels.items())
        ]

    def remove_container(self, name: str) -> None:
        """Kill the process running ``name``, if one is."""
        with self._lock:
            entry = self._running.get(name)
        if entry is not None:
            _signal_group(entry[1], signal.SIGKILL)

    def capacity(self) -> tuple[int, int] | None:
        """Limits are not applied to processes."""
        return None

    def flush(self) -> None:
        """Nothing to remove: ``run`` returns once its process has ended."""

    def has_gpus(self) -> None:
        """A host process sees the host's GPUs, if any: nothing to ask for."""
        return None

    def create_network(self, spec: NetworkSpec) -> None:
        """Processes share the host's network: a job on several instances needs containers."""
        raise CitError(
            "a training step on several instances runs in containers; "
            "use --isolation container for it"
        )

    def remove_network(self, name: str) -> None:
        """No network was created."""

    def list_networks(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        """Processes make no networks."""
        return []


def _write_job(job: ProcessJob, fields: Mapping[str, str | bool], scratch: Path) -> Path:
    """Write what the bootstrap reads; returns that file."""
    data = {
        "script": str(job.script),
        "module": job.script.stem,
        "arguments": list(job.arguments),
        "input_paths": job.input_paths,
        "output_paths": job.output_paths,
        "environ_vars": job.environ_vars,
        "secret_names": sorted(job.secret_env),
        "job_args": dict(fields),
        "signature": MAIN_SIGNATURE,
    }
    path = scratch / "job.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _work_folder(scratch: Path) -> Path:
    """The working directory of a process whose spec names none: empty, removed after."""
    folder = scratch / "work"
    folder.mkdir()
    return folder


def _process_env(job: ProcessJob) -> dict[str, str]:
    """The step's environment and secrets, over the host's PATH and HOME."""
    base = {k: os.environ[k] for k in HOST_VARIABLES if k in os.environ}
    return {**base, **job.environ_vars, **job.secret_env}


def _pump(stream: IO[bytes], on_log: LogSink) -> None:
    for text in _blocks(stream):
        with contextlib.suppress(Exception):  # one bad line must not stall the process
            on_log(text)


def _blocks(stream: IO[bytes]) -> Iterator[str]:
    """Whole lines of a byte stream as they come (see ``log_lines``)."""
    splitter = LineSplitter()
    read = getattr(stream, "read1", stream.read)
    while chunk := read(MAX_LINE_BYTES):
        if text := splitter.feed(chunk):
            yield text
    if text := splitter.finish():
        yield text


def _signal_group(process: subprocess.Popen[bytes], number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


def _exit_code(code: int | None) -> int | None:
    """A death by signal as a shell and a container report it: 128 + the signal."""
    if code is not None and code < 0:
        return 128 - code
    return code


if TYPE_CHECKING:
    _satisfies_engine: type[Engine] = ProcessEngine
