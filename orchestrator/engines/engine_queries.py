"""What cit asks the Docker engine without changing anything: is it there, how big is it, what
is this image's id, which of cit's containers and networks are left.

A run whose steps all come from the step cache asks only these, and the docker SDK takes a tenth
of a second to import. So on a local engine (``DOCKER_HOST`` unset or ``unix://``) they are
plain GET requests to the Engine API over its socket, made with the standard library
(``SocketQueries``); the SDK is loaded when a container, network or image is to be made or
removed. Any other host (tcp, ssh) is asked through the SDK (``docker_engine.SdkQueries``), so
both answer with the Engine API's own JSON and ``DockerEngine`` reads it one way.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from ..errors import CitError, EngineUnavailable

DEFAULT_SOCKET = "/var/run/docker.sock"
"""Where the engine listens when ``DOCKER_HOST`` is unset (as for ``docker`` and its SDK)."""
UNIX_SCHEME = "unix://"
MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""The most of one answer read: an engine listing more than this is not one cit can use."""
HTTP_OK = 200
HTTP_NOT_FOUND = 404
Filters = Mapping[str, list[str]]
"""Engine API filters: ``{"label": ["cit.managed=true"]}``."""


class EngineRefused(CitError):
    """The engine answered a question with an error (its message is this one's)."""


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
    """The engine's unix socket: the one ``DOCKER_HOST`` names, the default one when it is
    unset, None when it names another kind of host."""
    host = environ.get("DOCKER_HOST", "").strip()
    if not host:
        return DEFAULT_SOCKET
    if host.startswith(UNIX_SCHEME):
        return host.removeprefix(UNIX_SCHEME)
    return None


class SocketQueries:
    """``EngineQueries`` as GET requests over the engine's unix socket, one connection each
    (so threads may ask at once)."""

    def __init__(self, path: str, timeout_seconds: float) -> None:
        self.path = path
        self.timeout_seconds = timeout_seconds

    def ping(self) -> None:
        self._get("/_ping")

    def info(self) -> dict[str, Any]:
        return dict(self._get_json("/info"))

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        status, body = self._request(f"/images/{quote(ref, safe='/:')}/json")
        if status == HTTP_NOT_FOUND:
            return None
        return dict(_answer(status, body))

    def containers(self, filters: Filters) -> list[dict[str, Any]]:
        query = {"all": "1", "filters": json.dumps(dict(filters))}
        return list(self._get_json("/containers/json", query))

    def networks(self, filters: Filters) -> list[dict[str, Any]]:
        return list(self._get_json("/networks", {"filters": json.dumps(dict(filters))}))

    def _get_json(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        return _answer(*self._request(path, query))

    def _get(self, path: str) -> bytes:
        status, body = self._request(path)
        _answer(status, body, as_json=False)
        return body

    def _request(self, path: str, query: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        target = f"{path}?{urlencode(query)}" if query else path
        connection = _UnixConnection(self.path, self.timeout_seconds)
        try:
            connection.request("GET", target)
            response = connection.getresponse()
            return response.status, response.read(MAX_ANSWER_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise EngineUnavailable(_unreachable(self.path, exc)) from None
        finally:
            connection.close()


def _answer(status: int, body: bytes, *, as_json: bool = True) -> Any:
    """The JSON of a successful answer; ``EngineRefused`` with the engine's message otherwise."""
    if status != HTTP_OK:
        raise EngineRefused(_message_of(body) or f"the engine answered HTTP {status}")
    if not as_json:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise EngineRefused("the engine's answer is not JSON") from None


def _message_of(body: bytes) -> str:
    try:
        message = json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace").strip()[:200]
    return str(message)


def _unreachable(path: str, exc: BaseException) -> str:
    reason = str(exc) or type(exc).__name__
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
