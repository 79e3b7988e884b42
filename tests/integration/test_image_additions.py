"""Packages added on top of the real runner image: one thin layer, wheels downloaded once."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.image_additions import build_with_additions, read_additions

ADDED = "tabulate==0.9.0"  # small, pure Python, not in the runner


@pytest.fixture
def added_tag(engine: DockerEngine) -> Iterator[list[str]]:
    tags: list[str] = []
    yield tags
    for tag in tags:
        with contextlib.suppress(docker.errors.DockerException):
            engine.client.api.remove_image(tag, force=True)


def test_added_package_is_importable_and_a_second_build_downloads_nothing(
    engine: DockerEngine, runner_image: str, tmp_path: Path, added_tag: list[str]
) -> None:
    additions = read_additions([ADDED], [])
    logs: list[list[str]] = []
    for _ in range(2):
        lines: list[str] = []
        tag = build_with_additions(
            engine.image_tools(), base_tag=runner_image, additions=additions,
            cache_dir=tmp_path, on_line=lines.append,
        )  # fmt: skip
        added_tag.append(tag)
        logs.append(lines)
    first, second = logs
    assert any("tabulate-0.9.0" in line and "Saved" in line for line in first), first
    assert not any(line.lstrip().startswith(("Saved", "Downloading")) for line in second)
    assert any(line.startswith("using cached wheels") for line in second)
    base_layers = engine.client.api.inspect_image(runner_image)["RootFS"]["Layers"]
    layers = engine.client.api.inspect_image(tag)["RootFS"]["Layers"]
    assert layers[: len(base_layers)] == base_layers
    out = engine.client.containers.run(
        tag,
        ["python3", "-c", "import tabulate as t, pandas as p; print(t.__version__, p.__version__)"],
        remove=True,
        network_mode="none",
    )
    assert out.decode().split() == ["0.9.0", "2.2.3"]


def test_cit_image_build_add_prints_the_derived_tag(
    runner_image: str, tmp_path: Path, added_tag: list[str]
) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "image", "build", "--add", ADDED],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = re.search(r"built (\S+): run with --image", done.stdout)
    assert found, done.stdout
    tag = found.group(1)
    added_tag.append(tag)
    assert tag.startswith(f"{runner_image}-add-")

