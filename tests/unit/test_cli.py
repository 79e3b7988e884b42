"""The command line: exit codes and one-line messages, without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app

from .conftest import write

runner = CliRunner()


def test_bad_pipeline_file_exits_2_with_one_line(project: Path) -> None:
    path = write(
        project, "bad.yaml", "name: x\nsteps:\n  a: {kind: nope, script: scripts/prep.py}\n"
    )
    result = runner.invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "steps.a.kind" in lines[0] and "Traceback" not in result.output


def test_missing_pipeline_file_exits_2(project: Path) -> None:
    result = runner.invoke(app, ["run", "--dag", str(project / "nope.py")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_no_engine_exits_2_and_says_how_to_start_one(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/no-such.sock")
    path = write(
        project, "ok.yaml", "name: x\nsteps:\n  a: {kind: processing, script: scripts/prep.py}\n"
    )
    result = runner.invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2
    assert "no Docker engine answers" in result.output and "dockerd" in result.output
    assert not (project / ".cit").exists()


def test_invalid_option_exits_2(project: Path) -> None:
    result = runner.invoke(app, ["run", "--dag", "x.py", "--max-workers", "0"])
    assert result.exit_code == 2


def test_image_build_rejects_unknown_mode() -> None:
    result = runner.invoke(app, ["image", "build", "--mode", "cloud"])
    assert result.exit_code == 2 and "allowed: auto, registry, bootstrap" in result.output
