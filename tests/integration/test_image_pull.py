"""A step's image that is not on the engine, with no registry reachable: one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.errors import PullError

from .conftest import write_script

ABSENT = "cit-test/absent-image:1"


def registry_reachable(engine: DockerEngine) -> bool:
    try:
        engine.pull("hello-world:latest")
    except PullError as exc:
        return not exc.unreachable
    return True


def test_an_image_no_registry_can_give_stops_the_run_in_one_line(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    if registry_reachable(engine):
        pytest.skip("a registry is reachable here: the unreachable case cannot be shown")
    write_script(tmp_path, "s.py", "print('never runs')\n")
    path = write_script(
        tmp_path,
        "p.yaml",
        f"name: c\nsteps:\n  s: {{kind: processing, script: s.py, image: '{ABSENT}'}}\n",
    )
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "run", "--dag", str(path),
         "--cit-dir", str(tmp_path / ".cit")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, done.stderr
    where = f"error: {tmp_path / 'p.yaml'}: steps.s.image: "
    assert errors[0].startswith(f"{where}cannot pull {ABSENT}: no registry reachable (")
    assert errors[0].endswith(
        "; build it or tag one of yours with that name"
        " (a SageMaker pipeline can map it with --image-map)"
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / ".cit" / "runs").exists() or not any((tmp_path / ".cit/runs").iterdir())
