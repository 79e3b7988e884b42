"""`kill -9` of cit mid-run: a host process of process isolation dies with it, `cit clean`
removes what is left, and the run reads as interrupted in `cit history` and `cit report`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.owner import pid_alive
from orchestrator.engines.process_guard import MARKER, SCRATCH_PREFIX
from orchestrator.engines.spec import MANAGED_LABEL, RUN_LABEL, STEP_LABEL

from .conftest import start_cit_run, write_script
from .test_interrupt import wait_for

SLOW_MAIN = """
import os, subprocess, time

def main(input_paths, output_paths, environ_vars, job_args):
    child = subprocess.Popen(["sleep", "300"])
    with open(environ_vars["PID_FILE"] + ".partial", "w") as handle:
        handle.write(f"{os.getpid()} {child.pid}")
    os.replace(environ_vars["PID_FILE"] + ".partial", environ_vars["PID_FILE"])
    time.sleep(300)
"""


def cit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )


def scratch_folders_of(pid: int) -> list[Path]:
    """The process-isolation scratch folders the cit process ``pid`` made."""
    found = []
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        try:
            marker = json.loads((folder / MARKER).read_text())
        except (OSError, ValueError):
            continue
        if marker["owner"]["pid"] == pid:
            found.append(folder)
    return found


def history_outcome(cit_dir: Path) -> str:
    done = cit("history", "--cit-dir", str(cit_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    for outcome in ("interrupted", "running", "failed", "passed"):
        if outcome in done.stdout:
            return outcome
    return done.stdout


def test_kill_9_during_a_process_run_kills_the_script_and_clean_removes_its_folder(
    tmp_path: Path,
) -> None:
    write_script(tmp_path, "slow.py", SLOW_MAIN)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("a\n1\n")
    pid_file = tmp_path / "pids"
    write_script(
        tmp_path,
        "cases.yaml",
        f"""
        test_cases:
          - name: sleeps
            input_data: {{data: data}}
            environment_vars: {{PID_FILE: "{pid_file}"}}
        """,
    )
    cit_dir = tmp_path / ".cit"
    command = [
        sys.executable, "-m", "orchestrator", "test-script", "--isolation", "process",
        "--script", str(tmp_path / "slow.py"), "--test-cases", str(tmp_path / "cases.yaml"),
        "--cit-dir", str(cit_dir), "--quiet",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(pid_file.exists, 60)
        script, child = (int(word) for word in pid_file.read_text().split())
        assert scratch_folders_of(process.pid), "the run's scratch folder carries no marker"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        wait_for(lambda: not _running(script) and not _running(child), 5)
    finally:
        if process.poll() is None:
            process.kill()
    assert history_outcome(cit_dir) == "interrupted"
    done = cit("clean")
    left = scratch_folders_of(process.pid)
    assert not left, f"left behind: {left}\n{done.stdout}{done.stderr}"
    assert f"{SCRATCH_PREFIX}" in done.stdout


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return pid_alive(pid)
    return state != "Z"


def test_kill_9_during_a_container_run_is_interrupted_and_clean_removes_the_container(
    engine: DockerEngine, runner_image: str, tmp_path: Path
) -> None:
    write_script(
        tmp_path, "slow.py", "import time\nprint('working', flush=True)\ntime.sleep(300)\n"
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        "name: killed\nsteps:\n  slow: {kind: processing, script: slow.py}\n",
    )
    cit_dir = tmp_path / ".cit"
    process = start_cit_run(path, cit_dir)
    try:
        wait_for(lambda: _containers(engine, cit_dir, running=True), 60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert history_outcome(cit_dir) == "interrupted"
    [run_dir] = (cit_dir / "runs").iterdir()
    report = cit("report", "--test-results", str(run_dir), "--format", "json")
    assert report.returncode == 0 and "(interrupted)" in report.stdout, report.stdout
    assert json.loads((run_dir / "report.json").read_text())["outcome"] == "interrupted"
    assert _containers(engine, cit_dir), "the killed cit's container should still be there"
    done = cit("clean")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not _containers(engine, cit_dir)


def _containers(engine: DockerEngine, cit_dir: Path, running: bool = False) -> list[str]:
    runs = cit_dir / "runs"
    ids = [p.name for p in runs.iterdir()] if runs.is_dir() else []
    return [
        c.name
        for run_id in ids
        for c in engine.list_containers({MANAGED_LABEL: "true", RUN_LABEL: run_id})
        if c.labels.get(STEP_LABEL) == "slow" and (not running or c.status == "running")
    ]


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
