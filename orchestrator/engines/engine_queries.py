"""What cit asks the Docker engine without changing anything: is it there, how big is it, what
is this image's id, which of cit's containers and networks are left.

A run whose steps all come from the step cache asks only these, and the docker SDK takes a tenth
of a second to import. So on a local engine they are plain GET requests to the Engine API over
its socket, made with the standard library (``SocketQueries``); the SDK is loaded when a
container, network or image is to be made or removed. Any other engine (tcp, ssh, TLS, a Docker
context) is asked through the SDK (``docker_engine.SdkQueries``), which finds it as ``docker``
does; both answer with the Engine API's own JSON and ``DockerEngine`` reads it one way.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from ..errors import CitError, EngineUnavailable

DEFAULT_SOCKET = "/var/run/docker.sock"
"""Where the engine listens when ``DOCKER_HOST`` is unset (as for ``docker`` and its SDK)."""
UNIX_SCHEME = "unix://"
DEFAULT_CONTEXT = "default"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""The most of one answer read: an engine listing more than this is not one cit can use."""
HTTP_OK = 200
HTTP_REDIRECTS = 300
HTTP_NOT_FOUND = 404
Filters = Mapping[str, list[str]]
"""Engine API filters: ``{"label": ["cit.managed=true"]}``."""


class EngineRefused(CitError):
    """The engine answered a question with an error: ``reason`` is its message."""

    def __init__(self, question: str, reason: str) -> None:
        super().__init__(f"the Docker engine refused {question}: {reason}")
        self.reason = reason


class EngineQueries(Protocol):
    """The engine's answers to cit's questions, as the Engine API gives them."""

    def ping(self) -> None:
        """Return when the engine answers; ``EngineUnavailable`` when it does not."""
        ...

    def info(self) -> dict[str, Any]:
        """``GET /info``: CPUs, memory, runtimes, devices."""
        ...

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """``GET /images/{ref}/json``, or None when the engine has no such image."""
        ...

    def containers(self, filters: Filters) -> list[dict[str, Any]]:
        """``GET /containers/json?all=1``: every container, running or not, that matches."""
        ...

    def networks(self, filters: Filters) -> list[dict[str, Any]]:
        """``GET /networks``: the networks that match."""
        ...


def local_socket(environ: Mapping[str, str]) -> str | None:
    """The engine's unix socket as the docker SDK would find it: the one ``DOCKER_HOST`` names,
    else the default one. None, for the SDK to find the engine, when ``DOCKER_HOST`` names
    another kind of host or a relative path, or without it when TLS is asked for or a Docker
    context other than the default is in use (``DOCKER_CONTEXT``, ``docker context use``)."""
    host = environ.get("DOCKER_HOST", "").strip()
    if host:
        path = host.removeprefix(UNIX_SCHEME) if host.startswith(UNIX_SCHEME) else None
        if path == "":
            return DEFAULT_SOCKET
        return path if path is not None and path.startswith("/") else None
    if environ.get("DOCKER_TLS_VERIFY") is not None or environ.get("DOCKER_CERT_PATH"):
        return None
    return DEFAULT_SOCKET if current_context(environ) == DEFAULT_CONTEXT else None


def current_context(environ: Mapping[str, str]) -> str | None:
    """The Docker context in use: ``DOCKER_CONTEXT``, else the CLI configuration's
    ``currentContext``, else the default; None when the configuration cannot be read."""
    named = environ.get("DOCKER_CONTEXT", "").strip()
    if named:
        return named
    folder = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(folder, "config.json"), "rb") as handle:
            config = json.loads(handle.read(MAX_CONFIG_BYTES))
    except FileNotFoundError:
        return DEFAULT_CONTEXT
    except (OSError, ValueError):
        return None
    chosen = config.get("currentContext") if isinstance(config, dict) else None
    return chosen if isinstance(chosen, str) and chosen else DEFAULT_CONTEXT


class SocketQueries:
    """``EngineQueries`` as GET requests over the engine's unix socket, one connection each
    (so threads may ask at once)."""

    def __init__(self, path: str, timeout_seconds: float) -> None:
        self.path = path
        self.timeout_seconds = timeout_seconds

    def ping(self) -> None:
        """The engine answers, and as a Docker engine: anything else on the socket does not."""
        status, body = self._request("/_ping")
        if status != HTTP_OK:
            reason = _message_of(body) or f"HTTP {status}"
            raise EngineUnavailable(_unreachable(self.path, f"/_ping answered {reason}"))

    def info(self) -> dict[str, Any]:
        return dict(self._get_json("/info"))

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        path = f"/images/{quote(ref, safe='/:')}/json"
        status, body = self._request(path)
        # a redirect: a reference the engine's router cleans up (".."), so no image of its own
        if status == HTTP_NOT_FOUND or HTTP_REDIRECTS <= status < HTTP_REDIRECTS + 100:
            return None
        return dict(_answer(f"GET {path}", status, body))

    def containers(self, filters: Filters) -> list[dict[str, Any]]:
        query = {"all": "1", "filters": json.dumps(dict(filters))}
        return list(self._get_json("/containers/json", query))

    def networks(self, filters: Filters) -> list[dict[str, Any]]:
        return list(self._get_json("/networks", {"filters": json.dumps(dict(filters))}))

    def _get_json(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        return _answer(f"GET {path}", *self._request(path, query))

    def _request(self, path: str, query: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        target = f"{path}?{urlencode(query)}" if query else path
        connection = _UnixConnection(self.path, self.timeout_seconds)
        try:
            connection.request("GET", target)
            response = connection.getresponse()
            body = response.read(MAX_ANSWER_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnavailable(
                _unreachable(self.path, str(exc) or type(exc).__name__)
            ) from None
        finally:
            connection.close()
        if len(body) > MAX_ANSWER_BYTES:
            raise EngineRefused(f"GET {path}", f"its answer is over {MAX_ANSWER_BYTES} bytes")
        return response.status, body


def _answer(question: str, status: int, body: bytes) -> Any:
    """The JSON of a successful answer; ``EngineRefused`` with the engine's message otherwise."""
    if status != HTTP_OK:
        raise EngineRefused(question, _message_of(body) or f"HTTP {status}")
    try:
        return json.loads(body)
    except ValueError:
        raise EngineRefused(question, "its answer is not JSON") from None


def _message_of(body: bytes) -> str:
    try:
        message = json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()[:200]
    return str(message)


def _unreachable(path: str, reason: str) -> str:
    return f"no Docker engine answers at unix://{path} ({reason})"


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP connection to a unix socket."""

    def __init__(self, path: str, timeout_seconds: float) -> None:
        super().__init__("localhost", timeout=timeout_seconds)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock
