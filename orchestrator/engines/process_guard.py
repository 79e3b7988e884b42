"""A step's host process dies with cit, and what a killed cit left behind is found again.

Each process of process isolation runs in a process group of its own, from a scratch folder
``<tmp>/cit-process-*`` holding a marker (``owner.json``): the cit process that started it
(``owner.Owner``), the run and step, the group and when its leader started.

A watchdog (``sh``, started beside the group) waits on a pipe that only cit holds open. cit
tells it "done" when the step ends; when cit dies instead, even by SIGKILL, the kernel closes
the pipe and the watchdog kills the whole group. What is left after that (no ``sh``, the
watchdog killed too) ``sweep_leftovers`` finds by the markers: it kills a group that is still
the one cit started and removes the folder (``cit clean``, and the first process run of a cit).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..container_files import read_bounded
from ..files import write_text_atomic
from .owner import (
    Owner,
    owner_alive,
    pid_alive,
    process_group,
    running_pids,
    start_ticks,
    this_process,
)
from .spec import RUN_LABEL, STEP_LABEL, ContainerSpec

SCRATCH_PREFIX = "cit-process-"
MARKER = "owner.json"
MARKER_LIMIT = 64 * 1024
WATCHDOG = 'read line || kill -KILL -"$1" 2>/dev/null'
"""``sh -c WATCHDOG sh PGID``: a line on stdin stands it down; end of input kills the group."""
WATCHDOG_EXIT_SECONDS = 2.0


class Marker(BaseModel):
    """What a scratch folder records of the process it was made for."""

    owner: Owner
    run_id: str | None = None
    step: str | None = None
    pgid: int | None = None
    """The process group (its leader's pid), once the process started."""
    leader_started: int | None = None
    """When the group's leader started (Linux clock ticks): tells the group from a later one."""


def scratch_folder(spec: ContainerSpec) -> tuple[Path, Marker]:
    """A new scratch folder for ``spec``'s process, marked with this cit process as owner."""
    folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    marker = Marker(
        owner=this_process(), run_id=spec.labels.get(RUN_LABEL), step=spec.labels.get(STEP_LABEL)
    )
    try:
        _write_marker(folder, marker)
    except OSError:  # a full /tmp: no unmarked folder is left behind
        remove_folder(folder)
        raise
    return folder, marker


def record_group(folder: Path, marker: Marker, leader: int) -> None:
    """Add the process group led by ``leader`` to the folder's marker."""
    _write_marker(
        folder, marker.model_copy(update={"pgid": leader, "leader_started": start_ticks(leader)})
    )


def _write_marker(folder: Path, marker: Marker) -> None:
    write_text_atomic(folder / MARKER, marker.model_dump_json())


@dataclass
class Watchdog:
    """Kills a process group when cit dies; ``stand_down`` when the group has been dealt with."""

    process: subprocess.Popen[bytes]
    pipe: int
    """The write end: held by cit alone (not inherited), so it closes when cit dies."""

    @classmethod
    def start(cls, pgid: int) -> Watchdog | None:
        """A watchdog over group ``pgid``; None where none can start (no ``sh``)."""
        if pgid <= 1:
            return None
        read_end, write_end = os.pipe()
        try:
            process = subprocess.Popen(
                ["sh", "-c", WATCHDOG, "sh", str(pgid)],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the terminal is cit's to handle, not its
            )
        except OSError:
            os.close(write_end)
            return None
        finally:
            os.close(read_end)
        return cls(process, write_end)

    def stand_down(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.pipe, b"done\n")
        with contextlib.suppress(OSError):
            os.close(self.pipe)
        try:
            self.process.wait(WATCHDOG_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# What a killed cit left ------------------------------------------------------------------


def sweep_leftovers(*, include_live: bool = False, temp_dir: Path | None = None) -> list[str]:
    """Kill the processes and remove the scratch folders that cit processes of this machine
    that have ended left behind (with ``include_live``, those of running ones too); one line
    for each folder removed. Only folders of this user that carry a marker are touched."""
    root = temp_dir or Path(tempfile.gettempdir())
    removed = []
    for folder in sorted(root.glob(f"{SCRATCH_PREFIX}*")):
        marker = _read_marker(folder)
        if marker is None:
            continue
        alive = owner_alive(marker.owner)
        if alive is None or (alive and not include_live):
            continue
        killed = end_group(marker)
        remove_folder(folder)
        removed.append(_describe(folder, marker, killed))
    return removed


def _read_marker(folder: Path) -> Marker | None:
    """The marker of one of this user's scratch folders; None for anything else."""
    try:
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return None
        # The step ran in this folder: its marker may have been swapped for a link or a FIFO.
        data, _ = read_bounded(folder / MARKER, MARKER_LIMIT, root=folder)
        return Marker.model_validate_json(data)
    except (OSError, ValidationError):
        return None


def end_group(marker: Marker) -> int:
    """SIGKILL to what is left of the marker's process group, while it can be told to be the
    same group; how many processes were signalled."""
    members = group_members(marker)
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(members)


def group_members(marker: Marker) -> list[int]:
    """The processes of the marker's group (Linux). It is the same group while its leader runs
    with the start time recorded, or, its leader gone, while every member started after it
    (the kernel gives no new process a pid still in use as a group id). Empty where the system
    does not tell (no /proc): the watchdog is then what ends the group."""
    pgid = marker.pgid
    if pgid is None or pgid <= 1:
        return []
    members = [pid for pid in running_pids() if process_group(pid) == pgid]
    if not members:
        return []
    if pid_alive(pgid) and pgid in members:
        leader = start_ticks(pgid)
        same = marker.leader_started is None or leader == marker.leader_started
        return members if same else []
    since = marker.leader_started
    if since is None:
        return []
    return [pid for pid in members if (start_ticks(pid) or -1) >= since]


def _describe(folder: Path, marker: Marker, killed: int) -> str:
    of = f"run {marker.run_id}, step {marker.step}" if marker.run_id else "a process run"
    ended = f"; killed {killed} process(es) still running" if killed else ""
    return f"{folder} ({of}, left by cit {marker.owner}){ended}"


def remove_folder(folder: Path) -> None:
    """Remove ``folder``, read-only copies in it included."""
    _writable_folders(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _writable_folders(folder: Path) -> None:
    """Give the owner full access to ``folder`` and every folder under it (symlinks are not
    followed), so that what they hold can be removed."""
    with contextlib.suppress(OSError):
        folder.chmod(stat.S_IRWXU)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    _writable_folders(Path(entry.path))
