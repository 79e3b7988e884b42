"""A training step's requirements.txt: which steps have one, how the container installs it,
and that its wheels are fetched once per content."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.engines import image_build as ib
from orchestrator.errors import CitError, ImageBuildError
from orchestrator.run import step_requirements as sr
from orchestrator.run.sagemaker_job import StepPaths, translate
from tests.unit.test_sagemaker_contract import CTX, mounts, processing_step, training_step

RUNNER = "cit-runner:0.1.0"


@pytest.fixture
def project(project: Path) -> Path:
    """The shared project, its scripts folder holding a requirements.txt."""
    (project / "scripts" / "requirements.txt").write_text("tabulate==0.9.0\n")
    return project


def test_only_a_training_step_with_requirements_in_its_source_dir_on_a_runner(
    project: Path,
) -> None:
    with_dir = training_step(project, source_dir="scripts")
    assert sr.requirements_of(with_dir, RUNNER) == project / "scripts" / "requirements.txt"
    assert sr.requirements_of(with_dir, "cit-runner:0.1.0-add-abc") is not None
    assert sr.requirements_of(training_step(project), RUNNER) is None  # no source_dir
    assert sr.requirements_of(with_dir, "my/sklearn:1") is None  # its own image installs them
    processing = processing_step(project, source_dir="scripts", inputs={}, outputs=[])
    assert sr.requirements_of(processing, RUNNER) is None
    (project / "scripts" / "requirements.txt").unlink()
    assert sr.requirements_of(with_dir, RUNNER) is None


def test_the_container_installs_from_the_mounted_wheels_then_runs_the_script(
    project: Path,
) -> None:
    step = training_step(project, source_dir="scripts")
    wheels = project / "cache" / "wheels"
    plain = translate(step, {}, StepPaths(project / "run" / "train"), CTX).container
    spec = translate(step, {}, StepPaths(project / "run" / "train"), replace(CTX, wheels=wheels))
    assert spec.container.entrypoint == ("/bin/sh", "-c", sr.INSTALL_THEN_RUN, "sh")
    assert spec.container.command == (*(plain.entrypoint or ()), *plain.command)
    assert mounts(spec)[sr.WHEELS_MOUNT] == (str(wheels), True)
    assert "--no-index" in sr.INSTALL_THEN_RUN and 'exec "$@"' in sr.INSTALL_THEN_RUN
    assert "/opt/ml/code/requirements.txt" in sr.INSTALL_THEN_RUN
    assert not spec.container.network


def test_wheels_are_fetched_once_per_content(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def download(
        requirements: Path, dest: Path, arch: str, on_line: ib.OnLine, constraints: object = None
    ) -> None:
        calls.append(requirements)
        dest.mkdir(parents=True)
        (dest / "tabulate-0.9.0-py3-none-any.whl").write_bytes(b"w")

    monkeypatch.setattr(ib, "download_wheels", download)
    steps = [training_step(project, source_dir="scripts")]
    first = sr.fetch_step_wheels(steps, RUNNER, lambda _: None, tmp_path / "cache")
    second = sr.fetch_step_wheels(steps, RUNNER, lambda _: None, tmp_path / "cache")
    assert first == second and list(first) == ["train"]
    assert len(calls) == 1
    (project / "scripts" / "requirements.txt").write_text("tabulate==0.8.10\n")
    sr.fetch_step_wheels(steps, RUNNER, lambda _: None, tmp_path / "cache")
    assert len(calls) == 2


def test_wheels_pip_cannot_fetch_name_the_step_and_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def download(*args: object, **kwargs: object) -> None:
        raise ImageBuildError("pip download failed (exit 1): No matching distribution")

    monkeypatch.setattr(ib, "download_wheels", download)
    steps = [training_step(project, source_dir="scripts")]
    with pytest.raises(CitError, match=r"^step 'train': cannot fetch the wheels of .*requirements"):
        sr.fetch_step_wheels(steps, RUNNER, lambda _: None, tmp_path / "cache")
