"""Run-wide settings, read once at the entry point and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..engines.image_build import runner_image_tag
from ..pipeline.resources import host_cpus, host_memory_bytes

RUNNER_IMAGE = runner_image_tag()
DEFAULT_LOG_LIMIT_BYTES = 64 * 2**20
DEFAULT_CACHE_MAX_BYTES = 10 * 2**30
DEFAULT_PIDS_LIMIT = 4096
"""Processes and threads one step's container may hold: ample for data loaders and thread
pools, and a fork bomb stops there instead of exhausting the host."""


def _default_user() -> str | None:
    """Run containers as the invoking user so files they write stay the user's own; a cit
    running as root runs them as root (no user given), as SageMaker runs its jobs."""
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
    pids_limit: int = DEFAULT_PIDS_LIMIT
    region: str = "us-east-1"
    log_limit_bytes: int = DEFAULT_LOG_LIMIT_BYTES
    """The most of a step's output its log.txt keeps; the rest is counted, not saved."""
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Host variable → value of the steps' secrets (``host_secrets``); what a run lacks is read
    from the host environment before anything runs."""
    cpu_only: bool = False
    """Run steps on GPU instance types without GPUs (``SM_NUM_GPUS=0``, a note in their log)
    instead of refusing an engine that has none."""
    step_cache: bool = False
    """Keep the outputs of each step that passes in the step cache (``step_cache``), and take
    them instead of running a step whose key is unchanged (``cit run`` turns it on)."""
    reuse_cached: bool = True
    """False (``--no-cache``): with ``step_cache``, every step runs; what passes is kept."""
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    """The step cache's cap; the least recently used entries go beyond it."""
    taken_steps: Mapping[str, Path] = field(default_factory=dict)
    """Step name → its folder in an earlier run: the step does not run, its outputs are taken
    from there (``selection.select_steps``: ``cit run --from/--until/--only``)."""
    step_wheels: Mapping[str, Path] = field(default_factory=dict)
    """Step name → host folder of the wheels of its ``requirements.txt`` (``step_requirements``),
    fetched before anything runs."""
    keep_on_failure: bool = False
    """Leave the container of a step that fails, stopped, until ``cit clean``."""
    debug_ports: Mapping[str, int] = field(default_factory=dict)
    """Step name → the port its container publishes on the host's loopback (``debug_port``)."""

    @property
    def runs_dir(self) -> Path:
        return self.cit_dir / "runs"

    @property
    def cache_dir(self) -> Path:
        return self.cit_dir / "cache"
