"""Questions to the engine over its unix socket: against a small Engine API server on a real
socket, and ``DockerEngine`` answering them without making the SDK's client."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from orchestrator.engines import engine_queries
from orchestrator.engines.base import ContainerOutcome
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.engine_queries import (
    DEFAULT_SOCKET,
    EngineRefused,
    SocketQueries,
    local_socket,
)
from orchestrator.engines.spec import ContainerSpec
from orchestrator.errors import EngineUnavailable, ImageError

IMAGE = {"Id": "sha256:abc", "RepoTags": ["cit-runner:0.1.0"]}
CONTAINERS = [{"Names": ["/cit-run-a"], "Labels": {"cit.managed": "true"}, "State": "exited"}]
NETWORKS = [{"Name": "cit-net-a", "Labels": {"cit.managed": "true"}}]
INFO = {"NCPU": 6, "MemTotal": 8 * 1024**3, "Runtimes": {"runc": {}}}


class FakeEngineApi(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The few Engine API answers cit asks for, and every request it was sent."""

    daemon_threads = True

    def __init__(self, path: str) -> None:
        self.requests: list[str] = []
        self.not_an_engine = False
        """Answer every request 404, as a socket of some other server would."""
        super().__init__(path, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: FakeEngineApi

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        path = urlsplit(self.path).path
        answers: dict[str, tuple[int, Any]] = {
            "/_ping": (200, "OK"),
            "/info": (200, INFO),
            "/images/cit-runner:0.1.0/json": (200, IMAGE),
            "/images/broken%20ref/json": (400, {"message": "invalid reference format"}),
            "/containers/json": (200, CONTAINERS),
            "/networks": (200, NETWORKS),
        }
        status, body = answers.get(path, (404, {"message": f"no such image: {path}"}))
        if self.server.not_an_engine:
            status, body = 404, "404 page not found"
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FakeEngineApi]:
    server = FakeEngineApi(str(tmp_path / "engine.sock"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def queries_of(server: FakeEngineApi) -> SocketQueries:
    return SocketQueries(str(server.server_address), timeout_seconds=5)


def test_the_socket_is_the_one_docker_host_names_or_the_default(tmp_path: Path) -> None:
    no_config = {"DOCKER_CONFIG": str(tmp_path)}
    assert local_socket(no_config) == DEFAULT_SOCKET
    assert local_socket({**no_config, "DOCKER_HOST": " "}) == DEFAULT_SOCKET
    assert local_socket({"DOCKER_HOST": "unix://"}) == DEFAULT_SOCKET
    assert local_socket({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == (
        "/run/user/1000/docker.sock"
    )


@pytest.mark.parametrize(
    "environ",
    [
        {"DOCKER_HOST": "tcp://10.0.0.2:2376"},
        {"DOCKER_HOST": "ssh://me@build-box"},
        {"DOCKER_HOST": "unix://var/run/docker.sock"},  # relative: as the SDK reads it
        {"DOCKER_TLS_VERIFY": "1"},
        {"DOCKER_CERT_PATH": "/certs"},
        {"DOCKER_CONTEXT": "colima"},
    ],
)
def test_any_other_engine_is_left_for_the_sdk_to_find(
    environ: dict[str, str], tmp_path: Path
) -> None:
    assert local_socket({"DOCKER_CONFIG": str(tmp_path), **environ}) is None


def test_the_docker_clis_current_context_is_followed(tmp_path: Path) -> None:
    """`docker context use rootless` sends `docker` elsewhere: cit's questions go there too."""
    config = tmp_path / "config.json"
    environ = {"DOCKER_CONFIG": str(tmp_path)}
    config.write_text(json.dumps({"currentContext": "rootless", "auths": {}}))
    assert local_socket(environ) is None
    assert local_socket({**environ, "DOCKER_CONTEXT": "default"}) == DEFAULT_SOCKET
    assert local_socket({**environ, "DOCKER_HOST": "unix:///x.sock"}) == "/x.sock"
    config.write_text(json.dumps({"currentContext": "default"}))
    assert local_socket(environ) == DEFAULT_SOCKET
    config.write_text(json.dumps({"auths": {}}))
    assert local_socket(environ) == DEFAULT_SOCKET
    config.write_text("{not json")
    assert local_socket(environ) is None, "the SDK decides what an unreadable config means"


def test_answers_are_the_engine_apis_json(api: FakeEngineApi) -> None:
    queries = queries_of(api)
    queries.ping()
    assert queries.info() == INFO
    assert queries.inspect_image("cit-runner:0.1.0") == IMAGE
    assert queries.inspect_image("absent:1") is None
    assert queries.containers({"label": ["cit.managed=true"]}) == CONTAINERS
    assert queries.networks({"label": ["cit.managed=true"]}) == NETWORKS


def test_listings_ask_for_every_container_with_the_filters_as_json(api: FakeEngineApi) -> None:
    queries_of(api).containers({"label": ["cit.managed=true", "cit.run-id=r1"]})
    [sent] = [r for r in api.requests if r.startswith("/containers/json")]
    query = parse_qs(urlsplit(sent).query)
    assert query["all"] == ["1"]
    assert json.loads(query["filters"][0]) == {"label": ["cit.managed=true", "cit.run-id=r1"]}


def test_an_image_reference_is_quoted_into_the_path(api: FakeEngineApi) -> None:
    refused = "^the Docker engine refused GET /images/broken%20ref/json: invalid reference format$"
    with pytest.raises(EngineRefused, match=refused):
        queries_of(api).inspect_image("broken ref")
    assert "/images/broken%20ref/json" in api.requests


def test_no_engine_on_the_socket_is_unavailable_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.sock"
    with pytest.raises(EngineUnavailable, match=f"no Docker engine answers at unix://{missing}"):
        SocketQueries(str(missing), timeout_seconds=1).ping()


def test_a_socket_that_is_no_engine_is_unavailable_naming_it(api: FakeEngineApi) -> None:
    api.not_an_engine = True
    where = f"unix://{api.server_address}"
    with pytest.raises(EngineUnavailable, match=f"^no Docker engine answers at {where} .*404"):
        queries_of(api).ping()


def test_an_error_answer_names_the_question(api: FakeEngineApi) -> None:
    api.not_an_engine = True
    with pytest.raises(EngineRefused, match=r"^the Docker engine refused GET /info: 404 page"):
        queries_of(api).info()


def test_an_answer_beyond_the_limit_is_refused_not_cut(
    api: FakeEngineApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_queries, "MAX_ANSWER_BYTES", 20)
    with pytest.raises(EngineRefused, match="answer is over 20 bytes"):
        queries_of(api).containers({})


def test_a_docker_engine_answers_questions_without_making_the_sdk_client(
    api: FakeEngineApi,
) -> None:
    def no_client() -> Any:
        raise AssertionError("questions must not need the docker SDK")

    engine = DockerEngine(no_client, queries_of(api))
    assert engine.image_id("cit-runner:0.1.0") == "sha256:abc"
    assert engine.image_id("absent:1") is None
    assert engine.capacity() == (6, 8 * 1024**3)
    assert engine.has_gpus() is False
    [left] = engine.list_containers({"cit.managed": "true"})
    assert (left.name, left.status) == ("cit-run-a", "exited")
    assert [n.name for n in engine.list_networks({"cit.managed": "true"})] == ["cit-net-a"]
    engine.flush()
    with pytest.raises(ImageError, match="image 'broken ref': invalid reference format"):
        engine.image_id("broken ref")


def unreachable_client() -> Any:
    raise EngineUnavailable("no Docker engine answers at the Docker context 'gone'")


def test_an_engine_whose_client_cannot_be_made_fails_the_step_and_the_pull_plainly(
    api: FakeEngineApi,
) -> None:
    """The SDK's client is made on first action; an engine gone by then is that step's error
    and a pull's reason, tried once, never a thread's traceback."""
    calls: list[float] = []

    def make_client() -> Any:
        calls.append(time.monotonic())
        return unreachable_client()

    engine = DockerEngine(make_client, queries_of(api))
    spec = ContainerSpec("cit-step", "cit-runner:0.1.0", ("python", "x.py"))
    outcome = engine.run(spec, on_log=lambda text: None, cancel=threading.Event())
    assert isinstance(outcome, ContainerOutcome) and outcome.exit_code is None
    assert outcome.error is not None and "no Docker engine answers" in outcome.error
    with pytest.raises(EngineUnavailable, match="Docker context 'gone'"):
        engine.pull("localhost:5000/x:1")
    with pytest.raises(EngineUnavailable):
        engine.client  # noqa: B018 (the property is the call)
    assert len(calls) == 1, "an engine that could not be reached is not tried again"
