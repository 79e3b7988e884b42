"""A container spec as a ``docker run`` command line, for what the SDK cannot do well: an
interactive terminal (``cit shell``). The container gets what ``docker_engine`` gives a
step's: the same capabilities, no new privileges, an init, limits and network."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping

from ..errors import EngineUnavailable
from .docker_engine import KEPT_CAPABILITIES, NO_NEW_PRIVILEGES, network_mode
from .spec import LOOPBACK, ContainerSpec, Mount

CLIENT = "docker"


def run_argv(spec: ContainerSpec, *, interactive: bool, tty: bool) -> list[str]:
    """``docker run`` for ``spec``, removed when it ends; secrets given by name only (their
    values go in the client's environment, ``client_environment``, never on its command line)."""
    argv = [CLIENT, "run", "--rm", "--name", spec.name, "--init"]
    argv += ["-i"] if interactive else []
    argv += ["-t"] if tty else []
    argv += ["--cap-drop", "ALL", *_each("--cap-add", KEPT_CAPABILITIES)]
    argv += ["--security-opt", NO_NEW_PRIVILEGES]
    argv += ["--network", network_mode(spec)]
    argv += _each("--publish", [f"{LOOPBACK}:{p}:{p}" for p in spec.loopback_ports])
    argv += _limits(spec)
    argv += _each("--label", [f"{k}={v}" for k, v in spec.labels.items()])
    argv += _each("--mount", [_mount(m) for m in spec.mounts])
    argv += _each("--env", [f"{k}={v}" for k, v in spec.env.items()])
    argv += _each("--env", list(spec.secret_env))
    for flag, value in (("--user", spec.user), ("--workdir", spec.working_dir)):
        argv += [flag, value] if value else []
    argv += ["--hostname", spec.hostname] if spec.hostname else []
    entrypoint = list(spec.entrypoint or ())
    argv += ["--entrypoint", entrypoint[0]] if entrypoint else []
    return [*argv, spec.image, *entrypoint[1:], *spec.command]


def client_environment(spec: ContainerSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """The client's environment: ``environ`` and the values of ``spec``'s secrets."""
    return {**environ, **spec.secret_env}


def run_client(
    argv: list[str], environ: Mapping[str, str], *, output_to_stderr: bool = False
) -> int:
    """Run the docker client to its end and return its exit code (the container's); with
    ``output_to_stderr`` the container's output goes to stderr (stdout is kept for a summary).
    Ctrl-C goes to the container while it runs, not to cit."""
    if shutil.which(argv[0]) is None:
        raise EngineUnavailable(
            f"'{argv[0]}' (the Docker command-line client) is not on PATH: cit shell starts "
            "its container with 'docker run -it'; install the client"
        )
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        stdout = sys.stderr if output_to_stderr else None
        return subprocess.run(argv, env=dict(environ), stdout=stdout, check=False).returncode
    finally:
        signal.signal(signal.SIGINT, previous)


def _limits(spec: ContainerSpec) -> list[str]:
    argv = ["--pids-limit", str(spec.pids_limit)] if spec.pids_limit else []
    argv += ["--cpus", f"{spec.cpus:g}"] if spec.cpus else []
    if spec.memory_bytes:
        argv += ["--memory", f"{spec.memory_bytes}b", "--memory-swap", f"{spec.memory_bytes}b"]
    return argv


def _mount(mount: Mount) -> str:
    """A ``--mount`` value; it is CSV, so a path holding a comma or quote is quoted."""
    fields = ["type=bind", f"source={mount.source}", f"target={mount.target}"]
    if mount.read_only:
        fields.append("readonly")
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(fields)
    return line.getvalue()


def _each(flag: str, values: list[str] | tuple[str, ...]) -> list[str]:
    return [part for value in values for part in (flag, value)]


def terminal_attached() -> bool:
    """Whether cit's input and output are a terminal (an interactive shell needs one)."""
    return os.isatty(0) and os.isatty(1)
