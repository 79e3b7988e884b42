"""Capture the schema of a step's output folder after the step ended: an ``OutputProfile``.

Files are classified by name. Tables (``.csv``, ``.tsv``, ``.parquet``/``.pq``,
``.jsonl``/``.ndjson``, and ``.json`` holding an array of objects; text formats optionally
compressed as ``.gz``, ``.bz2``, ``.zst``/``.zstd``) are grouped into one dataset per
(folder, format). Every other file is an artifact with its size and sha256.

What is read, and what is exact:

- **Parquet**: the footer metadata only, never the data. Rows are exact; null counts, min and
  max come from the row-group statistics (null count unknown, hence ``nullable``, when a row
  group has none). Files of one dataset are combined; the first readable file's schema wins.
  The time grows with row groups times columns, not with bytes: a few microseconds per column
  chunk (a 1 GiB file of 48 row groups takes under 0.01 s, one of 3,369 row groups and 10
  columns about 0.2 s, on 2 cores).
- **CSV, TSV, JSON lines**: types and column statistics (null counts, min, max, distinct
  values) come from a sample: the first ``SAMPLE_BYTES`` (4 MiB) of decompressed content of
  the dataset's first file, cut after its last complete line. ``sampled_rows`` is the number
  of rows in that sample, or None when the sample is the whole dataset.
- **Row counts** of uncompressed text files are exact: the non-empty lines of the whole of every
  file, minus one header line per CSV/TSV file. Lines are counted, not parsed: arrow's compute
  kernels find the newlines in 1 MiB blocks, and a file of 64 MiB or more is split into ranges
  counted by up to four threads (no more than the CPUs). On 2 cores that takes about 0.4 s per
  GiB when the file is in the page cache, as it usually is right after the step wrote it, and
  otherwise about as long as reading the file from disk. A line is empty when it holds nothing,
  or only ``\\r`` when the sample holds a ``\\r`` (CRLF line ends). A quoted field with an
  embedded newline is counted as more than one row (an over-count).
- **Compressed text files** are not decompressed to the end, so their rows are an estimate
  (``rows_exact`` False): lines per byte of the sample times the content size, estimated from
  how many compressed bytes the sample took. A file that fits in the sample is counted exactly.
  Later files of a dataset use the first file's rate when they share its compression.
- **JSON arrays** are read whole with the json module (``sampled_rows`` None); a file over
  ``JSON_ARRAY_LIMIT`` (64 MiB) is not read and makes the dataset unreadable. The columns are
  the union of the objects' keys, in order of appearance.

A file whose content cannot be read as a table sets the dataset's ``error`` (one line, naming
the file) and never raises. pyarrow is imported only when a table has to be read.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import posixpath
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from ..container_files import is_real_dir, is_regular_file, open_regular, walk
from ..files import first_line, write_json_atomic
from . import arrow_literals as literals
from .profiles import ArtifactProfile, ColumnProfile, DatasetProfile, OutputProfile, Scalar
from .tables import JSON_ARRAY_LIMIT, decompressed, table_of

SAMPLE_BYTES = 4 * 2**20
"""Decompressed bytes of a text dataset's first file that types and statistics come from."""
HEAD_BYTES = 2**20
"""Decompressed bytes read from each later file of a text dataset (header, row estimate)."""
DISTINCT_LIMIT = 20
"""String columns with at most this many distinct values list them."""
COUNT_CHUNK = 2**20
"""Bytes a line count reads at a time (small enough for the bitmaps to stay in a core's cache)."""
COUNT_SPLIT = 32 * 2**20
"""An uncompressed file is line-counted in ranges of at least this many bytes, one per thread."""
COUNT_THREADS = 4
"""At most this many threads count the lines of one file (never more than the CPUs)."""
READ_STEP = 2**13
HASH_CHUNK = 2**20

MODEL_ARCHIVE = "model.tar.gz"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
ARTIFACT_KINDS = {
    **dict.fromkeys((".pkl", ".pickle", ".joblib"), "pickle"),
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".svg"), "image"),
    **dict.fromkeys((".txt", ".md", ".log"), "text"),
    ".json": "json",
}
_T = TypeVar("_T")


@dataclass(frozen=True)
class _File:
    rel: str
    """Path relative to the output root, posix."""
    path: Path
    size: int
    codec: str | None = None
    """File-level compression of a text file."""


@dataclass(frozen=True)
class _Sample:
    data: bytes
    """Start of the decompressed content, cut after its last complete line."""
    complete: bool
    """``data`` is the whole content."""
    density: float
    """Estimated non-empty lines per byte of the file as stored."""


