"""Without a Docker engine the integration tests are skipped with one reason; where an engine
is required (CI sets CIT_REQUIRE_ENGINE), its absence fails the run instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NO_ENGINE = "unix:///nonexistent/cit-no-engine.sock"


def run_pytest(**env: str) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "CIT_REQUIRE_ENGINE"}
    environ = {**inherited, "DOCKER_HOST": NO_ENGINE, **env}
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, "tests/integration/test_clean.py"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_integration_tests_are_skipped_with_one_reason_without_an_engine() -> None:
    result = run_pytest()
    assert result.returncode == 0, result.stdout + result.stderr
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1, result.stdout
    assert "integration tests need a Docker engine" in skipped[0]
    assert NO_ENGINE in skipped[0]


def test_a_required_engine_that_is_missing_fails_the_run() -> None:
    result = run_pytest(CIT_REQUIRE_ENGINE="1")
    assert result.returncode != 0
    assert "CIT_REQUIRE_ENGINE is set but no Docker engine answers" in result.stderr
