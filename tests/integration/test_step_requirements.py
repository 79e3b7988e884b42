"""A training step's requirements.txt is installed before its script, from wheels fetched on
the host once: the second run downloads nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import RUN_LABEL
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.settings import RunSettings

from .conftest import write_script

TRAIN = """
import tabulate  # not in the runner image: requirements.txt brings it

print("imported tabulate", tabulate.__version__)
"""


def pipeline(folder: Path) -> Path:
    write_script(folder, "code/train.py", TRAIN)
    write_script(folder, "code/requirements.txt", "tabulate==0.9.0\n")
    write_script(folder, "data/train/train.csv", "label,x\n0,1.0\n")
    return write_script(
        folder,
        "pipeline.yaml",
        """
        name: reqs
        steps:
          train:
            kind: training
            script: train.py
            source_dir: code
            inputs: {train: data/train}
        """,
    )


@pytest.mark.parametrize("user", [None, "65534:65534"], ids=["as-root", "as-nobody"])
def test_requirements_are_installed_offline_and_fetched_once(
    user: str | None,
    engine: DockerEngine,
    runner_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As root pip installs into the image's site-packages; as another user (cit's default
    when not run as root) into that user's site-packages, as pip does on its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = pipeline(tmp_path)
    settings = RunSettings(cit_dir=tmp_path / ".cit", user=user)
    runs: list[list[str]] = []
    try:
        for _ in range(2):
            lines: list[str] = []
            engine.pull_progress = lines.append
            result = execute_pipeline(path, engine, settings=settings)
            train = result.step("train")
            assert result.ok, (train.status, train.message, train.log_tail[-20:])
            assert not engine.list_containers({RUN_LABEL: result.run_id})
            runs.append(lines)
            log = (Path(result.run_dir) / "steps/train/log.txt").read_text()
            assert "cit: installing requirements.txt" in log
            assert "Successfully installed tabulate-0.9.0" in log
            assert "imported tabulate 0.9.0" in log
    finally:
        engine.pull_progress = None
    first, second = runs
    assert any("Saved" in line and "tabulate-0.9.0" in line for line in first), first
    fetched = ("Saved", "Downloading", "Collecting")
    assert not any(line.lstrip().startswith(fetched) for line in second), second
    assert any(line.startswith("using cached wheels") for line in second), second
