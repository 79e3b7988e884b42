"""``--debug-port STEP=PORT``: one step's container port published on the host's loopback, so
a debugger on the host can attach to the script (``debugpy.listen(("0.0.0.0", PORT))``).

That step gets a network (a published port needs one); every other step keeps none.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..engines.spec import LOOPBACK
from ..errors import CitError
from ..pipeline.model import Pipeline
from .sagemaker_job import JobSpec

OPTION = "--debug-port"
MAX_PORT = 65535


def parse_debug_ports(texts: Iterable[str]) -> dict[str, int]:
    """Step → port of each ``STEP=PORT``; a ``CitError`` naming the one that is not."""
    ports: dict[str, int] = {}
    for text in texts:
        step, sep, number = text.partition("=")
        step, number = step.strip(), number.strip()
        if not sep or not step or not number.isdigit() or not 1 <= int(number) <= MAX_PORT:
            raise CitError(
                f"{OPTION} '{text}': give STEP=PORT, a step's name and a port from 1 to "
                f"{MAX_PORT}, e.g. {OPTION} train=5678"
            )
        if step in ports:
            raise CitError(f"{OPTION}: step '{step}' is given twice; a step gets one port")
        ports[step] = int(number)
    _one_step_per_port(ports)
    return ports


def _one_step_per_port(ports: Mapping[str, int]) -> None:
    seen: dict[int, str] = {}
    for step, port in ports.items():
        if port in seen:
            raise CitError(
                f"{OPTION}: steps '{seen[port]}' and '{step}' both ask for port {port}; the "
                "host's loopback has one such port"
            )
        seen[port] = step


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Each port is free on this machine's loopback: the engine would otherwise refuse to start
    the step with its own bind error, after the steps before it ran."""
    for step, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                raise CitError(
                    f"{OPTION} {step}={port}: {LOOPBACK}:{port} is already in use on this "
                    "machine; pick another port"
                ) from None


def check_debug_ports(pipeline: Pipeline, ports: Mapping[str, int]) -> None:
    """Each step given a port is one of the pipeline's that runs a container."""
    for name in ports:
        step = pipeline.steps.get(name)
        if step is None:
            known = ", ".join(pipeline.steps) or "none"
            raise CitError(f"{OPTION}: the pipeline has no step '{name}' (its steps: {known})")
        if not step.kind.runs_container:
            raise CitError(
                f"{OPTION}: step '{name}' is a {step.kind.value} step and runs no container"
            )


def with_debug_port(job: JobSpec, port: int | None) -> JobSpec:
    """``job`` with ``port`` published on the host's loopback (and a network to carry it)."""
    if port is None:
        return job
    container = replace(job.container, network=True, loopback_ports=(port,))
    # The hosts of a job on several instances share one network: it must carry the port too.
    network = replace(job.network, internal=False) if job.network is not None else None
    return replace(job, container=container, network=network)
