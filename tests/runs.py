"""The run directories under a runs folder, without ``latest`` (the alias of the newest)."""

from __future__ import annotations

import json
from pathlib import Path


def run_dirs(runs: Path) -> list[Path]:
    """Each run directory under ``runs``, oldest first; none when the folder does not exist.

    Ordered by the start their manifests give, not by name: two runs started within one second
    share the id's time stamp, and its random part orders them by chance.
    """
    if not runs.is_dir():
        return []
    return sorted((p for p in runs.iterdir() if p.name != "latest"), key=_started)


def _started(run_dir: Path) -> tuple[float, str]:
    try:
        started = float(json.loads((run_dir / "manifest.json").read_text())["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        started = 0.0
    return started, run_dir.name
