"""Which files are tables: the one answer that schema capture, data-quality checks, report
samples and script tests share.

A table is a regular file (never a link) named ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``,
``.parquet``/``.pq``, or ``.json`` when it holds an array of objects (``metrics.json``, an
object, is not one). Text formats may be compressed as ``.gz``, ``.bz2``, ``.zst``/``.zstd``;
Parquet compresses inside the file.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import importlib
import os
from pathlib import Path
from typing import IO, Any, NamedTuple

from ..container_files import Entry, open_regular, regular_files

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
PARQUET_SUFFIXES = (".parquet", ".pq")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")
ALLOWED = ", ".join(TABLE_SUFFIXES)
"""The names a table may have, as messages list them."""
SNIFF_BYTES = 2**13
JSON_ARRAY_LIMIT = 64 * 2**20
"""A JSON array is parsed whole, so one larger than this is not read at all."""


class TableKind(NamedTuple):
    format: str
    """csv, tsv, parquet, jsonl or json."""
    codec: str | None
    """File-level compression of a text format: gzip, bz2 or zstd."""


def table_kind(name: str) -> TableKind | None:
    """The table format and compression a file name says, None when it names no table."""
    stem, ext = os.path.splitext(name.lower())
    codec = COMPRESSIONS.get(ext)
    if codec is not None:
        ext = os.path.splitext(stem)[1]
    if ext in PARQUET_SUFFIXES:
        return TableKind("parquet", None) if codec is None else None
    if ext == ".json":
        return TableKind("json", codec)
    fmt = TEXT_FORMATS.get(ext)
    return TableKind(fmt, codec) if fmt else None


def table_of(path: Path) -> TableKind | None:
    """What ``table_kind`` says of a file, after checking that a ``.json`` file holds an array
    of objects; None for anything that is no table."""
    kind = table_kind(path.name)
    if kind is not None and kind.format == "json" and not holds_records(path, kind.codec):
        return None
    return kind


def table_files(path: Path) -> list[Entry]:
    """The tables in a folder (all depths, sorted), or ``path`` itself when it is one; links
    are never followed."""
    return [entry for entry in regular_files(path) if table_of(entry.path) is not None]


def holds_table(path: Path) -> bool:
    """A table file, or a folder with a table somewhere inside."""
    return any(table_of(entry.path) is not None for entry in regular_files(path))


def holds_records(path: Path, codec: str | None) -> bool:
    """Whether a JSON file starts like an array of objects (or an empty array)."""
    try:
        with open_regular(path) as raw, decompressed(raw, codec) as stream:
            head = stream.read(SNIFF_BYTES)
    except Exception:  # unreadable: no table
        return False
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return bool(text[:1] == b"[" and text[1:].lstrip()[:1] in (b"{", b"]"))


def decompressed(raw: IO[bytes], codec: str | None) -> Any:
    """A binary stream of the decompressed content (closing it leaves ``raw`` open)."""
    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if codec == "bz2":
        return bz2.BZ2File(raw, mode="rb")
    if codec == "zstd":
        return importlib.import_module("pyarrow").CompressedInputStream(raw, "zstd")
    return contextlib.nullcontext(raw)