def capture_output(output: str, folder: Path, *, sample_bytes: int = SAMPLE_BYTES) -> OutputProfile:
    """The profile of one output folder, or of one file (an input mounted as a file); a
    missing folder gives an empty profile."""
    started = time.perf_counter()
    profile = OutputProfile(output=output, folder=str(folder))
    if is_real_dir(folder) or is_regular_file(folder):
        files, profile.layout = _walk(folder)
        profile.files, profile.bytes = len(files), sum(f.size for f in files)
        groups, artifacts = _classify(files)
        profile.artifacts = [_artifact(item, kind) for item, kind in artifacts]
        profile.datasets = [
            _dataset(path, fmt, groups[path, fmt], sample_bytes) for path, fmt in sorted(groups)
        ]
    profile.capture_seconds = round(time.perf_counter() - started, 4)
    return profile


def write_profile(profile: OutputProfile, path: Path) -> None:
    """Write a profile as JSON, atomically; creates its folder, not the folders above it, so
    a run directory removed mid-run is not made again (an ``OSError`` instead)."""
    path.parent.mkdir(exist_ok=True)
    write_json_atomic(path, profile.model_dump(mode="json"))


def read_profile(path: Path) -> OutputProfile:
    return OutputProfile.model_validate_json(path.read_text(encoding="utf-8"))


# --- walking and classifying ------------------------------------------------------------------


def _walk(root: Path) -> tuple[list[_File], list[str]]:
    """Regular files and subfolders, sorted; links are never followed (nor are their targets
    captured), so a link to a host file is no part of the output."""
    if is_regular_file(root):
        return [_File(root.name, root, root.lstat().st_size)], []
    found = walk(root)
    return [_File(f.rel, f.path, f.size) for f in found.files], found.folders


def _classify(
    files: list[_File],
) -> tuple[dict[tuple[str, str], list[_File]], list[tuple[_File, str]]]:
    """Tabular files grouped by (folder, format), and the other files with their kind."""
    groups: dict[tuple[str, str], list[_File]] = {}
    artifacts: list[tuple[_File, str]] = []
    for item in files:
        table = table_of(item.path)
        if table is None:
            artifacts.append((item, _artifact_kind(item.path.name)))
            continue
        fmt, codec = table
        key = (posixpath.dirname(item.rel), fmt)
        groups.setdefault(key, []).append(_File(item.rel, item.path, item.size, codec))
    return groups, artifacts


def _artifact_kind(name: str) -> str:
    lower = name.lower()
    if lower == MODEL_ARCHIVE:
        return "model-archive"
    if lower.endswith(ARCHIVE_SUFFIXES):
        return "archive"
    return ARTIFACT_KINDS.get(os.path.splitext(lower)[1], "binary")


def _artifact(item: _File, kind: str) -> ArtifactProfile:
    return ArtifactProfile(path=item.rel, kind=kind, bytes=item.size, sha256=_sha256(item.path))


def _sha256(path: Path) -> str:
    """Hex digest, streamed; empty when the file cannot be read."""
    digest = hashlib.sha256()
    try:
        with open_regular(path) as stream:
            while chunk := stream.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


# --- datasets ---------------------------------------------------------------------------------


def _dataset(path: str, fmt: str, files: list[_File], sample_bytes: int) -> DatasetProfile:
    profile = DatasetProfile(
        path=path,
        format=fmt,
        compression=files[0].codec,
        files=[f.rel for f in files],
        bytes=sum(f.size for f in files),
    )
    if fmt == "parquet":
        _read_parquet(profile, files)
    elif fmt == "json":
        _read_json_arrays(profile, files)
    else:
        _read_text(profile, files, sample_bytes)
    return profile


def _record(profile: DatasetProfile, rel: str, problem: BaseException | str) -> None:
    """Keep the first problem of a dataset as its one-line error."""
    if profile.error is None:
        profile.error = f"{rel}: {first_line(problem)}"


# --- CSV, TSV, JSON lines ---------------------------------------------------------------------


def _read_text(profile: DatasetProfile, files: list[_File], sample_bytes: int) -> None:
    """Types and statistics from the first file's sample; rows from every file."""
    lead = files[0]
    first = _guarded(profile, lead, lambda: _sample(lead, sample_bytes))
    if first is not None:
        _guarded(profile, lead, lambda: _describe_sample(profile, first, len(files)))
    rows_of = partial(_text_rows, profile, lead=lead, first=first)
    counts = [_guarded(profile, item, partial(rows_of, item)) for item in files]
    known = [count for count in counts if count is not None]
    profile.rows = sum(rows for rows, _ in known) if known else None
    profile.rows_exact = len(known) == len(files) and all(exact for _, exact in known)


