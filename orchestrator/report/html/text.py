"""What every part of the HTML report writes with: escaping, attributes, numbers, durations, cut
text, and the colour class (``tone-*``) of a step's status or a test's outcome."""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

from ...run.results import Status
from ..model import Outcome

STATUS_TONE = {
    Status.SUCCEEDED: "ok",
    Status.FAILED: "bad",
    Status.TIMEOUT: "bad",
    Status.OOM: "bad",
    Status.ERROR: "bad",
    Status.SKIPPED: "skip",
    Status.INTERRUPTED: "warn",
    Status.RUNNING: "warn",
    Status.PENDING: "pend",
}
OUTCOME_TONE = {
    Outcome.PASSED: "ok",
    Outcome.FAILED: "bad",
    Outcome.ERROR: "bad",
    Outcome.SKIPPED: "skip",
    Outcome.INTERRUPTED: "warn",
}

_NOT_HTML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def esc(value: object) -> str:
    """``value`` as HTML text or attribute value; characters HTML cannot hold become U+FFFD."""
    return escape(_NOT_HTML.sub("\ufffd", str(value)), quote=True)


def open_tag(tag: str, **attrs: object) -> str:
    """An opening tag with escaped attributes."""
    return f"<{tag}{attributes(**attrs)}>"


def attributes(**values: object) -> str:
    """HTML attributes; a trailing underscore is dropped (``class_``), ``_`` in names is ``-``."""
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for name, value in values.items()
        if value is not None
    )


def duration(value: float | None) -> str:
    """Seconds as "4.2 s" or "3 min 5 s"; "—" when unknown."""
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s"


def number(value: float) -> str:
    """An int as it is, a float in at most six significant digits."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def cut(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` characters, "…" marking the cut."""
    return text if len(text) <= chars else text[: chars - 1] + "…"
