"""`cit run` as a user runs it: a real process, real containers, its exit code and files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from orchestrator.engines.docker_engine import DockerEngine

from ..runs import run_dirs
from .conftest import EXAMPLE, write_script


def cit(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator", *args]


def test_output_piped_into_head_keeps_logs_and_exit_code(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    command = cit(
        "run",
        "--dag",
        str(EXAMPLE / "pipeline.yaml"),
        "--cit-dir",
        str(tmp_path / ".cit"),
    )
    shell = " ".join(command) + " | head -n 2 > /dev/null; exit ${PIPESTATUS[0]}"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    [run_dir] = run_dirs(tmp_path / ".cit" / "runs")
    log = (run_dir / "steps/preprocess/log.txt").read_text().splitlines()
    assert len(log) > 5 and any("test.csv" in line for line in log)


def test_failed_step_exits_1_and_shows_its_log_tail(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "crash.py", "print('reading input')\nraise SystemExit('bad column')\n")
    path = write_script(
        tmp_path, "p.yaml", "name: c\nsteps:\n  s: {kind: processing, script: crash.py}\n"
    )
    done = subprocess.run(
        cit("run", "--dag", str(path), "--cit-dir", str(tmp_path / ".cit")),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "failed" in done.stdout and "bad column" in done.stdout
    assert "reading input" in done.stdout
