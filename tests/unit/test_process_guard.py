"""Host processes die with cit (the watchdog) and what a killed cit left is found by its
markers (``sweep_leftovers``): real processes, in a temporary folder standing for /tmp."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.engines.owner import Owner, start_ticks, this_process
from orchestrator.engines.process_guard import (
    MARKER,
    SCRATCH_PREFIX,
    Marker,
    Watchdog,
    sweep_leftovers,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


@pytest.fixture
def group() -> Iterator[subprocess.Popen[bytes]]:
    """A process group as process isolation starts one: a leader with a child."""
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60; wait"], start_new_session=True)
    yield leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader.pid, 9)
    leader.wait()


def members(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def gone_within(pgid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def ended_owner() -> Owner:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return this_process().model_copy(update={"pid": int(done.stdout), "started": None})


def scratch(root: Path, marker: Marker) -> Path:
    folder = root / f"{SCRATCH_PREFIX}test"
    (folder / "inputs").mkdir(parents=True)
    (folder / "inputs" / "copy.csv").write_text("a\n1\n")
    (folder / "inputs" / "copy.csv").chmod(0o444)
    (folder / MARKER).write_text(marker.model_dump_json())
    return folder


def wait_for_members(pgid: int, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(members(pgid)) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_leftovers_of_an_ended_cit_are_killed_and_removed(
    tmp_path: Path, group: subprocess.Popen[bytes]
) -> None:
    wait_for_members(group.pid, 3)
    marker = Marker(owner=ended_owner(), run_id="r1", step="s", pgid=group.pid,
                    leader_started=start_ticks(group.pid))  # fmt: skip
    folder = scratch(tmp_path, marker)
    [line] = sweep_leftovers(temp_dir=tmp_path)
    assert str(folder) in line and "run r1, step s" in line and "killed 3 process(es)" in line
    assert gone_within(group.pid)
    assert not folder.exists()


def test_leftovers_of_a_running_cit_are_kept_unless_forced(
    tmp_path: Path, group: subprocess.Popen[bytes]
) -> None:
    marker = Marker(owner=this_process(), pgid=group.pid, leader_started=start_ticks(group.pid))
    folder = scratch(tmp_path, marker)
    assert sweep_leftovers(temp_dir=tmp_path) == []
    assert folder.exists() and members(group.pid)
    assert len(sweep_leftovers(temp_dir=tmp_path, include_live=True)) == 1
    assert gone_within(group.pid) and not folder.exists()


def test_a_group_that_is_not_the_one_recorded_is_left_alone(
    tmp_path: Path, group: subprocess.Popen[bytes]
) -> None:
    started = start_ticks(group.pid)
    assert started is not None
    marker = Marker(owner=ended_owner(), pgid=group.pid, leader_started=started - 1)
    folder = scratch(tmp_path, marker)
    [line] = sweep_leftovers(temp_dir=tmp_path)
    assert "killed" not in line and not folder.exists()
    assert members(group.pid), "a process cit did not start was killed"


def test_a_folder_without_a_marker_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / f"{SCRATCH_PREFIX}old"
    folder.mkdir()
    assert sweep_leftovers(temp_dir=tmp_path) == []
    assert folder.exists()


@pytest.mark.parametrize("planted", ["link", "fifo"])
def test_a_marker_the_step_swapped_for_a_link_or_a_fifo_is_not_read(
    tmp_path: Path, planted: str
) -> None:
    """The step ran inside the folder and may plant either; a sweep must neither hang on a
    FIFO nor follow a link to another cit's marker."""
    folder = tmp_path / f"{SCRATCH_PREFIX}planted"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(
        Marker(owner=ended_owner(), run_id="r", step="s", pgid=1).model_dump_json()
    )
    if planted == "link":
        (folder / MARKER).symlink_to(elsewhere)
    else:
        os.mkfifo(folder / MARKER)
    assert sweep_leftovers(temp_dir=tmp_path) == []
    assert folder.exists()


def test_the_watchdog_kills_the_group_when_cit_dies(group: subprocess.Popen[bytes]) -> None:
    wait_for_members(group.pid, 3)
    watchdog = Watchdog.start(group.pid)
    assert watchdog is not None
    os.close(watchdog.pipe)  # what the kernel does when cit is killed
    assert gone_within(group.pid)
    watchdog.process.wait(5)


def test_a_watchdog_stood_down_kills_nothing(group: subprocess.Popen[bytes]) -> None:
    watchdog = Watchdog.start(group.pid)
    assert watchdog is not None
    watchdog.stand_down()
    assert watchdog.process.returncode == 0
    assert members(group.pid)
