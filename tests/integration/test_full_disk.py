"""A run directory on a disk that fills up, for real: a small tmpfs holds `.cit`, and a
container writes more than it holds. The step keeps its exit code and status, the failure names
the path and the disk, the manifest ends `failed`/`error` (never `running`), and no file is
left half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator import RunSettings, Status
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.rundir import RESERVE

from .conftest import write_script

DISK = "3m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted for the test (needs root); skipped where it cannot be mounted."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=1777", "tmpfs", str(folder)]
    try:
        done = subprocess.run(mount, capture_output=True, text=True, check=False)
    except OSError as exc:
        pytest.skip(f"cannot mount a small tmpfs: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def half_written(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.rglob("*") if p.name.endswith(".partial") or p.name == RESERVE]


def test_a_log_that_fills_the_disk_keeps_the_exit_code_and_names_the_disk(
    runner_image: str, small_disk: Path, tmp_path: Path
) -> None:
    write_script(
        tmp_path,
        "noisy.py",
        """
        import sys
        for i in range(80000):
            print(f"line {i:06d} " + "x" * 60)
        sys.exit(3)
        """,
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        "name: noisy\nsteps:\n  s: {kind: processing, script: noisy.py}\n",
    )
    cit_dir = small_disk / ".cit"
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(path),
               "--cit-dir", str(cit_dir), "--quiet"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "COLUMNS": "250"})  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "(None)" not in output and "OSError" not in output
    [run_dir] = (cit_dir / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    step = manifest["steps"][0]
    assert manifest["status"] == "failed" and step["status"] == "failed"
    assert step["exit_code"] == 3
    log = run_dir / "steps" / "s" / "log.txt"
    problem = f"no space left on device writing {log} (the disk mounted at {small_disk} is full)"
    assert problem in step["reason"] and problem in manifest["reason"]
    assert step["log_tail"][-1].startswith("line 079999")
    assert json.loads((run_dir / "report.json").read_text())["outcome"] == "failed"
    assert half_written(run_dir) == []


def test_a_model_too_big_to_pack_keeps_exit_code_0_and_is_an_error(
    engine: DockerEngine, runner_image: str, small_disk: Path, tmp_path: Path
) -> None:
    write_script(
        tmp_path,
        "train.py",
        """
        import os
        with open("/opt/ml/model/weights.bin", "wb") as handle:
            handle.write(os.urandom(1200 * 1024))
        print("saved")
        """,
    )
    path = write_script(
        tmp_path,
        "pipeline.yaml",
        """
        name: big-model
        steps:
          train: {kind: training, script: train.py}
          evaluate:
            kind: processing
            script: train.py
            inputs: {model: {step: train, output: model}}
        """,
    )
    settings = RunSettings(cit_dir=small_disk / ".cit", max_workers=1)
    result = execute_pipeline(path, engine, settings=settings)
    train = result.step("train")
    assert train.status is Status.ERROR and train.exit_code == 0, train.reason
    assert train.fault is not None and "model.tar.gz" in train.fault
    assert f"(the disk mounted at {small_disk} is full)" in train.fault
    assert result.step("evaluate").status is Status.SKIPPED
    run_dir = Path(result.run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["reason"] == train.fault
    assert half_written(run_dir) == []
