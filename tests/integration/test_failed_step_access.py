"""Getting inside a failed step with real containers: ``--keep-on-failure`` keeps the failed
step's container until ``cit clean``; ``cit shell STEP -- CMD`` sees the files, environment
and user the step saw, its inputs read-only; ``--debug-port`` reaches a server in a step from
the host's loopback."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from orchestrator.engines.cleanup import sweep_orphans
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import KEEP_LABEL, PIPELINE_LABEL, RUN_LABEL, STEP_LABEL

from ..runs import run_dirs
from .conftest import the_run, write_script

PIPELINE = """
name: inside-{suffix}
steps:
  prep: {{kind: processing, script: prep.py, inputs: {{raw: raw}}, outputs: [out]}}
  train:
    kind: training
    script: train.py
    inputs: {{train: {{step: prep, output: out}}}}
    hyperparameters: {{epochs: 3}}
    env: {{MODE: slow}}
    secrets: {{API_TOKEN: CIT_IT_SHELL_TOKEN}}
"""
PREP = """
open("/opt/ml/processing/output/out/rows.csv", "w").write("a,b\\n1,2\\n")
"""
TRAIN = """
import os, sys
print("seen:", os.getuid(), os.getgid(), os.environ["MODE"], os.environ["SM_HP_EPOCHS"],
      len(os.environ["API_TOKEN"]), sorted(os.listdir("/opt/ml/input/data/train")), flush=True)
sys.exit(4)
"""
SERVE = """
import http.server
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"debugger here")
server = http.server.HTTPServer(("0.0.0.0", {port}), Answer)
server.timeout = 240
server.handle_request()
"""
SERVING = """
name: serving-{suffix}
steps:
  serve: {{kind: processing, script: serve.py}}
  after: {{kind: processing, script: prep.py, depends_on: [serve], outputs: [out]}}
"""
TOKEN = "tok-it-shell-31415"


def cit(
    *args: str, cwd: Path, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIT_IT_SHELL_TOKEN": TOKEN, "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True, text=True, timeout=600, cwd=cwd, env=env, stdin=stdin, check=False,
    )  # fmt: skip


def test_a_kept_step_is_opened_as_it_ran_and_removed_by_cit_clean(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "raw/data.csv", "x\n1\n")
    write_script(tmp_path, "prep.py", PREP)
    write_script(tmp_path, "train.py", TRAIN)
    write_script(tmp_path, "pipeline.yaml", PIPELINE.format(suffix=tmp_path.name[-8:]))
    done = cit("run", "--dag", "pipeline.yaml", "--keep-on-failure", "--quiet", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    run_dir, manifest = the_run(tmp_path / ".cit")
    train = manifest["steps"][1]
    assert (train["status"], train["exit_code"]) == ("failed", 4)
    [kept] = engine.list_containers({RUN_LABEL: run_dir.name, KEEP_LABEL: "on-failure"})
    assert kept.name == train["kept_container"] and kept.status == "exited"
    assert kept.labels[STEP_LABEL] == "train"
    assert f"cit shell {run_dir.name} train" in done.stdout
    [seen] = [line for line in train["log_tail"] if line.startswith("seen:")]

    # A run's sweep leaves the kept container; cit clean removes it.
    assert sweep_orphans(engine) == []
    assert [c.name for c in engine.list_containers({RUN_LABEL: run_dir.name})] == [kept.name]
    cleaned = cit("clean", cwd=tmp_path)
    assert cleaned.returncode == 0 and kept.name in cleaned.stdout
    assert engine.list_containers({RUN_LABEL: run_dir.name}) == []

    # The same user, environment (the secret read again by name) and files as the step.
    probe = (
        'python3 -c \'import os; print("seen:", os.getuid(), os.getgid(), os.environ["MODE"], '
        'os.environ["SM_HP_EPOCHS"], len(os.environ["API_TOKEN"]), '
        'sorted(os.listdir("/opt/ml/input/data/train")))\''
    )
    shell = cit("shell", "train", "--", "sh", "-c", probe, cwd=tmp_path)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == seen
    config = cit("shell", run_dir.name, "train", "--", "cat",
                 "/opt/ml/input/config/hyperparameters.json", cwd=tmp_path)  # fmt: skip
    assert config.returncode == 0, config.stderr
    assert config.stdout == (run_dir / "steps/train/config/hyperparameters.json").read_text()

    # Inputs stay read-only; the command's exit code is cit's.
    write = cit("shell", "train", "--", "touch", "/opt/ml/input/data/train/new.csv", cwd=tmp_path)
    assert write.returncode == 1 and "Read-only file system" in write.stderr
    assert not (run_dir / "steps/prep/outputs/out/new.csv").exists()
    assert cit("shell", "train", "--", "sh", "-c", "exit 9", cwd=tmp_path).returncode == 9
    assert not any(
        c.labels.get("cit.shell") for c in engine.list_containers({RUN_LABEL: run_dir.name})
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_debug_port_reaches_a_server_in_the_step_from_the_hosts_loopback(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    port = free_port()
    suffix = tmp_path.name[-8:]
    write_script(tmp_path, "serve.py", SERVE.format(port=port))
    write_script(tmp_path, "prep.py", PREP)
    write_script(tmp_path, "pipeline.yaml", SERVING.format(suffix=suffix))
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", "pipeline.yaml", "--quiet",
               "--debug-port", f"serve={port}"]  # fmt: skip
    running = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        bindings = published(engine, f"serving-{suffix}", port)
        assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
        assert answer(port) == b"debugger here"
        output, _ = running.communicate(timeout=300)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    assert running.returncode == 0, output.decode()
    _, manifest = the_run(tmp_path / ".cit")
    networks = {s["name"]: s["container"]["network"] for s in manifest["steps"]}
    assert networks == {"serve": True, "after": False}


def published(engine: DockerEngine, pipeline: str, port: int) -> list[dict[str, str]]:
    """The host bindings of ``port`` of the step's container, once it is there."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for found in engine.list_containers({PIPELINE_LABEL: pipeline, STEP_LABEL: "serve"}):
            details = engine.client.api.inspect_container(found.name)
            return list(details["HostConfig"]["PortBindings"][f"{port}/tcp"])
        time.sleep(0.2)
    raise AssertionError("the step's container never started")


