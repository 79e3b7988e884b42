"""A container's output stream cut into whole lines, a chunk at a time.

A step writes its output in chunks that end anywhere: mid-line, mid-character, between the
``\\r`` and ``\\n`` of a Windows line break. ``LineSplitter`` keeps what is left over after the
last line break until the next chunk completes it, so every text it hands on is one or more
whole lines, each still ending in the break the step wrote: ``\\n``, ``\\r\\n``, or a lone
``\\r`` (a line the next one overwrites, as progress bars do). One splitter per stream: a
stderr line written while a stdout line is half done never lands inside it.

Handing on whole blocks rather than single lines keeps the cost per chunk, not per line, so a
step writing hundreds of MiB is read as fast as it writes.
"""

from __future__ import annotations

import re
from collections import deque

MAX_LINE_BYTES = 64 * 1024
"""The longest line kept whole; a longer one is cut into pieces of this size."""
LINE_ENDS = ("\n", "\r")
BYTE_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class LineSplitter:
    """Bytes in, text of whole lines out (see the module's docstring)."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self.pending = b""

    def feed(self, chunk: bytes) -> str:
        """The whole lines that ``chunk`` completes ("" when it completes none)."""
        data = self.pending + chunk
        # A closing "\r" waits: its "\n" may be in the next chunk.
        end = len(data) - 1 if data.endswith(b"\r") else len(data)
        cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
        complete, self.pending = data[:cut], data[cut:]
        if len(chunk) > self.max_line_bytes:  # any line in it may be too long
            complete = b"".join(self._capped(line) for line in BYTE_LINE.findall(complete))
        elif len(complete) > self.max_line_bytes:  # only the first, which was pending, may be
            first = BYTE_LINE.match(complete)
            if first is not None and first.end() > self.max_line_bytes:
                complete = self._capped(first.group()) + complete[first.end() :]
        if len(self.pending) > self.max_line_bytes:
            self.pending, rest = b"", self.pending
            complete += self._capped(rest, ended=False)
        return decode(complete)

    def finish(self) -> str:
        """What is left at the end of the stream, as a line of its own ("" when nothing is)."""
        rest, self.pending = self.pending, b""
        if not rest:
            return ""
        return decode(rest if rest.endswith(b"\r") else rest + b"\n")

    def _capped(self, line: bytes, ended: bool = True) -> bytes:
        """``line`` cut into pieces of at most ``max_line_bytes`` (never inside a character),
        each ended with a line feed; of a line not ``ended`` yet, the last piece goes back to
        pending, to be continued."""
        size = self.max_line_bytes
        pieces = []
        while len(line) > size:
            keep = _whole_characters(line[:size])
            pieces.append(line[:keep] + b"\n")
            line = line[keep:]
        if ended:
            pieces.append(line)
        else:
            self.pending = line
        return b"".join(pieces)


def _whole_characters(piece: bytes) -> int:
    """How much of ``piece`` to keep so that no UTF-8 character is cut at its end."""
    for back in range(1, min(4, len(piece)) + 1):
        byte = piece[-back]
        if byte < 0x80:  # ASCII: nothing cut
            return len(piece)
        if byte >= 0xC0:  # a character's first byte: whole only if all its bytes are here
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(piece) if back >= length else len(piece) - back
    return len(piece)


def decode(data: bytes) -> str:
    """Text of a step's bytes; what is not UTF-8 becomes U+FFFD."""
    return data.decode("utf-8", errors="replace")


def count_lines(text: str) -> tuple[int, int]:
    """How many lines ``text`` holds that end in a line feed (or end the text), and how many
    that a lone carriage return ends (updates of a line the next one overwrites)."""
    returns = text.count("\r") - text.count("\r\n")
    lines = text.count("\n") + (0 if text.endswith(LINE_ENDS) or not text else 1)
    return lines, returns


def ended(text: str) -> str:
    """``text`` ending in a line break (a single line handed on without one gets ``\\n``)."""
    return text if text.endswith(LINE_ENDS) or not text else text + "\n"


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, each with its line break (only ``\\n``, ``\\r\\n`` and ``\\r``
    end a line, not the other breaks ``str.splitlines`` knows)."""
    return LINE.findall(text)


class RecentLines:
    """The last lines of a step's output, kept as the blocks they came in until asked for:
    adding a block costs the same whatever it holds. A line that a lone ``\\r`` ends was
    overwritten by the next one and is left out; the last such line, when nothing followed it
    yet, is the line's current state (``current``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.blocks: deque[tuple[str, int]] = deque()
        self.held = 0
        self.current: str | None = None

    def add(self, text: str) -> int:
        """Keep ``text`` (whole lines); how many finished lines it holds (see ``count_lines``)."""
        lines, _ = count_lines(text)
        if not lines and self.blocks and not self.blocks[-1][1]:
            self.blocks.pop()  # progress updates only: they overwrite the ones before
        self.blocks.append((text, lines))
        self.held += lines
        while len(self.blocks) > 1 and self.held - self.blocks[0][1] >= self.limit:
            self.held -= self.blocks.popleft()[1]
        return lines

    def take(self) -> list[str]:
        """The last ``limit`` finished lines added since the last ``take``, without their line
        breaks; ``current`` is updated."""
        finished: list[str] = []
        for line in split_lines("".join(text for text, _ in self.blocks)):
            if line.endswith("\r"):
                self.current = line[:-1]
            else:
                finished.append(line.rstrip("\r\n"))
                self.current = None
        self.blocks.clear()
        self.held = 0
        return finished[-self.limit :]
