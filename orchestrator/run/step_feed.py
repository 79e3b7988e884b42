"""A step's output on its way to the console, decoupled from the step.

The thread reading a container's output adds blocks of lines as fast as the container writes
them; the console takes, at its own pace, the latest lines and the count of those it did not
show. A step writing hundreds of MiB is never slowed by a terminal that prints a few thousand
lines a second; ``log.txt`` keeps everything.
"""

from __future__ import annotations

import threading

from ..engines.log_lines import RecentLines

LINES_PER_REFRESH = 200
"""The most lines of one step the console prints per refresh; the rest are counted."""


class StepFeed:
    """What the console has not shown yet of one step's output."""

    def __init__(self, limit: int = LINES_PER_REFRESH) -> None:
        self._lock = threading.Lock()
        self._recent = RecentLines(limit)
        self._finished = 0

    def add(self, text: str) -> None:
        """Whole lines of the step's output (cheap: called for every block the step writes)."""
        with self._lock:
            self._finished += self._recent.add(text)

    def take(self) -> tuple[list[str], int]:
        """The latest finished lines since the last ``take`` and how many more there were."""
        with self._lock:
            lines, finished = self._recent.take(), self._finished
            self._finished = 0
        return lines, finished - len(lines)

    @property
    def current(self) -> str | None:
        """The state of a line the step keeps overwriting (a progress bar), as last taken."""
        return self._recent.current
