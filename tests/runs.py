"""The run directories under a runs folder, without ``latest`` (the alias of the newest)."""

from __future__ import annotations

from pathlib import Path


def run_dirs(runs: Path) -> list[Path]:
    """Each run directory under ``runs``, sorted; none when the folder does not exist."""
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.name != "latest")
