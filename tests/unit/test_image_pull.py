"""Pulling a missing image: ECR login, progress lines, timeout, and the one-line refusals."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from orchestrator.aws import ecr
from orchestrator.engines import docker_engine
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.fake_engine import FakeEngine
from orchestrator.engines.image_pull import PullProgress, pull_failure, pull_timeout
from orchestrator.errors import ImageError, PullError
from orchestrator.pipeline.model import Step, StepKind
from orchestrator.run.pipeline_run import ensure_images
from orchestrator.run.settings import RUNNER_IMAGE

ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:3"
LAYERS: list[dict[str, Any]] = [
    {"status": "Pulling from team/trainer", "id": "3"},
    {"status": "Pulling fs layer", "id": "aaa"},
    {"status": "Downloading", "id": "aaa", "progressDetail": {"current": 10, "total": 2048}},
    {"status": "Pull complete", "id": "aaa"},
    {"status": "Already exists", "id": "bbb"},
    {"status": "Digest: sha256:0123"},
]


class FakeEcr:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[list[str]] = []

    def get_authorization_token(self, registryIds: list[str]) -> dict[str, Any]:
        self.asked.append(registryIds)
        if self.fail:
            raise RuntimeError("Unable to locate credentials")
        token = base64.b64encode(b"AWS:secret-token").decode()
        return {"authorizationData": [{"authorizationToken": token}]}


class FakeApi:
    """The low-level Docker API calls ``DockerEngine.pull`` makes."""

    def __init__(self, entries: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.entries = entries
        self.error = error
        self.pulls: list[dict[str, Any]] = []
        self.local: set[str] = set()
        self.block = threading.Event()

    def pull(self, repository: str, tag: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.pulls.append({"repository": repository, "tag": tag, **kwargs})
        if self.error is not None:
            raise self.error
        if not self.entries:
            self.block.wait(5)
        yield from self.entries
        self.local.add(f"{repository}:{tag}")

    def inspect_image(self, ref: str) -> dict[str, Any]:
        if ref not in self.local:
            raise docker.errors.ImageNotFound(ref)
        return {"Id": "sha256:pulled"}


def engine_with(api: FakeApi) -> tuple[DockerEngine, list[str]]:
    client = type("Client", (), {"api": api})()
    engine = DockerEngine.of_client(client)
    lines: list[str] = []
    engine.pull_progress = lines.append
    return engine, lines


def test_ecr_login_decodes_the_token_of_the_images_account_and_region() -> None:
    fake = FakeEcr()
    regions: list[str] = []

    def make_client(region: str) -> FakeEcr:
        regions.append(region)
        return fake

    login = ecr.ecr_login(ECR_IMAGE, make_client)
    assert login is not None
    assert login.auth_config() == {"username": "AWS", "password": "secret-token"}
    assert "secret-token" not in repr(login)
    assert fake.asked == [["123456789012"]] and regions == ["eu-west-1"]
    assert ecr.ecr_login("python:3.11-slim", lambda region: pytest.fail("not ECR")) is None


def test_ecr_without_credentials_is_one_line_naming_the_registry() -> None:
    with pytest.raises(PullError) as caught:
        ecr.ecr_login(ECR_IMAGE, lambda region: FakeEcr(fail=True))
    text = str(caught.value)
    assert "\n" not in text
    assert "123456789012.dkr.ecr.eu-west-1.amazonaws.com" in text
    assert "Unable to locate credentials" in text


def test_an_ecr_pull_logs_in_and_shows_a_line_per_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeEcr()
    monkeypatch.setattr(docker_engine, "ecr_login", lambda ref: ecr.ecr_login(ref, lambda r: fake))
    api = FakeApi(LAYERS)
    engine, lines = engine_with(api)
    assert engine.pull(ECR_IMAGE) == "sha256:pulled"
    (call,) = api.pulls
    assert call["auth_config"] == {"username": "AWS", "password": "secret-token"}
    assert call["repository"] == ECR_IMAGE.rsplit(":", 1)[0] and call["tag"] == "3"
    assert lines[0] == f"pulling {ECR_IMAGE} (logged in to {ECR_IMAGE.split('/')[0]})"
    assert lines[1:3] == ["layer aaa: 2.0 KiB", "layer bbb: already here"]
    assert lines[3].startswith(f"pulled {ECR_IMAGE}: 2 layer(s), 2.0 KiB in ")


def test_no_registry_reachable_is_said_plainly() -> None:
    reason = (
        'Get "https://registry-1.docker.io/v2/": '
        "dial tcp: lookup registry-1.docker.io: no such host"
    )
    response = type("Response", (), {"status_code": 500, "reason": "x", "url": "u"})()
    api = FakeApi([], error=docker.errors.APIError("500", response, explanation=reason))
    engine, _ = engine_with(api)
    with pytest.raises(PullError) as caught:
        engine.pull("team/trainer:3")
    assert caught.value.unreachable
    assert str(caught.value) == (
        f"cannot pull team/trainer:3: no registry reachable ({reason}); "
        "build it or tag one of yours with that name"
        " (a SageMaker pipeline can map it with --image-map)"
    )


def test_an_error_in_the_stream_is_the_registrys_answer() -> None:
    api = FakeApi([{"errorDetail": {"message": "manifest unknown"}, "error": "manifest unknown"}])
    engine, _ = engine_with(api)
    with pytest.raises(PullError, match=r"^cannot pull team/x:1: manifest unknown; build it"):
        engine.pull("team/x:1")


def test_a_pull_that_takes_too_long_stops_with_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CIT_PULL_TIMEOUT", "0.2")
    api = FakeApi([])  # never answers
    engine, _ = engine_with(api)
    with pytest.raises(PullError, match=r"^cannot pull team/slow:1: took longer than 0.2s \(raise"):
        engine.pull("team/slow:1")
    api.block.set()


def test_pull_timeout_reads_the_environment() -> None:
    assert pull_timeout({"CIT_PULL_TIMEOUT": "30"}) == 30.0
    assert pull_timeout({"CIT_PULL_TIMEOUT": "soon"}) == pull_timeout({})
    assert pull_failure("x", "connection refused").unreachable
    assert not pull_failure("x", "pull access denied for x").unreachable


def test_progress_counts_each_layer_once() -> None:
    lines: list[str] = []
    progress = PullProgress("img:1", lines.append)
    for entry in [*LAYERS, {"status": "Pull complete", "id": "aaa"}]:
        progress.feed(entry)
    assert lines == ["layer aaa: 2.0 KiB", "layer bbb: already here"]


def step_on(image: str) -> Step:
    return Step(name="train", kind=StepKind.PROCESSING, image=image, script=Path("t.py"))


def test_a_missing_image_is_pulled_where_a_registry_has_it() -> None:
    fake = FakeEngine(images={RUNNER_IMAGE: "sha256:r"}, registry={"team/x:1": "sha256:x"})
    ensure_images([RUNNER_IMAGE, "team/x:1"], fake, None, [step_on("team/x:1")])
    assert fake.pulled == ["team/x:1"] and fake.images["team/x:1"] == "sha256:x"


def test_a_missing_image_no_registry_has_is_one_line() -> None:
    fake = FakeEngine(images={RUNNER_IMAGE: "sha256:r"})
    with pytest.raises(PullError, match=r"^cannot pull team/x:1: no registry reachable \("):
        ensure_images(["team/x:1"], fake, None, [step_on("team/x:1")])


def test_the_runner_image_is_built_never_pulled() -> None:
    fake = FakeEngine()
    built: list[str] = []
    ensure_images([RUNNER_IMAGE], fake, built.append)
    assert built == [RUNNER_IMAGE] and fake.pulled == []
    with pytest.raises(ImageError, match="cit image build"):
        ensure_images([RUNNER_IMAGE], fake, None)
