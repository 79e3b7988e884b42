"""The cit process that owns a run, a container or a host process, and whether it is still alive.

A pid alone is not enough to tell: after a restart, or once the numbers wrap, another process
has it. So an owner is recorded with its machine, the boot it ran in and, where the system
tells (Linux), its start time; an owner is gone when its pid is free, or taken by a process
that started at another time, or when the machine has restarted since.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

from pydantic import BaseModel, ConfigDict

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
PROC = Path("/proc")


class Owner(BaseModel):
    """One process of one machine, told apart from a later process with the same pid."""

    model_config = ConfigDict(frozen=True)

    host: str
    pid: int
    boot_id: str | None = None
    """The machine's boot (Linux): a run of an earlier boot has ended."""
    started: int | None = None
    """The process's start time in clock ticks since boot (Linux)."""

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


def this_process() -> Owner:
    """The running cit process."""
    pid = os.getpid()
    return Owner(host=socket.gethostname(), pid=pid, boot_id=boot_id(), started=start_ticks(pid))


def owner_alive(owner: Owner) -> bool | None:
    """Whether ``owner`` still runs; None when it cannot be told from here (another machine)."""
    if owner.host != socket.gethostname():
        return None
    if owner.boot_id is not None and boot_id() not in (None, owner.boot_id):
        return False
    if not pid_alive(owner.pid):
        return False
    if owner.started is None:
        return True
    started = start_ticks(owner.pid)
    return started is None or started == owner.started


def pid_alive(pid: int) -> bool:
    """Whether a process (of any user) has ``pid`` on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache  # one boot per process: `cit history` asks once per run
def boot_id() -> str | None:
    """The identity of this boot of the machine, where the system gives one (Linux)."""
    try:
        return BOOT_ID_FILE.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (Linux); None where it cannot be read."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def process_group(pid: int) -> int | None:
    """The process group of ``pid`` (Linux); None where it cannot be read."""
    fields = _stat_fields(pid)
    return int(fields[2]) if fields is not None and len(fields) > 2 else None


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first)."""
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces and parentheses itself.
    return text[text.rfind(")") + 2 :].split()


def running_pids() -> list[int]:
    """Every pid in /proc (Linux); empty where there is none."""
    try:
        return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return []
