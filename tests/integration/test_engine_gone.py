"""The engine going away in the middle of a run: reported as such, cleaned up afterwards."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import RUN_LABEL

from .conftest import start_cit_run, the_run, write_script

ENGINE_SOCKET = "/var/run/docker.sock"


class SocketProxy:
    """Forwards a unix socket to the engine's, until ``cut`` drops every connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(path))
        self.server.listen(64)
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(ENGINE_SOCKET)
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        self.server.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[SocketProxy]:
    if not os.path.exists(ENGINE_SOCKET):
        pytest.fail(f"this test talks to the engine through {ENGINE_SOCKET}")
    proxy = SocketProxy(tmp_path / "engine.sock")
    yield proxy
    proxy.cut()


def test_engine_lost_mid_run_is_an_error_and_clean_removes_the_rest(
    engine: DockerEngine, runner_image: str, tmp_path: Path, proxy: SocketProxy
) -> None:
    write_script(tmp_path, "s.py", "import time\nprint('start', flush=True)\ntime.sleep(8)\n")
    path = write_script(
        tmp_path,
        "p.yaml",
        """
        name: gone
        steps:
          a: {kind: processing, script: s.py, outputs: [o]}
          b: {kind: processing, script: s.py, inputs: {x: {step: a, output: o}}}
    """,
    )
    cit_dir = tmp_path / ".cit"
    process = start_cit_run(path, cit_dir, {"DOCKER_HOST": f"unix://{proxy.path}"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = list((cit_dir / "runs").glob("*/steps/a/log.txt"))
        if runs and "start" in runs[0].read_text():
            break
        time.sleep(0.1)
    proxy.cut()
    output = process.communicate(timeout=120)[0].decode()

    assert process.returncode == 1, output
    assert "Traceback" not in output
    run_dir, manifest = the_run(cit_dir)
    steps = {s["name"]: s for s in manifest["steps"]}
    assert steps["a"]["status"] == "error"
    assert "connection to the container engine was lost" in steps["a"]["reason"]
    assert steps["b"]["status"] == "skipped"

    result = CliRunner().invoke(app, ["clean"])
    assert result.exit_code == 0, result.output
    assert engine.list_containers({RUN_LABEL: run_dir.name}) == []
