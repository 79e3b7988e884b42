"""What an engine is asked to run: a container spec, engine-neutral and serialisable."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SECRET_MASK = "***"
LOOPBACK = "127.0.0.1"
"""Where a published port listens on the host: its loopback only, never its network."""
"""What is written and shown in place of a secret's value."""


@dataclass(frozen=True)
class Mount:
    """A host file or folder bound into the container."""

    source: str
    target: str
    read_only: bool


def writable_folders(mounts: Iterable[Mount]) -> list[tuple[Path, str]]:
    """(host path, path inside) of every mount the container can write."""
    return [(Path(m.source), m.target) for m in mounts if not m.read_only]


@dataclass(frozen=True)
class ContainerSpec:
    """Everything an engine needs to start one step's container."""

    name: str
    image: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)
    """Variables whose values come from the host's secrets: given to the container only,
    written and shown as ``SECRET_MASK``."""
    mounts: tuple[Mount, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    network: bool = False
    network_name: str | None = None
    """A private network the container joins, reachable there as its ``hostname`` (the
    hosts of a job on several instances); ``network`` then says whether it reaches outside."""
    cpus: float | None = None
    gpus: int = 0
    """GPUs the engine gives the container (0: none)."""
    memory_bytes: int | None = None
    pids_limit: int | None = None
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    timeout_seconds: float | None = None
    loopback_ports: tuple[int, ...] = ()
    """Container ports published on the host at the same number, on 127.0.0.1 only (a
    debugger's port); they need ``network``."""

    @property
    def keeps_on_failure(self) -> bool:
        """Whether the engine leaves the container (stopped) when its step fails."""
        return self.labels.get(KEEP_LABEL) == KEEP_ON_FAILURE

    def environment(self) -> dict[str, str]:
        """What the container's environment holds: ``env``, then the secrets."""
        return {**self.env, **self.secret_env}

    def to_dict(self) -> dict[str, Any]:
        """The spec as the manifest records it: secrets masked."""
        return {**asdict(self), "secret_env": dict.fromkeys(self.secret_env, SECRET_MASK)}


@dataclass(frozen=True)
class NetworkSpec:
    """A private network that the hosts of one job share; ``internal``: no way outside."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    internal: bool = True


MANAGED_LABEL = "cit.managed"


RUN_LABEL = "cit.run-id"


STEP_LABEL = "cit.step"


PIPELINE_LABEL = "cit.pipeline"


OWNER_LABEL = "cit.owner"


KEEP_LABEL = "cit.keep"
KEEP_ON_FAILURE = "on-failure"
"""``KEEP_LABEL``'s value on a container that stays when its step fails (``--keep-on-failure``)
until ``cit clean`` removes it."""
