"""Containers a killed cit left behind are found by label and removed."""

from __future__ import annotations

from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import MANAGED_LABEL, OWNER_LABEL, RUN_LABEL

from ..unit.test_executor import dead_owner


def test_cit_clean_removes_containers_of_dead_cit_processes(
    engine: DockerEngine, runner_image: str
) -> None:
    labels = {MANAGED_LABEL: "true", RUN_LABEL: "test-clean", OWNER_LABEL: dead_owner()}
    engine.client.containers.create(
        runner_image,
        ["sleep", "60"],
        name="cit-test-clean-orphan",
        labels=labels,
        network_mode="none",
    ).start()
    try:
        result = CliRunner().invoke(app, ["clean"])
        assert result.exit_code == 0, result.output
        assert "cit-test-clean-orphan" in result.output
        assert engine.list_containers({RUN_LABEL: "test-clean"}) == []
    finally:
        engine.remove_container("cit-test-clean-orphan")
