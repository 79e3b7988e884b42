"""An engine that starts no containers, for unit tests of everything above the engine.

Each container name (or step label) can be given a scripted ``FakeBehaviour``: its log lines,
exit code, the files it writes (container paths, mapped to host paths through the spec's
mounts, read-only mounts refused like a real engine would) and how it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import PullError
from .base import ContainerInfo, ContainerOutcome, Engine, LogSink, to_keep
from .spec import STEP_LABEL, ContainerSpec, Mount, NetworkSpec


@dataclass
class FakeBehaviour:
    exit_code: int = 0
    logs: list[str] = field(default_factory=list)
    writes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    oom_killed: bool = False
    engine_error: str | None = None


class FakeEngine:
    """Records every spec it is asked to run and plays back scripted behaviours."""

    def __init__(
        self,
        behaviours: Mapping[str, FakeBehaviour] | None = None,
        images: Mapping[str, str] | None = None,
        registry: Mapping[str, str] | None = None,
        gpus: bool | None = False,
    ) -> None:
        self.behaviours = dict(behaviours or {})
        self.images = dict(images or {})
        self.registry = dict(registry or {})
        """Images ``pull`` finds (reference -> id); any other cannot be pulled."""
        self.pulled: list[str] = []
        self.specs: list[ContainerSpec] = []
        self.leftovers: dict[str, ContainerInfo] = {}
        self.removed: list[str] = []
        self.created: list[str] = []
        self.gpus = gpus
        """What ``has_gpus`` answers."""
        self.networks: dict[str, NetworkSpec] = {}
        """Networks that exist now (created and not yet removed)."""
        self.network_log: list[str] = []
        """'create NAME' and 'remove NAME', in order."""
        self._lock = threading.Lock()

    def run(
        self, spec: ContainerSpec, *, on_log: LogSink, cancel: threading.Event
    ) -> ContainerOutcome:
        with self._lock:
            self.specs.append(spec)
        behaviour = self._behaviour(spec)
        started = time.time()
        if behaviour.engine_error:
            return ContainerOutcome(None, started, time.time(), error=behaviour.engine_error)
        ended = _sleep(behaviour.seconds, spec.timeout_seconds, cancel)
        for line in behaviour.logs:
            on_log(line)
        exit_code = behaviour.exit_code
        for target, content in behaviour.writes.items():
            if not _write(spec.mounts, target, content):
                on_log(f"OSError: [Errno 30] Read-only file system: '{target}'")
                exit_code = 1
        if ended != "exited":
            exit_code = 137
        outcome = ContainerOutcome(
            exit_code=137 if behaviour.oom_killed else exit_code,
            started_at=started,
            finished_at=time.time(),
            oom_killed=behaviour.oom_killed,
            timed_out=ended == "timeout",
            cancelled=ended == "cancelled",
            image_id=self.images.get(spec.image, "sha256:fake"),
        )
        if not to_keep(spec, outcome):
            return outcome
        with self._lock:
            self.leftovers[spec.name] = ContainerInfo(spec.name, dict(spec.labels), "exited")
        return replace(outcome, kept=True)

    def create(self, spec: ContainerSpec) -> None:
        with self._lock:
            self.created.append(spec.name)

    def image_id(self, ref: str) -> str | None:
        return self.images.get(ref)

    def pull(self, ref: str) -> str:
        self.pulled.append(ref)
        if ref not in self.registry:
            raise PullError(ref, "fake engine", unreachable=True)
        self.images[ref] = self.registry[ref]
        return self.registry[ref]

    def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        return [
            info
            for info in self.leftovers.values()
            if all(info.labels.get(k) == v for k, v in labels.items())
        ]

    def remove_container(self, name: str) -> None:
        self.leftovers.pop(name, None)
        self.removed.append(name)

    def capacity(self) -> tuple[int, int] | None:
        return None

    def flush(self) -> None:
        pass

    def has_gpus(self) -> bool | None:
        return self.gpus

    def create_network(self, spec: NetworkSpec) -> None:
        with self._lock:
            self.networks[spec.name] = spec
            self.network_log.append(f"create {spec.name}")

    def remove_network(self, name: str) -> None:
        with self._lock:
            self.networks.pop(name, None)
            self.network_log.append(f"remove {name}")

    def list_networks(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        return [
            ContainerInfo(name, spec.labels, "")
            for name, spec in self.networks.items()
            if all(spec.labels.get(k) == v for k, v in labels.items())
        ]

    def _behaviour(self, spec: ContainerSpec) -> FakeBehaviour:
        step = spec.labels.get(STEP_LABEL, "")
        return self.behaviours.get(spec.name) or self.behaviours.get(step) or FakeBehaviour()


def _sleep(seconds: float, timeout: float | None, cancel: threading.Event) -> str:
    limit = min(seconds, timeout) if timeout is not None else seconds
    if cancel.wait(limit):
        return "cancelled"
    return "timeout" if timeout is not None and seconds > timeout else "exited"


def _write(mounts: tuple[Mount, ...], target: str, content: str) -> bool:
    """Write ``content`` where ``target`` lands on the host; False if that mount is read-only."""
    path = PurePosixPath(target)
    for mount in sorted(mounts, key=lambda m: len(m.target), reverse=True):
        root = PurePosixPath(mount.target)
        if path == root or root in path.parents:
            if mount.read_only:
                return False
            host = Path(mount.source) / path.relative_to(root)
            host.parent.mkdir(parents=True, exist_ok=True)
            host.write_text(content, encoding="utf-8")
            return True
    return True


if TYPE_CHECKING:
    _satisfies_engine: type[Engine] = FakeEngine