def answer(port: int) -> bytes:
    """What the server in the step answers on the host's loopback, once it listens."""
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


CACHED = """
name: cached-{suffix}
steps:
  prep: {{kind: processing, script: prep.py, outputs: [out]}}
"""


def test_the_shell_cannot_change_what_the_step_cache_shares(
    runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    """The shell runs as root, which the cached file's read-only mode does not stop: its
    output folder is mounted read-only instead, and the cache and the later run keep their
    bytes."""
    write_script(tmp_path, "prep.py", PREP)
    write_script(tmp_path, "pipeline.yaml", CACHED.format(suffix=tmp_path.name[-8:]))
    for _ in range(2):
        assert cit("run", "--dag", "pipeline.yaml", "--quiet", cwd=tmp_path).returncode == 0
    first, second = run_dirs(tmp_path / ".cit" / "runs")
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["steps"][0]["cached_from"] == first.name
    poison = "echo POISON >> /opt/ml/processing/output/out/rows.csv"
    shell = cit("shell", first.name, "prep", "--", "sh", "-c", poison, cwd=tmp_path)
    assert shell.returncode != 0
    assert "Read-only file system" in shell.stderr
    assert "mounted read-only" in shell.stdout + shell.stderr
    [cached] = (tmp_path / ".cit" / "cache" / "entries").glob("*/outputs/out/rows.csv")
    for rows in (cached, second / "steps/prep/outputs/out/rows.csv"):
        assert rows.read_text() == "a,b\n1,2\n"


def in_a_terminal(
    argv: list[str], typed: bytes, cwd: Path, timeout: float = 300
) -> tuple[int, str]:
    """``argv`` run on a pseudo-terminal, as a user at a prompt runs it: ``typed`` is what they
    type; returns its exit status and everything the terminal showed."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout and stderr
        os.chdir(cwd)
        os.execvpe(argv[0], argv, {**os.environ, "TERM": "dumb", "COLUMNS": "200"})
    os.write(terminal, typed)
    shown = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the child ended: its side of the terminal is closed
            break
        if not chunk:
            break
        shown += chunk
    else:
        os.kill(pid, 9)
    os.close(terminal)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_an_interactive_shell_opens_on_a_terminal_in_the_steps_container(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    """`cit shell prep` with no command: a shell at a prompt in the step's container, the
    step's outputs in place, its exit status cit's; nothing left behind."""
    write_script(tmp_path, "prep.py", PREP)
    write_script(tmp_path, "pipeline.yaml", CACHED.format(suffix=tmp_path.name[-8:]))
    assert cit("run", "--dag", "pipeline.yaml", "--quiet", cwd=tmp_path).returncode == 0
    [run_dir] = run_dirs(tmp_path / ".cit" / "runs")
    typed = b"echo in-$((6*7)) $(ls /opt/ml/processing/output/out); exit 7\n"
    status, shown = in_a_terminal(
        [sys.executable, "-m", "orchestrator", "shell", "prep"], typed, cwd=tmp_path
    )
    assert "in-42 rows.csv" in shown, shown
    assert status == 7, shown
    assert engine.list_containers({RUN_LABEL: run_dir.name}) == []
