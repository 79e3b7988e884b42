"""The run directory ``.cit/runs/<run-id>/``: created fresh, written atomically, never reused;
``.cit/runs/latest`` names the newest.

Its ``manifest.json`` is read through one rule (``settled``): a run it says is ``running``
whose cit process is gone was interrupted. ``cit history`` and ``cit report`` both read it so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from pathlib import Path

from ..engines.owner import owner_alive
from ..errors import InputError, RunDirectoryError
from ..files import FULL_DISK, first_line, read_bytes, write_json_atomic, write_problem
from .results import INTERRUPTED_BEFORE_START, RunResult, Status, StepResult

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
"""The largest manifest read back (a run of thousands of steps with their log tails is far
less); a FIFO or device in its place is refused, never waited on."""
LATEST = "latest"
"""In the runs folder: a symlink to the newest run, or (where the file system has no symlinks)
a file holding its id."""
LATEST_LIMIT = 256
RESERVE = ".space-reserve"
RESERVE_BYTES = 1024 * 1024
"""Disk space a run sets aside for its last manifest (and reports) should its disk fill up."""


def new_run_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{stamp}-{secrets.token_hex(3)}"


def create_run_dir(runs_dir: Path, run_id: str) -> Path:
    """Make ``runs_dir/run_id``; refuses to reuse an existing one."""
    path = runs_dir / run_id
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        path.mkdir()
    except FileExistsError:
        raise RunDirectoryError(f"{path} already exists; a run directory is never reused") from None
    except OSError as exc:
        raise RunDirectoryError(f"cannot create {path}: {exc.strerror}") from None
    mark_latest(runs_dir, run_id)
    return path


def mark_latest(runs_dir: Path, run_id: str) -> None:
    """Point ``runs_dir/latest`` at ``run_id``, replaced in one step; a file system that refuses
    it leaves the previous one (the run goes on: it is a convenience)."""
    staged = runs_dir / f".{LATEST}-{secrets.token_hex(4)}"
    try:
        try:
            os.symlink(run_id, staged, target_is_directory=True)
        except (OSError, NotImplementedError):
            staged.write_text(run_id + "\n", encoding="utf-8")
        os.replace(staged, runs_dir / LATEST)
    except OSError:
        staged.unlink(missing_ok=True)


def latest_run(runs_dir: Path) -> Path:
    """The run ``runs_dir/latest`` names; ``RunDirectoryError`` when there is none."""
    marker = runs_dir / LATEST
    try:
        if marker.is_symlink():
            name = os.readlink(marker)
        elif marker.is_dir():
            raise RunDirectoryError(
                f"{marker} is a folder, where cit keeps the name of the latest run: move it away "
                "(the next run writes it again), or name the run you mean"
            )
        elif marker.is_file():
            with marker.open(encoding="utf-8", errors="replace") as handle:
                name = handle.read(LATEST_LIMIT).strip()
        else:
            raise RunDirectoryError(f"no run under {runs_dir} yet: run one, or name one")
    except OSError as exc:
        raise RunDirectoryError(f"cannot read {marker}: {exc.strerror}") from None
    run_dir = runs_dir / name
    if Path(name).name != name or name in ("", ".", "..") or not run_dir.is_dir():
        raise RunDirectoryError(f"{marker} names '{name}', which is not a run under {runs_dir}")
    return run_dir


def find_run(runs_dir: Path, given: str | Path | None, *, report_file: bool = False) -> Path:
    """The run ``given`` names: a run id under ``runs_dir`` (``latest``: the newest run), else
    the path of a run's folder (one holding its ``manifest.json``); the latest run without
    ``given``. With ``report_file`` (a report to render), a folder or file that exists is taken
    as it is, before a run id of the same name: the report reader says what it lacks. A
    ``RunDirectoryError`` naming ``given`` when it is none of these."""
    if given is None:
        return latest_run(runs_dir)
    name = str(given)
    path = Path(name)
    marker = runs_dir / LATEST
    if name == LATEST and (marker.is_symlink() or marker.exists()):
        return latest_run(runs_dir)
    if report_file and path.exists():
        return path
    named = runs_dir / name
    if path.name == name and name not in (".", "..") and (named / MANIFEST).is_file():
        return named
    if report_file and path.name == name and named.is_dir():
        return named  # a run without a manifest (a test-all run): its report may be there
    if (path / MANIFEST).is_file():
        return path
    if path.is_dir():
        raise RunDirectoryError(f"'{name}' is a folder but not a run's: it holds no {MANIFEST}")
    what = "a run id, a run's folder or its report.json"
    if not report_file:
        what = "a run id or a run's folder"
    raise RunDirectoryError(f"no run '{name}' under {runs_dir}, nor a path to one: give {what}")


def read_manifest(run_dir: Path) -> RunResult:
    """The run recorded in ``run_dir/manifest.json``; ``RunDirectoryError`` when it cannot be
    read."""

    path = run_dir / MANIFEST
    try:
        run = RunResult.model_validate_json(read_bytes(path, MAX_MANIFEST_BYTES))
    except InputError as exc:
        raise RunDirectoryError(f"cannot read the run's {path}: {exc.detail}") from None
    except ValueError as exc:
        raise RunDirectoryError(f"cannot read the run's {path}: {first_line(exc)}") from None
    return settled(run)


def settled(run: RunResult) -> RunResult:
    """``run`` as it really ended: one its manifest calls ``running`` whose cit process is
    gone (killed, or its machine restarted) was interrupted, when is not known; its running
    steps were interrupted, its pending ones never started. A run of another machine, or one
    that records no owner (written by an older cit), is left as it is."""
    if run.status is not Status.RUNNING or run.owner is None:
        return run
    if owner_alive(run.owner) is not False:
        return run
    reason = f"cit ({run.owner}) ended without finishing the run: killed, or its machine restarted"
    return run.model_copy(
        update={
            "status": Status.INTERRUPTED,
            "reason": run.reason or reason,
            "steps": [_settled_step(step, reason) for step in run.steps],
        }
    )


def still_running(run: RunResult) -> bool:
    """Whether ``run`` is going on now: its manifest says running and its cit process is
    alive on this machine."""
    return run.status is Status.RUNNING and run.owner is not None and bool(owner_alive(run.owner))


def _settled_step(step: StepResult, reason: str) -> StepResult:
    if step.status is Status.RUNNING:
        return step.model_copy(update={"status": Status.INTERRUPTED, "reason": reason})
    if step.status is Status.PENDING:
        return step.model_copy(
            update={"status": Status.SKIPPED, "reason": INTERRUPTED_BEFORE_START}
        )
    return step


class SpaceReserve:
    """Disk space set aside in a run directory while the run goes on, given back when a write
    finds the disk full, so that the run can still record how it ended."""

    def __init__(self, run_dir: Path, size: int = RESERVE_BYTES) -> None:
        self.path = run_dir / RESERVE
        self.size = size
        self.held = False

    def hold(self) -> None:
        """Set the space aside; a ``RunDirectoryError`` naming the disk when it is full."""
        try:
            with self.path.open("wb") as handle:
                _allocate(handle.fileno(), self.size)
        except OSError as exc:
            self.path.unlink(missing_ok=True)
            if exc.errno in FULL_DISK:
                raise RunDirectoryError(write_problem(exc, self.path)) from None
            return  # a file system that cannot hold it only loses the safety net
        self.held = True

    def release(self) -> bool:
        """Give the space back; whether there was any to give."""
        held, self.held = self.held, False
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        return held


def _allocate(fd: int, size: int) -> None:
    """Really take ``size`` bytes of the disk (a sparse file would take none)."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
    zeros = memoryview(bytes(size))
    while zeros:
        zeros = zeros[os.write(fd, zeros) :]


def write_manifest(
    run_dir: Path, data: dict[str, object], reserve: SpaceReserve | None = None
) -> None:
    """Write ``manifest.json`` whole or not at all; on a full disk give back ``reserve`` and
    try once more. An ``OSError`` names the path (for ``write_problem``)."""
    path = run_dir / MANIFEST
    try:
        write_json_atomic(path, data)
    except OSError as exc:
        if exc.errno not in FULL_DISK or reserve is None or not reserve.release():
            raise
        write_json_atomic(path, data)
