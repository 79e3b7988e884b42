"""The runner image builds (or is reused) and imports the data science stack."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

docker = pytest.importorskip("docker")

from orchestrator.engines.docker_engine import DockerImageTools  # noqa: E402
from orchestrator.engines.image_build import build_runner_image, runner_image_tag  # noqa: E402

pytestmark = pytest.mark.integration

PROBE = (
    "import json\n"
    "import pandas, numpy, scipy, pyarrow, sklearn, xgboost, matplotlib\n"
    "print(pandas.__version__)\n"
    "print(json.dumps({m.__name__: m.__version__ for m in "
    "(pandas, numpy, scipy, pyarrow, sklearn, xgboost, matplotlib)}))\n"
)


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    try:
        engine = docker.from_env()
        engine.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker engine: {exc}")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def runner_image(client: docker.DockerClient) -> str:
    tag = runner_image_tag()
    tools = DockerImageTools(client)
    if not tools.image_exists(tag):
        build_runner_image(tools, tag=tag, mode="auto", on_line=lambda _: None)
    return tag


def test_runner_image_imports_the_stack_and_is_removed(
    client: docker.DockerClient, runner_image: str
) -> None:
    container = client.containers.run(
        runner_image,
        ["python", "-c", PROBE],
        detach=True,
        network_disabled=True,
        labels={"cit.test": "runner-image"},
    )
    try:
        exit_code = container.wait(timeout=300)["StatusCode"]
        stdout = container.logs(stdout=True, stderr=False).decode()
        stderr = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True)

    assert exit_code == 0, stderr
    assert stderr == ""
    pandas_version, versions_json = stdout.strip().splitlines()
    assert pandas_version.split(".")[0] == "2"
    versions = json.loads(versions_json)
    assert versions["numpy"].startswith("1.26.")
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container.id)