def _guarded(profile: DatasetProfile, item: _File, action: Callable[[], _T]) -> _T | None:
    """Run ``action``; a failure becomes the dataset's error instead of an exception."""
    try:
        return action()
    except Exception as exc:  # the content is arbitrary: any failure is reported, never raised
        _record(profile, item.rel, exc)
        return None


def _text_rows(
    profile: DatasetProfile, item: _File, lead: _File, first: _Sample | None
) -> tuple[int, bool]:
    """Rows of one file of a text dataset; checks a later CSV file's header against the first."""
    header = 1 if profile.format in ("csv", "tsv") else 0
    if item is lead and first is not None:
        return _file_rows(item, first, header, first.density)
    sample = _sample(item, HEAD_BYTES)
    if header and first is not None and _header(sample.data) != _header(first.data):
        _record(profile, item.rel, _header_difference(lead, first, sample))
    density = first.density if first is not None and item.codec == lead.codec else sample.density
    return _file_rows(item, sample, header, density)


def _describe_sample(profile: DatasetProfile, sample: _Sample, files: int) -> None:
    if not sample.complete and not sample.data:
        raise ValueError("no line ends within the sample")
    table = _parse_text(profile.format, sample.data)
    if table is None:
        return
    profile.columns = _columns(table)
    if files > 1 or not sample.complete:
        profile.sampled_rows = table.num_rows


def _parse_text(fmt: str, data: bytes) -> Any:
    """An arrow table parsed from a sample; None when the sample holds nothing."""
    if not data.strip():
        return None
    pa = _pyarrow()
    block_size = min(max(len(data) + 1, 2**20), 2**31 - 1)
    if fmt == "jsonl":
        pj = _pyarrow("json")
        options = pj.ReadOptions(block_size=block_size)
        return pj.read_json(pa.BufferReader(data), read_options=options)
    pc = _pyarrow("csv")
    return pc.read_csv(
        pa.BufferReader(data),
        read_options=pc.ReadOptions(block_size=block_size),
        convert_options=pc.ConvertOptions(strings_can_be_null=True),
        parse_options=pc.ParseOptions(
            delimiter="\t" if fmt == "tsv" else ",", newlines_in_values=True
        ),
    )


def _header(data: bytes) -> bytes:
    for line in data.splitlines():
        if line.strip():
            return line.strip()
    return b""


def _header_difference(first: _File, sample: _Sample, other: _Sample) -> str:
    def shown(data: bytes) -> str:
        text = _header(data).decode("utf-8", errors="replace")
        return text if len(text) <= 120 else text[:117] + "..."

    return f"header differs from {first.rel}: {shown(other.data)!r} vs {shown(sample.data)!r}"


def _file_rows(item: _File, sample: _Sample, header: int, density: float) -> tuple[int, bool]:
    """Rows of one file and whether the count is exact."""
    if sample.complete:
        return max(_count_lines(sample.data) - header, 0), True
    if item.codec is None:
        crlf = b"\r" in sample.data
        return max(_count_file_lines(item.path, item.size, crlf) - header, 0), True
    return max(round(density * item.size) - header, 0), False


def _count_lines(data: bytes) -> int:
    """Non-empty lines of content held in memory (a last line without a newline counts)."""
    lines, empty, last = _count_window(memoryview(b"\n\n" + data), b"\r" in data)
    return lines - empty + (last != b"\n")


