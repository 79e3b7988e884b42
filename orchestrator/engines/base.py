"""The seam between cit and a container engine: run a spec, get an outcome.

``DockerEngine`` (in ``docker_engine``) is the real implementation; ``FakeEngine`` (in
``fake_engine``) runs nothing and is meant for unit tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from .spec import ContainerSpec, NetworkSpec

LogSink = Callable[[str], None]
"""Receives a container's output as it comes: one or more whole lines at a time, each ending in
the line break the step wrote (``\\n``, ``\\r\\n``, or ``\\r`` for a line the next one
overwrites); a single line may come without one (``log_lines.ended`` adds it)."""
ENGINE_LOST = "the connection to the container engine was lost while the step ran"
Isolation = Literal["container", "process"]
"""Where a script test's cases run: each in a container (the Docker engine) or in a host
process (the process engine)."""
PROCESS_IMAGE_ID = "process:host-python"
"""The image id of every step the process engine ran: a host process needs no image."""


@dataclass(frozen=True)
class ContainerOutcome:
    """How a container ended. ``error`` is set when the engine itself failed to run it."""

    exit_code: int | None
    started_at: float
    finished_at: float
    oom_killed: bool = False
    timed_out: bool = False
    cancelled: bool = False
    image_id: str | None = None
    error: str | None = None
    kept: bool = False
    """The container was left, stopped, for a look inside (``ContainerSpec.keeps_on_failure``)."""

    @property
    def duration_seconds(self) -> float:
        return max(0.0, self.finished_at - self.started_at)


def to_keep(spec: ContainerSpec, outcome: ContainerOutcome) -> bool:
    """Whether the container of ``spec`` stays: it asks to be kept on failure, and its step
    failed, ran out of time or memory (not stopped by the user, nor never run)."""
    if not spec.keeps_on_failure or outcome.cancelled or outcome.exit_code is None:
        return False
    return outcome.exit_code != 0 or outcome.timed_out or outcome.oom_killed


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    labels: Mapping[str, str]
    status: str


class Engine(Protocol):
    """What cit needs from a container engine."""

    def create(self, spec: ContainerSpec) -> None:
        """Create the container ahead of ``run`` (its inputs' folders exist); may be skipped."""
        ...

    def run(
        self, spec: ContainerSpec, *, on_log: LogSink, cancel: threading.Event
    ) -> ContainerOutcome:
        """Run ``spec`` to completion, timeout or cancellation; ``flush`` removes the container."""
        ...

    def image_id(self, ref: str) -> str | None:
        """The id of a local image, or None when it is not present."""
        ...

    def pull(self, ref: str) -> str:
        """Pull ``ref`` from its registry and return its id; a ``PullError`` with the
        registry's reason when it cannot (no registry reachable, no such image, no access)."""
        ...

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        """Containers (running or not) carrying all of ``labels``."""
        ...

    def remove_container(self, name: str) -> None:
        """Force-remove one container; no error when it is already gone."""
        ...

    def capacity(self) -> tuple[int, int] | None:
        """CPUs and memory bytes the engine can give containers, when it can tell."""
        ...

    def flush(self) -> None:
        """Return once every container ``run`` finished with is removed."""
        ...

    def has_gpus(self) -> bool | None:
        """Whether the engine can give containers GPUs (None: the question does not apply)."""
        ...

    def create_network(self, spec: NetworkSpec) -> None:
        """Create a private network for the hosts of one job."""
        ...

    def remove_network(self, name: str) -> None:
        """Remove a network; no error when it is already gone."""
        ...

    def list_networks(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        """Networks carrying all of ``labels`` (``status`` is empty)."""
        ...
