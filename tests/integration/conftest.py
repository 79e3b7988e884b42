"""Fixtures for tests that run real containers on the real Docker engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest

from orchestrator.engines.docker_engine import DockerEngine, connect
from orchestrator.engines.image_build import build_runner_image
from orchestrator.engines.spec import RUN_LABEL
from orchestrator.errors import EngineUnavailable
from orchestrator.run.settings import RUNNER_IMAGE, RunSettings

from ..runs import run_dirs

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "tabular"


REQUIRE_ENGINE = "CIT_REQUIRE_ENGINE"
"""Set (to 1) where an engine must be there, as in CI: a missing engine is then an error."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if "tests/integration/" in str(item.path)]
    for item in ours:
        item.add_marker(pytest.mark.integration)
    missing = _missing_engine() if ours else None
    if missing is None:
        return
    if os.environ.get(REQUIRE_ENGINE, "") not in ("", "0"):
        raise pytest.UsageError(f"{REQUIRE_ENGINE} is set but {missing}")
    skip = pytest.mark.skip(reason=f"integration tests need a Docker engine: {missing}")
    for item in ours:
        item.add_marker(skip)


def _missing_engine() -> str | None:
    """Why no engine can be used, or None when one answers."""
    try:
        connect(timeout_seconds=10).client.close()
    except EngineUnavailable as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def engine() -> DockerEngine:
    try:
        return connect()
    except EngineUnavailable as exc:
        pytest.fail(f"integration tests need a Docker engine: {exc}")


@pytest.fixture(scope="session")
def runner_image(engine: DockerEngine) -> str:
    """The default runner image, built once if this engine does not have it yet."""
    if engine.image_id(RUNNER_IMAGE) is None:
        build_runner_image(engine.image_tools(), tag=RUNNER_IMAGE, on_line=print)
    return RUNNER_IMAGE


@pytest.fixture
def no_leftovers(engine: DockerEngine, tmp_path: Path) -> Iterator[None]:
    """Fails the test if a container of any run it made (under tmp_path) is still there."""
    yield
    runs = tmp_path / ".cit" / "runs"
    run_ids = [p.name for p in runs.iterdir()] if runs.is_dir() else []
    left = [c.name for r in run_ids for c in engine.list_containers({RUN_LABEL: r})]
    assert not left, f"containers left behind: {left}"


@pytest.fixture
def settings(tmp_path: Path) -> RunSettings:
    return RunSettings(cit_dir=tmp_path / ".cit", max_workers=2)


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def start_cit_run(path: Path, cit_dir: Path, env: dict[str, str] | None = None) -> Popen[bytes]:
    """`cit run` as a separate process, as a user starts it."""
    command = [
        sys.executable,
        "-m",
        "orchestrator",
        "run",
        "--dag",
        str(path),
        "--cit-dir",
        str(cit_dir),
    ]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )


def the_run(cit_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The only run directory under ``cit_dir`` and its manifest."""
    [run_dir] = run_dirs(cit_dir / "runs")
    return run_dir, json.loads((run_dir / "manifest.json").read_text())


def cit_test_script(
    script: Path, cases: Path, root: Path, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`cit test-script` as a separate process, its runs and JSON report under ``root``."""
    report = root / "report.json"
    command = [
        sys.executable, "-m", "orchestrator", "test-script",
        "--script", str(script),
        "--test-cases", str(cases),
        "--cit-dir", str(root / ".cit"),
        "--output-report", str(report),
        "--quiet",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=cwd, check=False
    )
    return done, report


SAGEMAKER_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"


@pytest.fixture
def tabular_definition(tmp_path: Path) -> Path:
    """A copy of examples/tabular holding, beside pipeline.py, the SageMaker pipeline
    definition the SageMaker SDK writes for it (tests/fixtures/sagemaker/generate.py)."""
    folder = tmp_path / "tabular"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    target = folder / "pipeline.definition.json"
    shutil.copy(SAGEMAKER_FIXTURES / "tabular.definition.json", target)
    return target