def _count_file_lines(path: Path, size: int, crlf: bool) -> int:
    """Non-empty lines of a whole file, counted over ranges in parallel when it is large."""
    parts = max(1, min(size // COUNT_SPLIT, os.cpu_count() or 1, COUNT_THREADS))
    if parts == 1:
        counts = [_count_range(path, 0, size, crlf)]
    else:
        bounds = [size * part // parts for part in range(parts + 1)]
        count = partial(_count_range, path, crlf=crlf)
        with ThreadPoolExecutor(parts, thread_name_prefix="cit-count") as pool:
            counts = list(pool.map(count, bounds[:-1], bounds[1:]))
    lines = sum(count[0] for count in counts)
    empty = sum(count[1] for count in counts)
    return lines - empty + (counts[-1][2] != b"\n")


def _count_range(path: Path, start: int, stop: int, crlf: bool) -> tuple[int, int, bytes]:
    """(newlines, newlines ending an empty line, last byte) of bytes [start, stop) of a file.

    The two bytes before each block are kept in front of it, so an empty line that straddles
    two blocks or two ranges is seen once; the start of the file counts as a line end.
    """
    window = memoryview(bytearray(2 + COUNT_CHUNK))
    lines = empty = 0
    with open_regular(path, buffered=False) as stream:
        context = max(start - 2, 0)
        stream.seek(context)
        window[:2] = stream.read(start - context).rjust(2, b"\n")
        position = start
        while position < stop:
            got = stream.readinto(window[2 : 2 + min(COUNT_CHUNK, stop - position)])
            if not got:
                break
            position += got
            block_lines, block_empty, _ = _count_window(window[: 2 + got], crlf)
            lines, empty = lines + block_lines, empty + block_empty
            window[:2] = window[got : got + 2]
    return lines, empty, bytes(window[1:2])


def _count_window(window: memoryview, crlf: bool) -> tuple[int, int, bytes]:
    """(newlines, newlines ending an empty line, last byte) of ``window[2:]``.

    ``window[:2]`` is the context before it. A line is empty when its newline follows a newline
    or, with ``crlf``, follows ``\\r`` after a newline. Counted with arrow's compute kernels: a
    little faster than ``bytes.count`` and, unlike it, free of the GIL, so ranges count in
    parallel.
    """
    pa, pc = _pyarrow(), _pyarrow("compute")
    size = len(window) - 2
    data = pa.Array.from_buffers(pa.uint8(), len(window), [None, pa.py_buffer(window)])
    newline = pc.equal(data, literals.byte_scalar(ord("\n")))
    ends = newline.slice(2)
    after_break = newline.slice(1, size)
    if crlf:
        cr = pc.equal(data.slice(1, size), literals.byte_scalar(ord("\r")))
        after_break = pc.or_(after_break, pc.and_(cr, newline.slice(0, size)))
    empty = pc.and_(ends, after_break)
    return int(ends.true_count), int(empty.true_count), bytes(window[-1:])


def _sample(item: _File, limit: int) -> _Sample:
    """Read up to ``limit`` decompressed bytes and note how many stored bytes they took."""
    parts: list[bytes] = []
    points: list[tuple[int, int]] = []
    total = 0
    step = READ_STEP if item.codec else limit + 1  # small steps measure the compression
    with open_regular(item.path) as raw, decompressed(raw, item.codec) as stream:
        while total <= limit:
            part = stream.read(min(step, limit + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
            points.append((total, raw.tell()))
    data = b"".join(parts)
    if total <= limit:
        return _Sample(data, True, _count_lines(data) / max(item.size, 1))
    kept = data[: data.rfind(b"\n", 0, limit) + 1]
    stored_per_byte = _stored_per_byte(points) if item.codec else 1.0
    density = _count_lines(kept) / max(len(kept) * stored_per_byte, 1.0)
    return _Sample(kept, False, density)


def _stored_per_byte(points: list[tuple[int, int]]) -> float:
    """Compressed bytes per decompressed byte, from (decompressed, compressed read) points.

    Decompressors read ahead, so the slope between the first and the last time the compressed
    position moved is used (the read-ahead cancels out); the plain ratio when it moved once.
    """
    moves = [now for before, now in pairwise(points) if now[1] != before[1]]
    if len(moves) >= 2 and moves[-1][0] > moves[0][0]:
        (d0, c0), (d1, c1) = moves[0], moves[-1]
        return (c1 - c0) / (d1 - d0)
    decompressed, stored = points[-1]
    return stored / decompressed


# --- JSON arrays ------------------------------------------------------------------------------


def _read_json_arrays(profile: DatasetProfile, files: list[_File]) -> None:
    """Every file read whole; one table over all their records. A file over
    ``JSON_ARRAY_LIMIT`` is not read: it would have to be held in memory whole."""
    big = next((item for item in files if item.size > JSON_ARRAY_LIMIT), None)
    if big is not None:
        profile.error = (
            f"{big.rel}: a JSON array of {big.size} bytes is more than cit reads whole "
            f"({JSON_ARRAY_LIMIT // 2**20} MiB); write JSON lines (.jsonl) for large tables"
        )
        return
    records: list[dict[str, Any]] = []
    for item in files:
        records.extend(_guarded(profile, item, partial(_json_records, item)) or [])
    profile.rows, profile.rows_exact = len(records), profile.error is None
    if records:  # a key holding both numbers and strings fails here
        table = _guarded(profile, files[0], lambda: _table_from_records(records))
        profile.columns = _columns(table) if table is not None else []


def _json_records(item: _File) -> list[dict[str, Any]]:
    with open_regular(item.path) as raw, decompressed(raw, item.codec) as stream:
        content = json.loads(stream.read())
    if not isinstance(content, list) or not all(isinstance(r, dict) for r in content):
        raise ValueError("not a JSON array of objects")
    return content


def _table_from_records(records: list[dict[str, Any]]) -> Any:
    names = list(dict.fromkeys(key for record in records for key in record))
    columns = {name: [record.get(name) for record in records] for name in names}
    return _pyarrow().Table.from_pydict(columns)


# --- Parquet ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ParquetMeta:
    item: _File
    metadata: Any
    types: dict[str, Any]
    """Arrow type of each top-level column."""
    leaves: dict[str, int]
    """Column-chunk index of each top-level primitive column."""


def _read_parquet(profile: DatasetProfile, files: list[_File]) -> None:
    """Rows, schema and statistics from each file's footer; the data is never read."""
    found = [_guarded(profile, item, partial(_parquet_meta, item)) for item in files]
    metas = [meta for meta in found if meta is not None]
    profile.rows_exact = len(metas) == len(files)
    if not metas:
        profile.rows = None
        return
    reference = metas[0]
    for meta in metas[1:]:
        difference = _schema_difference(reference, meta)
        if difference:
            _record(profile, meta.item.rel, difference)
    profile.rows = sum(int(m.metadata.num_rows) for m in metas)
    profile.compression = _parquet_codec(reference.metadata)
    profile.columns = [_parquet_column(name, kind, metas) for name, kind in reference.types.items()]


def _parquet_meta(item: _File) -> _ParquetMeta:
    with open_regular(item.path) as handle, _pyarrow("parquet").ParquetFile(handle) as parquet:
        metadata, schema = parquet.metadata, parquet.schema_arrow
    paths = [metadata.schema.column(i).path for i in range(metadata.num_columns)]
    leaves = {path: index for index, path in enumerate(paths)}
    return _ParquetMeta(item, metadata, {f.name: f.type for f in schema}, leaves)


def _schema_difference(reference: _ParquetMeta, other: _ParquetMeta) -> str | None:
    """The first difference between two files' schemas, None when they agree."""
    ours, theirs, name = reference.types, other.types, reference.item.rel
    for column, kind in theirs.items():
        if column not in ours:
            return f"column {column!r} is not in {name}"
        if kind != ours[column]:
            return f"column {column!r} is {kind}, {name} has {ours[column]}"
    missing = [c for c in ours if c not in theirs]
    return f"column {missing[0]!r} of {name} is missing" if missing else None


def _parquet_codec(metadata: Any) -> str | None:
    if metadata.num_row_groups == 0 or metadata.num_columns == 0:
        return None
    codec = str(metadata.row_group(0).column(0).compression).lower()
    return None if codec in ("uncompressed", "none") else codec


def _parquet_column(name: str, kind: Any, metas: list[_ParquetMeta]) -> ColumnProfile:
    """One top-level column combined over the files whose schema has it with the same type."""
    null_count: int | None = 0
    low: Any = None
    high: Any = None
    values = kind.value_type if _pyarrow().types.is_dictionary(kind) else kind
    ordered = _orderable(values)
    raw = ordered and _raw_ordered(values)
    for meta in metas:
        index = meta.leaves.get(name)
        if index is None or meta.types.get(name) != kind:
            null_count = None
            continue
        nulls, bounds = _file_stats(meta.metadata, index, ordered, raw)
        null_count = None if nulls is None or null_count is None else null_count + nulls
        low, high = _widen(low, high, bounds)
    low, high = (None, None) if low is _UNKNOWN else (low, high)
    return ColumnProfile(
        name=name,
        type=str(kind),
        nullable=null_count is None or null_count > 0,
        null_count=null_count,
        min=_json_scalar(low),
        max=_json_scalar(high),
    )


_UNKNOWN = object()
"""A min or max that a row group without statistics makes unknowable."""
_RAW_PHYSICAL = frozenset(("BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE", "BYTE_ARRAY"))
"""Parquet physical types whose stored statistics compare like the values (not INT96)."""


def _file_stats(metadata: Any, index: int, ordered: bool, raw: bool) -> tuple[int | None, Any]:
    """(null count, (min, max) | None | _UNKNOWN) of one column over a file's row groups.

    With ``raw``, the row groups holding the least minimum and the greatest maximum are found by
    the stored (physical) values, and only those two are converted: converting every row
    group's statistics to Python values costs most of the time on files of many row groups.
    """
    null_count: int | None = 0
    ranged: list[Any] = []  # statistics of the row groups whose min and max count
    unknown = False
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        stats = row_group.column(index).statistics
        nulls = int(stats.null_count) if stats is not None and stats.has_null_count else None
        null_count = None if nulls is None or null_count is None else null_count + nulls
        if not ordered or unknown or nulls == row_group.num_rows or row_group.num_rows == 0:
            continue
        if stats is None or not stats.has_min_max:
            unknown = True
        else:
            ranged.append(stats)
    if unknown:
        return null_count, _UNKNOWN
    if not ranged:
        return null_count, None
    try:
        if raw and ranged[0].physical_type in _RAW_PHYSICAL:
            lowest = min(ranged, key=lambda stats: stats.min_raw)
            highest = max(ranged, key=lambda stats: stats.max_raw)
            return null_count, (lowest.min, highest.max)
        low: Any = None
        high: Any = None
        for stats in ranged:
            low, high = _widen(low, high, (stats.min, stats.max))
        return null_count, (low, high)
    except Exception:  # a logical type pyarrow cannot convert
        return null_count, _UNKNOWN


def _raw_ordered(kind: Any) -> bool:
    """Types whose stored Parquet values sort like the values themselves.

    Signed integers, dates and timestamps are stored as signed integers of one unit per file,
    floats as floats, strings as UTF-8 bytes (byte order is code point order). Not unsigned
    integers (stored signed) nor decimals (stored as big-endian bytes, among others).
    """
    types = _pyarrow().types
    checks = (
        types.is_signed_integer,
        types.is_float32,
        types.is_float64,
        types.is_boolean,
        types.is_string,
        types.is_large_string,
        types.is_date,
        types.is_timestamp,
    )
    return any(check(kind) for check in checks)


def _widen(low: Any, high: Any, bounds: Any) -> tuple[Any, Any]:
    if bounds is None or low is _UNKNOWN:
        return low, high
    if bounds is _UNKNOWN:
        return _UNKNOWN, _UNKNOWN
    lo, hi = bounds
    low = lo if low is None or (lo is not None and lo < low) else low
    high = hi if high is None or (hi is not None and hi > high) else high
    return low, high


# --- columns from arrow tables ----------------------------------------------------------------


def _columns(table: Any) -> list[ColumnProfile]:
    return [_column(name, table.column(name)) for name in table.column_names]


def _column(name: str, column: Any) -> ColumnProfile:
    pa = _pyarrow()
    values = column
    if pa.types.is_dictionary(column.type):
        values = column.cast(column.type.value_type)
    null_count = int(column.null_count)
    low: Any = None
    high: Any = None
    if _orderable(values.type) and null_count < len(values):
        bounds = _pyarrow("compute").min_max(values)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return ColumnProfile(
        name=name,
        type=str(column.type),
        nullable=null_count > 0,
        null_count=null_count,
        min=_json_scalar(low),
        max=_json_scalar(high),
        distinct=_distinct(values),
    )


def _distinct(values: Any) -> list[str] | None:
    """Sorted distinct non-null values of a string column, when there are few of them."""
    types = _pyarrow().types
    if not (types.is_string(values.type) or types.is_large_string(values.type)):
        return None
    unique = _pyarrow("compute").unique(values).drop_null()
    if len(unique) > DISTINCT_LIMIT:
        return None
    return sorted(str(v) for v in unique.to_pylist())


def _orderable(kind: Any) -> bool:
    """Types whose min and max are reported: numbers, bool, strings, dates and timestamps."""
    types = _pyarrow().types
    checks = (
        types.is_integer,
        types.is_floating,
        types.is_decimal,
        types.is_boolean,
        types.is_string,
        types.is_large_string,
        types.is_date,
        types.is_timestamp,
    )
    return any(check(kind) for check in checks)


def _json_scalar(value: Any) -> Scalar:
    """A value JSON can hold: non-finite floats become None, dates ISO strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _pyarrow(module: str = "") -> Any:
    """pyarrow or one of its modules, imported on first use (importing it costs ~0.2 s)."""
    return importlib.import_module(f"pyarrow.{module}" if module else "pyarrow")
