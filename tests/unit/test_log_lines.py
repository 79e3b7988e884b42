"""Splitting a container's byte streams into whole lines, and keeping the last of them."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from orchestrator.engines.log_lines import (
    MAX_LINE_BYTES,
    LineSplitter,
    RecentLines,
    count_lines,
    split_lines,
)


def blocks(chunks: Iterable[bytes], splitter: LineSplitter | None = None) -> list[str]:
    splitter = splitter or LineSplitter()
    out = [splitter.feed(chunk) for chunk in chunks] + [splitter.finish()]
    return [text for text in out if text]


def lines(chunks: Iterable[bytes]) -> list[str]:
    return split_lines("".join(blocks(chunks)))


def test_lines_across_chunks_keep_their_line_breaks() -> None:
    chunks = [b"first\nsec", b"ond\r\nthird\rfourth", b"\n", b"tail"]
    assert lines(chunks) == ["first\n", "second\r\n", "third\r", "fourth\n", "tail\n"]


def test_every_block_handed_on_is_whole_lines() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"half a li") == ""
    assert splitter.feed(b"ne\nand half") == "half a line\n"
    assert splitter.finish() == "and half\n"


def test_a_windows_line_break_split_over_two_chunks_is_one_break() -> None:
    assert lines([b"one\r", b"\ntwo\r", b"\n"]) == ["one\r\n", "two\r\n"]


def test_a_progress_bar_is_a_run_of_carriage_return_lines() -> None:
    chunks = [b"\r 10%", b"\r 50%", b"\r100%\n", b"done\n"]
    assert lines(chunks) == ["\r", " 10%\r", " 50%\r", "100%\n", "done\n"]


def test_overlong_lines_are_cut() -> None:
    chunks = [b"x" * (MAX_LINE_BYTES * 2 + 10), b"\n"]
    sizes = [len(line) for line in lines(chunks)]
    assert sizes == [MAX_LINE_BYTES + 1, MAX_LINE_BYTES + 1, 11]


def test_a_line_growing_over_chunks_is_cut_too() -> None:
    chunks = [b"y" * (MAX_LINE_BYTES - 10), b"y" * 100 + b"\n"]
    assert [len(line) for line in lines(chunks)] == [MAX_LINE_BYTES + 1, 91]


def test_a_cut_never_splits_a_character() -> None:
    splitter = LineSplitter(max_line_bytes=8)
    text = "".join(blocks(["ab€€€€".encode(), b"\n"], splitter))  # € is 3 bytes
    assert "\ufffd" not in text
    assert text.replace("\n", "") == "ab€€€€"


def test_invalid_utf8_is_replaced() -> None:
    assert lines([b"caf\xc3\xa9 \xff\n"]) == ["café \ufffd\n"]


def test_stdout_and_stderr_keep_their_lines_whole() -> None:
    out, err = LineSplitter(), LineSplitter()
    handed = [out.feed(b"stdout begins "), err.feed(b"an error\n"), out.feed(b"and ends\n")]
    assert [text for text in handed if text] == ["an error\n", "stdout begins and ends\n"]


def test_only_line_feeds_and_carriage_returns_end_a_line() -> None:
    assert split_lines("form\x0cfeed\x1cgroup\n") == ["form\x0cfeed\x1cgroup\n"]
    assert count_lines("a\nb\r\nc\rd") == (3, 1)


def test_recent_lines_keep_the_last_lines_and_the_current_progress() -> None:
    recent = RecentLines(limit=3)
    for i in range(10):
        recent.add(f"line {i}\n")
    recent.add("\r 10%\r 20%\r")
    assert recent.take() == ["line 7", "line 8", "line 9"]
    assert recent.current == " 20%"
    recent.add(" 90%\r100%\n")
    assert recent.take() == ["100%"]
    assert recent.current is None


def test_recent_lines_hold_a_bounded_number_of_blocks() -> None:
    recent = RecentLines(limit=2)
    for i in range(1000):
        recent.add(f"{i}%\r")
    assert len(recent.blocks) == 1
    assert recent.take() == []
    assert recent.current == "999%"


def test_the_docker_pump_keeps_stdout_and_stderr_lines_whole() -> None:
    from orchestrator.engines.docker_engine import LogPump

    handed: list[str] = []
    frames = [
        (b"the first half of a stdout line, ", None),
        (None, b"an error line\n"),
        (b"and its second half\npartial", None),
        (None, b"no line break at the end"),
    ]
    pump = LogPump(iter(frames), handed.append)
    pump.run()
    assert handed == [
        "an error line\n",
        "the first half of a stdout line, and its second half\n",
        "partial\n",
        "no line break at the end\n",
    ]


def test_log_txt_keeps_every_line_whole_up_to_its_limit(tmp_path: Path) -> None:
    from orchestrator.run.step_runner import StepLog

    path = tmp_path / "log.txt"
    with StepLog(path, limit=30) as log:
        log.write("a first line\n 50%\r100%\n")
        log.write("one line too many\nand another\n")
    saved = path.read_bytes().decode()
    assert saved.startswith("a first line\n 50%\r100%\n[cit] log.txt is cut here")
    assert "one line" not in saved
    assert "2 more line(s), 30 B, were not saved" in saved


@pytest.mark.parametrize("seed", range(20))
def test_any_chunking_gives_the_same_text_in_lines_no_longer_than_the_cap(seed: int) -> None:
    rng = random.Random(seed)
    cap = rng.choice([8, 16, 64])
    parts = [
        "a" * rng.randint(0, 3 * cap) + rng.choice(["\n", "\r", "\r\n", ""])
        for _ in range(rng.randint(1, 40))
    ]
    data = "".join(parts).encode()
    splitter = LineSplitter(max_line_bytes=cap)
    chunks, start = [], 0
    while start < len(data):
        size = rng.randint(1, 3 * cap)
        chunks.append(data[start : start + size])
        start += size
    text = "".join(blocks(chunks, splitter))
    assert re.sub(r"[\r\n]", "", text) == re.sub(r"[\r\n]", "", data.decode())
    assert all(len(line.rstrip("\r\n")) <= cap for line in split_lines(text))
