"""Pulling an image: the engine's progress messages made into a line per layer and a total,
and its failures sorted into "no registry reachable" and the registry's own answer."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from ..errors import PullError
from ..sizes import human_size
from .image_build import OnLine

PULL_TIMEOUT_ENV = "CIT_PULL_TIMEOUT"
DEFAULT_PULL_TIMEOUT_S = 900.0
_UNREACHABLE = (
    "dial tcp",
    "no such host",
    "i/o timeout",
    "connection refused",
    "network is unreachable",
    "tls handshake timeout",
    "client.timeout",
    "server misbehaving",
    "temporary failure in name resolution",
)
_LAYER_DONE = ("Pull complete", "Already exists")


def pull_timeout(env: Mapping[str, str] | None = None) -> float:
    """Seconds a pull may take: ``CIT_PULL_TIMEOUT``, else 15 minutes."""
    raw = (os.environ if env is None else env).get(PULL_TIMEOUT_ENV, "")
    try:
        return float(raw) if float(raw) > 0 else DEFAULT_PULL_TIMEOUT_S
    except ValueError:
        return DEFAULT_PULL_TIMEOUT_S


def pull_failure(ref: str, reason: str) -> PullError:
    """The error for a failed pull: no registry reachable, or what the registry said."""
    reason = " ".join(reason.split()) or "the engine gave no reason"
    unreachable = any(marker in reason.lower() for marker in _UNREACHABLE)
    return PullError(ref, reason, unreachable=unreachable)


class PullProgress:
    """Turns the engine's pull messages into lines: one per finished layer, then a total."""

    def __init__(self, ref: str, on_line: OnLine) -> None:
        self.ref = ref
        self.on_line = on_line
        self.sizes: dict[str, int] = {}
        self.done: set[str] = set()
        self.started = time.monotonic()

    def feed(self, entry: Mapping[str, Any]) -> None:
        """One decoded message of the pull stream; an ``error`` one raises ``PullError``."""
        if entry.get("error") or entry.get("errorDetail"):
            detail = entry.get("errorDetail") or {}
            raise pull_failure(self.ref, str(entry.get("error") or detail.get("message") or ""))
        layer, status = str(entry.get("id") or ""), str(entry.get("status") or "")
        total = (entry.get("progressDetail") or {}).get("total")
        if layer and status == "Downloading" and isinstance(total, int):
            self.sizes[layer] = total
        if layer and status in _LAYER_DONE and layer not in self.done:
            self.done.add(layer)
            size = self.sizes.get(layer)
            what = "already here" if status == "Already exists" else human_size(size or 0)
            self.on_line(f"layer {layer}: {what}")

    def finish(self) -> None:
        total = sum(self.sizes.get(layer, 0) for layer in self.done)
        seconds = time.monotonic() - self.started
        self.on_line(
            f"pulled {self.ref}: {len(self.done)} layer(s), {human_size(total)} in {seconds:.0f}s"
        )
