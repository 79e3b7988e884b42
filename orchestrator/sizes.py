"""Byte counts as people read them, in every message and report that gives a size: one
wording everywhere. Imports nothing, so that any module may use it."""

from __future__ import annotations


def human_size(count: int) -> str:
    """A byte count as people read it: 17.9 KiB."""
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
