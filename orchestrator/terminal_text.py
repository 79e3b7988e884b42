"""Text from users and containers, made safe to print: no Rich markup, no control characters.

A pipeline name, a step's log line, a file name a step wrote or an exit message can hold
``[bold]`` or ``[/]`` (Rich markup; a stray closing tag makes Rich refuse the whole table) and
control characters (``ESC[2J`` clears the screen, NUL and the C1 controls confuse terminals).
Whatever cit prints of such text goes through this module: as ``Text`` (never read as markup),
or, inside a markup string, escaped. Control characters become visible escapes such as
``\\x1b``; tab and line breaks stay. Files (``log.txt``, reports) keep the text as it was.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.measure import Measurement
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

from .errors import CitError

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls but tab and line feed, DEL, and the C1 controls."""


def visible(text: str) -> str:
    """``text`` with every control character but tab and line feed written as ``\\xNN``
    (a Windows line break is a line break)."""
    return CONTROL_CHARACTERS.sub(
        lambda match: f"\\x{ord(match.group()):02x}", text.replace("\r\n", "\n")
    )


def plain(text: str, style: StyleType = "") -> Text:
    """``text`` as a Rich ``Text``: shown as it is, its control characters visible."""
    return Text(visible(text), style=style)


def markup_safe(text: object) -> str:
    """``text`` to put inside a markup string: its markup escaped, its controls visible."""
    return escape(visible(str(text)))


NON_TERMINAL_WIDTH = 200
"""The width of output that is not a terminal (a CI log, a pipe) when ``COLUMNS`` is not set:
wide enough that a table keeps run ids, paths and sizes on one line."""


DEFAULT_TERMINAL_WIDTH = 80
"""A terminal's width when it cannot tell it."""


def output_width(is_terminal: bool, stream: Any = None) -> int | None:
    """The width of cit's output (its tables and its help): ``COLUMNS`` when it is a positive
    whole number, else the terminal's, else (a CI log, ``| tee``) ``NON_TERMINAL_WIDTH``: not
    the 80 columns a console guesses without a terminal, which would cut ids and paths over
    lines. ``None``: a terminal and no ``COLUMNS`` at all, whose width Rich follows as it
    changes. Rich reads ``COLUMNS=0`` as a width of nothing and prints nothing; here a value
    that is not a positive number is as if it were not set."""
    columns = _columns()
    if columns is not None:
        return columns
    if not is_terminal:
        return NON_TERMINAL_WIDTH
    if "COLUMNS" not in os.environ:
        return None
    return _terminal_width(stream)


def _columns() -> int | None:
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _terminal_width(stream: Any) -> int:
    try:
        return os.get_terminal_size((stream or sys.stdout).fileno()).columns or (
            DEFAULT_TERMINAL_WIDTH
        )
    except (AttributeError, OSError, ValueError):
        return DEFAULT_TERMINAL_WIDTH


class TerminalConsole(Console):
    """cit's console, as wide as ``output_width`` says. It goes quiet when its reader goes away
    (`cit run | head`), so the run and its saved logs carry on; Rich's default would end the
    process."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if options.get("width") is None:
            stream = sys.stderr if self.stderr else sys.stdout
            width = output_width(self.is_terminal, stream)
            if width is not None:
                self.width = width

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, (sys.stderr if self.stderr else sys.stdout).fileno())


PROGRESS_VARIABLE = "CIT_PROGRESS_INTERVAL"
DEFAULT_PROGRESS_SECONDS = 30.0


def progress_interval(environ: Mapping[str, str] | None = None) -> float:
    """How often, in seconds, cit says what a long task is doing when its output is not a
    terminal (a step that prints nothing, a large download): ``CIT_PROGRESS_INTERVAL``,
    default 30; a value that is not a positive number is a ``CitError``."""
    text = (os.environ if environ is None else environ).get(PROGRESS_VARIABLE, "").strip()
    if not text:
        return DEFAULT_PROGRESS_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise CitError(
            f"environment variable {PROGRESS_VARIABLE}={text!r}: give a number of seconds "
            "greater than 0 (how often cit reports progress when not in a terminal)"
        )
    return seconds


def add_column(table: Table, header: str, *, whole: bool = False, right: bool = False) -> None:
    """A column of cit's tables. A ``whole`` one (names, ids, paths, numbers) is never wrapped:
    the other columns wrap first, and only a console too narrow for all of them cuts it, with
    an ellipsis; any other wraps at spaces and folds a word too long for it."""
    table.add_column(
        header,
        justify="right" if right else "left",
        no_wrap=whole,
        overflow="ellipsis" if whole else "fold",
    )


class Phrases:
    """Lines of phrases ("train:", "1 file,", "82.5 KiB") shown joined by spaces, each line
    broken only between phrases: a size keeps its unit, a step its duration. A phrase wider
    than its column folds. Shown as ``plain`` text."""

    def __init__(self, lines: Sequence[Sequence[str]], style: StyleType = "") -> None:
        self.lines = [[visible(phrase) for phrase in line] for line in lines]
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(p) for line in self.lines for p in line), default=0)
        longest = max((cell_len(" ".join(line)) for line in self.lines), default=0)
        return Measurement(widest, longest).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        shown = [row for line in self.lines for row in _packed(line, options.max_width)]
        yield Text("\n".join(shown), style=self.style, overflow="fold")


def _packed(phrases: Sequence[str], width: int) -> list[str]:
    """``phrases`` joined by spaces into rows no wider than ``width`` where they fit."""
    rows: list[str] = []
    for phrase in phrases:
        if rows and cell_len(f"{rows[-1]} {phrase}") <= width:
            rows[-1] = f"{rows[-1]} {phrase}"
        else:
            rows.append(phrase)
    return rows
