"""Run-wide settings, read once at the entry point and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .image_build import runner_image_tag
from .resources import host_cpus, host_memory_bytes

RUNNER_IMAGE = runner_image_tag()
DEFAULT_LOG_LIMIT_BYTES = 64 * 2**20


def _default_user() -> str | None:
    """Run containers as the invoking user so files they write stay the user's own."""
    uid = os.getuid()
    return None if uid == 0 else f"{uid}:{os.getgid()}"


@dataclass(frozen=True)
class RunSettings:
    """How a run is carried out: where it writes, which image, how much at once."""

    cit_dir: Path = field(default_factory=lambda: Path.cwd() / ".cit")
    image: str = RUNNER_IMAGE
    max_workers: int = field(default_factory=host_cpus)
    cpus_available: int = field(default_factory=host_cpus)
    memory_available: int = field(default_factory=host_memory_bytes)
    user: str | None = field(default_factory=_default_user)
    region: str = "us-east-1"
    log_limit_bytes: int = DEFAULT_LOG_LIMIT_BYTES
    """The most of a step's output its log.txt keeps; the rest is counted, not saved."""

    @property
    def runs_dir(self) -> Path:
        return self.cit_dir / "runs"
