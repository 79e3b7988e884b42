"""Splitting a container's byte stream into log lines."""

from __future__ import annotations

from orchestrator.engines.docker_engine import MAX_LINE_BYTES, _lines


def test_lines_across_chunks_and_line_breaks() -> None:
    chunks = [b"first\nsec", b"ond\r\nthird\rfourth", b"\n", b"tail"]
    assert list(_lines(iter(chunks))) == ["first", "second", "third", "fourth", "tail"]


def test_overlong_lines_are_cut() -> None:
    chunks = [b"x" * (MAX_LINE_BYTES * 2 + 10), b"\n"]
    assert [len(line) for line in _lines(iter(chunks))] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 10]


def test_invalid_utf8_is_replaced() -> None:
    assert list(_lines(iter([b"caf\xc3\xa9 \xff\n"]))) == ["café \ufffd"]


def test_a_line_growing_over_chunks_is_cut_too() -> None:
    chunks = [b"y" * (MAX_LINE_BYTES - 10), b"y" * 100 + b"\n"]
    assert [len(line) for line in _lines(iter(chunks))] == [MAX_LINE_BYTES, 90]
