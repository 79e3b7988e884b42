"""Capturing the schema of an output folder: tables by format, artifacts, sampling, errors."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrator.data import capture
from orchestrator.data.capture import SAMPLE_BYTES, capture_output, read_profile, write_profile
from orchestrator.data.profiles import DatasetProfile, OutputProfile

pa = pytest.importorskip("pyarrow")
pcsv = pytest.importorskip("pyarrow.csv")
pq = pytest.importorskip("pyarrow.parquet")


def write_csv(path: Path, table: object, delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(delimiter=delimiter))
    return path


def only_dataset(profile: OutputProfile) -> DatasetProfile:
    assert len(profile.datasets) == 1, profile.datasets
    return profile.datasets[0]


def column(dataset: DatasetProfile, name: str) -> object:
    found = dataset.column(name)
    assert found is not None, f"no column {name!r} in {[c.name for c in dataset.columns]}"
    return found


def sample_table(rows: int = 5) -> object:
    return pa.table(
        {
            "id": list(range(1, rows + 1)),
            "score": [0.5 * i if i % 3 else None for i in range(rows)],
            "label": [("cat", "dog")[i % 2] for i in range(rows)],
        }
    )


# --- CSV and TSV ------------------------------------------------------------------------------


def test_csv_types_nulls_min_max_and_distinct(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(
        "id,price,city,day\n3,1.5,Oslo,2024-01-02\n1,,Rome,\n2,4.25,,2024-03-01\n"
    )
    dataset = only_dataset(capture_output("out", tmp_path))
    assert (dataset.path, dataset.format, dataset.compression) == ("", "csv", None)
    assert dataset.rows == 3 and dataset.rows_exact and dataset.error is None
    assert dataset.sampled_rows is None  # the sample was the whole dataset
    ids, price, city = column(dataset, "id"), column(dataset, "price"), column(dataset, "city")
    assert (ids.type, ids.nullable, ids.min, ids.max, ids.distinct) == ("int64", False, 1, 3, None)
    assert (price.type, price.null_count, price.nullable) == ("double", 1, True)
    assert (price.min, price.max) == (1.5, 4.25)
    assert (city.type, city.null_count, city.distinct) == ("string", 1, ["Oslo", "Rome"])
    assert (city.min, city.max) == ("Oslo", "Rome")
    day = column(dataset, "day")
    assert day.type.startswith(("date32", "timestamp")) and str(day.min).startswith("2024-01-02")


def test_many_distinct_strings_are_not_listed(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.csv", pa.table({"name": [f"n{i:02d}" for i in range(25)]}))
    name = column(only_dataset(capture_output("out", tmp_path)), "name")
    assert name.distinct is None and (name.min, name.max) == ("n00", "n24")


def test_tsv(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.tsv", sample_table(4), delimiter="\t")
    dataset = only_dataset(capture_output("out", tmp_path))
    assert dataset.format == "tsv" and dataset.rows == 4
    assert [c.name for c in dataset.columns] == ["id", "score", "label"]
    assert column(dataset, "label").distinct == ["cat", "dog"]


def test_small_gzip_csv_fits_in_the_sample_and_is_exact(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "part-0.csv.gz", "wt") as stream:
        stream.write("a,b\n1,x\n2,y\n3,z\n")
    dataset = only_dataset(capture_output("out", tmp_path))
    assert (dataset.format, dataset.compression, dataset.rows) == ("csv", "gzip", 3)
    assert dataset.rows_exact and column(dataset, "b").distinct == ["x", "y", "z"]


def compressed_csv(path: Path, codec: str, rows: int) -> None:
    """A CSV of fixed-width rows, so the compression ratio is the same all along."""
    lines = "".join(f"{i:07d},{(i * 7919) % 100003:06d},label{i % 5}\n" for i in range(rows))
    with pa.CompressedOutputStream(str(path), codec) as stream:
        stream.write(("id,value,label\n" + lines).encode())


@pytest.mark.parametrize(
    ("suffix", "codec", "rows", "sample"),
    [(".gz", "gzip", 200_000, 2**20), (".zst", "zstd", 600_000, SAMPLE_BYTES)],
)
def test_large_compressed_csv_rows_are_estimated(
    tmp_path: Path, suffix: str, codec: str, rows: int, sample: int
) -> None:
    compressed_csv(tmp_path / f"big.csv{suffix}", codec, rows)
    dataset = only_dataset(capture_output("out", tmp_path, sample_bytes=sample))
    assert (dataset.compression, dataset.rows_exact) == (codec, False)
    assert dataset.rows is not None and 0.9 * rows < dataset.rows < 1.1 * rows
    assert dataset.sampled_rows is not None and dataset.sampled_rows < rows * 0.5
    assert column(dataset, "label").distinct == [f"label{i}" for i in range(5)]


def test_later_compressed_parts_use_the_first_part_rate(tmp_path: Path) -> None:
    compressed_csv(tmp_path / "part-0.csv.gz", "gzip", 40_000)
    compressed_csv(tmp_path / "part-1.csv.gz", "gzip", 40_000)
    dataset = only_dataset(capture_output("out", tmp_path, sample_bytes=256 * 1024))
    assert dataset.rows is not None and 0.85 * 80_000 < dataset.rows < 1.15 * 80_000
    assert not dataset.rows_exact and dataset.error is None


def test_bz2_csv_that_fits_is_counted_exactly(tmp_path: Path) -> None:
    with bz2.open(tmp_path / "d.csv.bz2", "wt") as stream:
        stream.write("a\n" + "".join(f"{i}\n" for i in range(1000)))
    dataset = only_dataset(capture_output("out", tmp_path))
    assert (dataset.compression, dataset.rows, dataset.rows_exact) == ("bz2", 1000, True)
    assert (column(dataset, "a").min, column(dataset, "a").max) == (0, 999)


def test_small_sample_counts_every_row_of_an_uncompressed_csv(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.csv", sample_table(500))
    dataset = only_dataset(capture_output("out", tmp_path, sample_bytes=200))
    assert dataset.rows == 500 and dataset.rows_exact
    assert dataset.sampled_rows is not None and 0 < dataset.sampled_rows < 500
    assert column(dataset, "id").max == dataset.sampled_rows  # statistics of the sample only


def test_row_count_ignores_blank_lines_and_a_missing_final_newline(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n\n2\n\n\n3")
    dataset = only_dataset(capture_output("out", tmp_path, sample_bytes=4))
    assert dataset.rows == 3 and dataset.rows_exact


def test_crlf_blank_lines_are_not_rows(tmp_path: Path) -> None:
    content = b"a,b\r\n\r\n1,2\r\n\r\n\r\n3,4\r\n5,6"
    (tmp_path / "d.csv").write_bytes(content)
    whole = only_dataset(capture_output("out", tmp_path))
    counted = only_dataset(capture_output("out", tmp_path, sample_bytes=8))
    assert (whole.rows, whole.sampled_rows, counted.rows) == (3, None, 3)
    assert whole.rows_exact and counted.rows_exact and counted.sampled_rows == 0


def reference_lines(data: bytes) -> int:
    """Non-empty lines, a line holding only the CR of a CRLF counting as empty."""
    return sum(1 for line in data.split(b"\n") if line not in (b"", b"\r"))


COUNT_CASES = [
    b"",
    b"\n",
    b"\n\n\nx",
    b"x",
    b"a\nb\n",
    b"\na\n\nb\n\n\n",
    b"a\r\n\r\nb\r\n\r\n\r\nc",
    b"\r\n\r\nh\r\n" + b"row,1\r\n\r\n" * 40,
    b"".join(b"line%d\n" % i + b"\n" * (i % 3) for i in range(300)),
    b"".join(b"r%d\r\n" % i + b"\r\n" * (i % 4) for i in range(300)) + b"tail",
]


@pytest.mark.parametrize("content", COUNT_CASES)
@pytest.mark.parametrize(("chunk", "split"), [(1, 1), (2, 3), (5, 17), (4096, 10**9)])
def test_line_count_over_blocks_and_ranges_matches_a_plain_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, chunk: int, split: int
) -> None:
    """Blank lines straddling blocks, and ranges counted by several threads, are seen once."""
    monkeypatch.setattr(capture, "COUNT_CHUNK", chunk)
    monkeypatch.setattr(capture, "COUNT_SPLIT", split)
    monkeypatch.setattr(capture.os, "cpu_count", lambda: 3)
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    crlf = b"\r" in content
    expected = reference_lines(content)
    assert capture._count_file_lines(path, len(content), crlf) == expected
    assert capture._count_lines(content) == expected


def test_large_csv_counted_by_several_threads_is_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "COUNT_CHUNK", 4096)
    monkeypatch.setattr(capture, "COUNT_SPLIT", 64 * 1024)
    monkeypatch.setattr(capture.os, "cpu_count", lambda: 8)
    started: list[str] = []
    count_range = capture._count_range

    def recording(*args: object, **kwargs: object) -> tuple[int, int, bytes]:
        started.append(threading.current_thread().name)
        return count_range(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(capture, "_count_range", recording)
    table = sample_table(40_000)
    write_csv(tmp_path / "big.csv", table)
    dataset = only_dataset(capture_output("out", tmp_path, sample_bytes=32 * 1024))
    assert (dataset.rows, dataset.rows_exact, dataset.error) == (40_000, True, None)
    assert dataset.sampled_rows is not None and dataset.sampled_rows < 40_000
    assert len(started) == capture.COUNT_THREADS and all(n.startswith("cit-count") for n in started)


def test_csv_parts_form_one_dataset_and_a_header_change_is_reported(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "part-0.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "train" / "part-1.csv").write_text("a,c\n5,6\n")
    dataset = only_dataset(capture_output("out", tmp_path))
    assert dataset.files == ["train/part-0.csv", "train/part-1.csv"]
    assert dataset.rows == 3 and dataset.sampled_rows == 2
    assert dataset.error is not None
    assert dataset.error.startswith("train/part-1.csv: header differs from train/part-0.csv")


def test_empty_and_header_only_csv(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "e.csv").write_bytes(b"")
    (tmp_path / "header").mkdir()
    (tmp_path / "header" / "h.csv").write_text("a,b\n")
    profile = capture_output("out", tmp_path)
    empty, header = profile.dataset("empty"), profile.dataset("header")
    assert empty is not None and (empty.rows, empty.columns, empty.error) == (0, [], None)
    assert header is not None and header.rows == 0 and header.error is None
    assert [(c.name, c.type) for c in header.columns] == [("a", "null"), ("b", "null")]


def test_garbage_csv_sets_an_error_without_raising(tmp_path: Path) -> None:
    (tmp_path / "part-0.csv").write_text('a,b\n1,2\n3,4,5,6\n"unclosed\n')
    dataset = only_dataset(capture_output("out", tmp_path))
    assert dataset.error is not None and dataset.error.startswith("part-0.csv: ")
    assert "\n" not in dataset.error and dataset.columns == []


# --- JSON -------------------------------------------------------------------------------------


def test_jsonl(tmp_path: Path) -> None:
    records = [
        {"id": i, "tag": ["a", "b"][i % 2], "w": None if i == 2 else i / 2} for i in range(6)
    ]
    text = "\n".join(json.dumps(r) for r in records) + "\n\n"
    (tmp_path / "rows.jsonl").write_text(text)
    dataset = only_dataset(capture_output("out", tmp_path))
    assert (dataset.format, dataset.rows, dataset.rows_exact) == ("jsonl", 6, True)
    assert column(dataset, "tag").distinct == ["a", "b"]
    weight = column(dataset, "w")
    assert (weight.type, weight.null_count, weight.max) == ("double", 1, 2.5)


def test_json_array_is_a_table_and_json_object_an_artifact(tmp_path: Path) -> None:
    (tmp_path / "records.json").write_text(json.dumps([{"a": 1}, {"a": 2, "b": "x"}]))
    (tmp_path / "metrics.json").write_text(json.dumps({"accuracy": 0.93, "rows": [1, 2]}))
    profile = capture_output("out", tmp_path)
    dataset = only_dataset(profile)
    assert (dataset.format, dataset.files, dataset.rows, dataset.sampled_rows) == (
        "json",
        ["records.json"],
        2,
        None,
    )
    assert [(c.name, c.null_count) for c in dataset.columns] == [("a", 0), ("b", 1)]
    assert [(a.path, a.kind) for a in profile.artifacts] == [("metrics.json", "json")]


def test_json_array_over_the_limit_is_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "JSON_ARRAY_LIMIT", 100)
    (tmp_path / "records.json").write_text(json.dumps([{"a": i} for i in range(50)]))
    dataset = only_dataset(capture_output("out", tmp_path))
    assert dataset.error is not None and "records.json" in dataset.error
    assert "JSON lines" in dataset.error and dataset.rows is None


# --- Parquet ----------------------------------------------------------------------------------


def test_parquet_statistics_from_metadata(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array(range(1000), pa.int64()),
            "score": [None if i % 10 == 0 else i / 4 for i in range(1000)],
            "name": [f"name{i % 7}" for i in range(1000)],
            "day": [date(2024, 1, 1 + i % 28) for i in range(1000)],
        }
    )
    pq.write_table(table, tmp_path / "part-0.parquet", compression="snappy", row_group_size=100)
    dataset = only_dataset(capture_output("out", tmp_path))
    assert (dataset.format, dataset.compression, dataset.rows) == ("parquet", "snappy", 1000)
    assert dataset.rows_exact and dataset.sampled_rows is None and dataset.error is None
    ids, score = column(dataset, "id"), column(dataset, "score")
    assert (ids.type, ids.min, ids.max, ids.null_count, ids.nullable) == ("int64", 0, 999, 0, False)
    assert (score.null_count, score.nullable, score.min, score.max) == (100, True, 0.25, 249.75)
    assert (column(dataset, "name").min, column(dataset, "name").max) == ("name0", "name6")
    day = column(dataset, "day")
    assert (day.type, day.min, day.max) == ("date32[day]", "2024-01-01", "2024-01-28")


def test_parquet_capture_never_reads_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 200_000
    table = pa.table({"a": pa.array(range(rows)), "b": pa.array([float(i) for i in range(rows)])})
    pq.write_table(table, tmp_path / "d.parquet", compression="zstd", row_group_size=10_000)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("capture read the data")

    monkeypatch.setattr(pq, "read_table", refuse)
    monkeypatch.setattr(pq.ParquetFile, "read", refuse)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", refuse)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", refuse)
    started = time.perf_counter()
    dataset = only_dataset(capture_output("out", tmp_path))
    assert time.perf_counter() - started < 1.0
    assert (dataset.rows, dataset.compression, column(dataset, "a").max) == (rows, "zstd", rows - 1)


def test_parquet_min_and_max_found_in_any_row_group_for_every_type(tmp_path: Path) -> None:
    """Extremes sit in middle row groups; unsigned and decimal values do not sort as stored."""
    big = 2**63 + 5
    table = pa.table(
        {
            "i": pa.array([3, 1, -7, 2, 9, 0, 4, 5], pa.int32()),
            "u": pa.array([1, 2, big, 3, 0, 4, 5, 6], pa.uint64()),
            "f": pa.array([0.5, None, -2.25, 1.0, 8.5, 0.0, None, 1.5]),
            "s": ["m", "b", "z", "é", "a", "c", "d", "e"],
            "d": pa.array([Decimal("1.5"), Decimal("-3.25"), None, Decimal("7")] * 2),
            "t": pa.array([5, 3, 9, 1, 4, 2, 8, 6], pa.int64()).cast(pa.timestamp("ms")),
            "b": [True, True, False, True, True, True, True, True],
        }
    )
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=2)
    dataset = only_dataset(capture_output("out", tmp_path))
    bounds = {c.name: (c.min, c.max, c.null_count) for c in dataset.columns}
    assert bounds == {
        "i": (-7, 9, 0),
        "u": (0, big, 0),
        "f": (-2.25, 8.5, 2),
        "s": ("a", "é", 0),
        "d": (-3.25, 7.0, 2),
        "t": ("1970-01-01T00:00:00.001000", "1970-01-01T00:00:00.009000", 0),
        "b": (False, True, 0),
    }


def test_parquet_files_combine_and_a_schema_difference_is_reported(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [1, 2, None], "y": ["a", "b", "c"]}), tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"x": [7, 9], "y": ["d", None]}), tmp_path / "part-1.parquet")
    pq.write_table(pa.table({"x": ["s"], "y": ["e"]}), tmp_path / "part-2.parquet")
    dataset = only_dataset(capture_output("out", tmp_path))
    assert dataset.rows == 6 and len(dataset.files) == 3
    assert dataset.error == "part-2.parquet: column 'x' is string, part-0.parquet has int64"
    x, y = column(dataset, "x"), column(dataset, "y")
    assert x.type == "int64" and (x.min, x.max) == (1, 9)
    assert x.null_count is None and x.nullable  # part-2 has no int64 'x'
    assert (y.null_count, y.min, y.max) == (1, "a", "e")


def test_garbage_parquet_sets_an_error_without_raising(tmp_path: Path) -> None:
    (tmp_path / "part-0.parquet").write_bytes(b"PAR1 this is not parquet at all")
    dataset = only_dataset(capture_output("out", tmp_path))
    assert dataset.error is not None and dataset.error.startswith("part-0.parquet: ")
    assert "\n" not in dataset.error
    assert (dataset.rows, dataset.rows_exact, dataset.columns) == (None, False, [])


# --- artifacts, layout, folders ---------------------------------------------------------------


def test_artifacts_by_kind_with_size_and_sha256(tmp_path: Path) -> None:
    inner = tmp_path / "weights.bin"
    inner.write_bytes(b"\x00\x01" * 1000)
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as archive:
        archive.add(inner, arcname="weights.bin")
    for name in ("extra.tgz", "clf.joblib", "plot.png", "notes.md", "blob.dat"):
        (tmp_path / name).write_bytes(name.encode())
    profile = capture_output("model", tmp_path)
    kinds = {a.path: a.kind for a in profile.artifacts}
    assert kinds == {
        "blob.dat": "binary",
        "clf.joblib": "pickle",
        "extra.tgz": "archive",
        "model.tar.gz": "model-archive",
        "notes.md": "text",
        "plot.png": "image",
        "weights.bin": "binary",
    }
    model = next(a for a in profile.artifacts if a.kind == "model-archive")
    content = (tmp_path / "model.tar.gz").read_bytes()
    assert (model.bytes, model.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert profile.datasets == [] and profile.files == 7


def test_layout_and_one_dataset_per_folder(tmp_path: Path) -> None:
    for split, rows in (("train", 8), ("val", 3), ("test", 2)):
        write_csv(tmp_path / split / "part-0.csv", sample_table(rows))
    (tmp_path / "train" / "extra" / "deep").mkdir(parents=True)
    pq.write_table(sample_table(4), tmp_path / "train" / "extra" / "x.parquet")
    profile = capture_output("splits", tmp_path)
    assert profile.layout == ["test", "train", "train/extra", "train/extra/deep", "val"]
    summary = [(d.path, d.format, d.rows) for d in profile.datasets]
    assert summary == [
        ("test", "csv", 2),
        ("train", "csv", 8),
        ("train/extra", "parquet", 4),
        ("val", "csv", 3),
    ]
    assert profile.files == 4
    assert profile.bytes == sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())


def test_missing_folder_gives_an_empty_profile(tmp_path: Path) -> None:
    profile = capture_output("out", tmp_path / "absent")
    assert profile.empty and profile.datasets == [] and profile.layout == []
    assert profile.folder == str(tmp_path / "absent")


def test_symlink_pointing_outside_is_ignored(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the output")
    root = tmp_path / "out"
    root.mkdir()
    (root / "link.txt").symlink_to(outside)
    (root / "own.txt").write_text("mine")
    profile = capture_output("out", root)
    assert [a.path for a in profile.artifacts] == ["own.txt"]


def test_profile_round_trips_through_json(tmp_path: Path) -> None:
    write_csv(tmp_path / "data" / "d.csv", sample_table(3))
    profile = capture_output("out", tmp_path / "data")
    target = tmp_path / "schemas" / "out.json"
    write_profile(profile, target)
    assert read_profile(target) == profile
    assert json.loads(target.read_text())["datasets"][0]["rows"] == 3
    assert profile.capture_seconds >= 0 and SAMPLE_BYTES == 4 * 2**20


def test_artifacts_only_do_not_import_pyarrow(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text('{"auc": 0.8}')
    (tmp_path / "model.tar.gz").write_bytes(gzip.compress(b"x"))
    (tmp_path / "report.txt").write_text("ok")
    script = (
        "import sys; from pathlib import Path; "
        "from orchestrator.data.capture import capture_output; "
        f"p = capture_output('out', Path({str(tmp_path)!r})); "
        "assert len(p.artifacts) == 3, p; "
        "print('pyarrow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_unreadable_bytes_in_jsonl_set_an_error(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_bytes(b'{"a": 1}\n{"a": \n')
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as stream:
        stream.write(b"a,b\n1,2\n")
    (tmp_path / "truncated.csv.gz").write_bytes(buffer.getvalue()[:-12])
    profile = capture_output("out", tmp_path)
    assert all(d.error for d in profile.datasets), profile.datasets
    assert {d.format for d in profile.datasets} == {"csv", "jsonl"}


def test_one_file_is_captured_alone_not_its_folder(tmp_path: Path) -> None:
    (tmp_path / "wanted.csv").write_text("a,b\n1,x\n2,y\n")
    (tmp_path / "other.csv").write_text("c\n1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.csv").write_text("d\n1\n")
    profile = capture_output("data", tmp_path / "wanted.csv")
    assert profile.files == 1
    assert [d.rows for d in profile.datasets] == [2]
    assert [c.name for c in profile.datasets[0].columns] == ["a", "b"]
    assert profile.layout == []
