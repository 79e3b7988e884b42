"""What an engine is asked to run: a container spec, engine-neutral and serialisable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Mount:
    """A host file or folder bound into the container."""

    source: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class ContainerSpec:
    """Everything an engine needs to start one step's container."""

    name: str
    image: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    network: bool = False
    cpus: float | None = None
    memory_bytes: int | None = None
    pids_limit: int | None = None
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    timeout_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
