"""Bootstrap mode on a machine without debootstrap: as root with apt-get cit installs it and
says so; told not to (CIT_INSTALL_TOOLS=0), it says in one line what to run.

Runs cit's code in a fresh Debian container (cit's own base image), as a fresh machine is."""

from __future__ import annotations

from pathlib import Path

import docker.errors
import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.image_build import BOOTSTRAP_BASE_IMAGE

REPO = Path(__file__).resolve().parents[2]
SITE = Path(pytest.__file__).resolve().parents[1]
"""The site-packages of cit and its dependencies: the probe needs only lazy_loader, pure Python."""
PROBE = """
from orchestrator.engines.image_build import find_debootstrap
from orchestrator.errors import ImageBuildError
try:
    print("found", find_debootstrap(lambda line: print("say", line)))
except ImageBuildError as exc:
    print("error", exc)
"""


def probe(engine: DockerEngine, env: dict[str, str]) -> list[str]:
    if engine.image_id(BOOTSTRAP_BASE_IMAGE) is None:
        pytest.skip(f"{BOOTSTRAP_BASE_IMAGE} (a bare Debian with Python) is not on this engine")
    try:
        out = engine.client.containers.run(
            BOOTSTRAP_BASE_IMAGE,
            ["python3", "-c", PROBE],
            environment={"PYTHONPATH": "/src:/site", **env},
            volumes={str(REPO): {"bind": "/src", "mode": "ro"},
                     str(SITE): {"bind": "/site", "mode": "ro"}},
            network_mode="bridge",
            remove=True,
        )  # fmt: skip
    except docker.errors.ContainerError as exc:
        pytest.fail(f"the probe crashed: {exc}")
    said = ("say", "found", "error")
    return [line for line in out.decode().splitlines() if line.startswith(said)]


def test_root_with_apt_gets_debootstrap_installed(engine: DockerEngine) -> None:
    lines = probe(engine, {})
    if lines[-1].startswith("error") and "apt-get update failed" in lines[-1]:
        pytest.skip(f"Debian's archive is not reachable from a container here: {lines[-1]}")
    assert lines[0].startswith("say installing debootstrap with apt-get"), lines[:3]
    assert lines[-1] == "found /usr/sbin/debootstrap", lines[-3:]


def test_told_not_to_install_it_says_what_to_run(engine: DockerEngine) -> None:
    lines = probe(engine, {"CIT_INSTALL_TOOLS": "0"})
    assert len(lines) == 1, lines
    assert lines[0].startswith("error bootstrap mode (no registry reachable) needs debootstrap: ")
    assert "'apt-get install -y debootstrap'" in lines[0]
