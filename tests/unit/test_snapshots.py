"""Schema snapshots: stored next to the pipeline, read back, and compared for drift."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from orchestrator.data.capture import capture_output
from orchestrator.data.compatibility import RULES, Rule
from orchestrator.data.profiles import ArtifactProfile, ColumnProfile, DatasetProfile, OutputProfile
from orchestrator.data.snapshots import (
    drift,
    load_snapshot,
    save_snapshot,
    shape_of,
    snapshot_dir,
    snapshot_file,
)
from orchestrator.errors import InputError
from orchestrator.issues import Issue, Severity

E, W = Severity.ERROR, Severity.WARNING


def col(name: str, type_: str = "int64", nullable: bool = False) -> ColumnProfile:
    return ColumnProfile(
        name=name, type=type_, nullable=nullable, null_count=int(nullable), min=1, max=9
    )


def dataset(
    *columns: ColumnProfile, path: str = "", fmt: str = "csv", compression: str | None = None
) -> DatasetProfile:
    return DatasetProfile(
        path=path,
        format=fmt,
        compression=compression,
        files=[f"{path}/a.{fmt}".lstrip("/")],
        bytes=123,
        rows=40,
        sampled_rows=40,
        columns=list(columns),
    )


def output(*datasets: DatasetProfile) -> OutputProfile:
    return OutputProfile(
        output="train",
        folder="/runs/r1/steps/prep/outputs/train",
        files=len(datasets),
        bytes=123 * len(datasets),
        layout=sorted({d.path for d in datasets if d.path}),
        datasets=list(datasets),
        artifacts=[ArtifactProfile(path="stats.json", kind="json", bytes=2, sha256="ab")],
        capture_seconds=0.2,
    )


BASE_COLUMNS = (col("id"), col("score", "double"), col("region", "string"))


def base() -> OutputProfile:
    return output(dataset(*BASE_COLUMNS, path="train"), dataset(*BASE_COLUMNS, path="val"))


def found(issues: list[Issue]) -> list[tuple[str, Severity]]:
    return [(i.rule, i.severity) for i in issues]


# --- storing and reading ---------------------------------------------------------------------


def test_snapshot_paths_sit_next_to_the_pipeline(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    assert snapshot_dir(pipeline) == tmp_path / "pipeline.snapshots"
    assert snapshot_file(pipeline, "prep", "train") == (
        tmp_path / "pipeline.snapshots" / "prep" / "train.json"
    )


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.py"
    profile = base()
    path = save_snapshot(pipeline, "prep", profile)
    assert path == snapshot_file(pipeline, "prep", "train") and path.is_file()
    loaded = load_snapshot(pipeline, "prep", "train")
    assert loaded == shape_of(profile)
    assert loaded is not None
    assert drift(loaded, profile) == []


def test_a_snapshot_keeps_the_shape_not_the_values(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.py"
    save_snapshot(pipeline, "prep", base())
    stored = json.loads(snapshot_file(pipeline, "prep", "train").read_text())
    text = json.dumps(stored)
    for volatile in ("/runs/r1", "capture_seconds", "sha256", "null_count", "rows", "min", "max"):
        assert volatile not in text, volatile
    loaded = load_snapshot(pipeline, "prep", "train")
    assert loaded is not None
    assert loaded.layout == ["train", "val"]
    assert [d.path for d in loaded.datasets] == ["train", "val"]
    first = loaded.datasets[0]
    assert first.format == "csv" and first.rows is None and first.files == []
    assert [(c.name, c.type, c.nullable, c.min) for c in first.columns] == [
        ("id", "int64", False, None),
        ("score", "double", False, None),
        ("region", "string", False, None),
    ]


def test_saving_again_replaces_the_snapshot(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.py"
    save_snapshot(pipeline, "prep", base())
    changed = output(dataset(col("id"), fmt="parquet"))
    save_snapshot(pipeline, "prep", changed)
    assert load_snapshot(pipeline, "prep", "train") == shape_of(changed)


def test_no_snapshot_is_none(tmp_path: Path) -> None:
    assert load_snapshot(tmp_path / "pipeline.py", "prep", "train") is None


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "Invalid JSON"),
        (b"", "Invalid JSON"),
        (b"[1, 2]", "is not a cit schema snapshot"),
        (b'{"output": "train", "datasets": [{"path": ""}]}', "Field required"),
        (b'{"output": 5}', "valid string"),
        (b"\xff\xfe\x00{", "UTF-8"),
    ],
)
def test_damaged_snapshot_is_an_input_error(tmp_path: Path, content: bytes, fragment: str) -> None:
    pipeline = tmp_path / "pipeline.py"
    path = snapshot_file(pipeline, "prep", "train")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_snapshot(pipeline, "prep", "train")
    message = str(info.value)
    assert info.value.file == str(path)
    assert message.startswith(str(path)) and "\n" not in message
    assert fragment in message and "--update-snapshots" in message


def test_snapshot_that_is_a_folder_is_an_input_error(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.py"
    snapshot_file(pipeline, "prep", "train").mkdir(parents=True)
    with pytest.raises(InputError, match="cannot be read"):
        load_snapshot(pipeline, "prep", "train")


def test_real_capture_round_trip_has_no_drift(tmp_path: Path) -> None:
    table = pa.table({"id": [1, 2, None], "name": ["a", "b", "c"], "x": [0.5, 1.5, 2.5]})
    for split in ("train", "test"):
        (tmp_path / "out" / split).mkdir(parents=True)
        pcsv.write_csv(table, tmp_path / "out" / split / "part.csv")
    profile = capture_output("train", tmp_path / "out")
    pipeline = tmp_path / "pipeline.yaml"
    save_snapshot(pipeline, "prep", profile)
    loaded = load_snapshot(pipeline, "prep", "train")
    assert loaded is not None
    assert drift(loaded, profile) == []
    id_column = loaded.datasets[0].column("id")
    assert id_column is not None and id_column.nullable is True


# --- drift -----------------------------------------------------------------------------------


def test_values_alone_are_no_drift() -> None:
    before = shape_of(base())
    now = base()
    now.datasets[0].rows = 4
    now.datasets[0].columns[0].max = 10**6
    assert drift(before, now) == []


def test_every_drift_rule_has_its_table_severity() -> None:
    expected = {
        Rule.COLUMN_ADDED: W,
        Rule.COLUMN_REMOVED: E,
        Rule.TYPE_CHANGED: E,
        Rule.NULLABILITY_CHANGED: W,
        Rule.FORMAT_CHANGED: E,
        Rule.LAYOUT_CHANGED: E,
    }
    for rule, severity in expected.items():
        assert RULES[rule].severity is severity, rule


def changed_columns(*columns: ColumnProfile) -> list[Issue]:
    now = output(dataset(*columns, path="train"), dataset(*BASE_COLUMNS, path="val"))
    return drift(shape_of(base()), now)


def test_column_added() -> None:
    issues = changed_columns(*BASE_COLUMNS, col("extra"))
    assert found(issues) == [(Rule.COLUMN_ADDED.value, W)]
    assert issues[0].column == "extra" and "train/" in issues[0].description
    assert issues[0].hint is not None and "--update-snapshots" in issues[0].hint


def test_column_removed() -> None:
    issues = changed_columns(col("id"), col("region", "string"))
    assert found(issues) == [(Rule.COLUMN_REMOVED.value, E)]
    assert issues[0].column == "score"
    assert issues[0].description == (
        "column 'score' is gone from train/ of output 'train' (it was in the snapshot)"
    )


def test_drift_at_the_output_root_names_the_output() -> None:
    before = output(dataset(col("id"), col("score", "double")))
    issues = drift(shape_of(before), output(dataset(col("id"), col("extra"))))
    assert [i.description for i in issues] == [
        "column 'score' is gone from output 'train' (it was in the snapshot)",
        "column 'extra' is new in output 'train' (it was not in the snapshot)",
    ]


def test_column_renamed_is_removed_and_added() -> None:
    issues = changed_columns(col("id"), col("score", "double"), col("area", "string"))
    assert found(issues) == [(Rule.COLUMN_REMOVED.value, E), (Rule.COLUMN_ADDED.value, W)]
    assert [i.column for i in issues] == ["region", "area"]


def test_type_changed() -> None:
    issues = changed_columns(col("id", "string"), col("score", "double"), col("region", "string"))
    assert found(issues) == [(Rule.TYPE_CHANGED.value, E)]
    assert "int64 → string" in issues[0].description and issues[0].column == "id"
    assert "train/ of output 'train'" in issues[0].description


def type_drift(before: str, after: str) -> list[tuple[str, Severity]]:
    """Rules and severities of the drift when column 'x' goes from ``before`` to ``after``."""
    return found(
        drift(shape_of(output(dataset(col("x", before)))), output(dataset(col("x", after))))
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [("null", "int64"), ("int64", "null"), ("null", "string"), ("timestamp[us]", "null")],
)
def test_an_all_null_column_fits_any_type(before: str, after: str) -> None:
    assert type_drift(before, after) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("int64", "double"),
        ("double", "int64"),
        ("int32", "float"),
        ("int32", "int64"),
        ("int64", "int32"),
        ("float", "double"),
        ("string", "large_string"),
        ("timestamp[ms]", "timestamp[us]"),
    ],
)
def test_int_float_and_width_changes_are_warnings(before: str, after: str) -> None:
    assert type_drift(before, after) == [(Rule.TYPE_CHANGED.value, W)]
    assert "a warning for int ↔ float" in RULES[Rule.TYPE_CHANGED].meaning


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("int64", "string"),
        ("string", "double"),
        ("bool", "int64"),
        ("date32[day]", "timestamp[us]"),
        ("list<item: int64>", "list<item: string>"),
    ],
)
def test_changes_of_type_family_are_errors(before: str, after: str) -> None:
    assert type_drift(before, after) == [(Rule.TYPE_CHANGED.value, E)]


def test_int_column_that_gets_nulls_and_turns_float_warns_twice() -> None:
    """pandas turns an int column holding a NaN into float64: two warnings, no error."""
    now = output(dataset(col("x", "double", nullable=True)))
    issues = drift(shape_of(output(dataset(col("x")))), now)
    assert found(issues) == [(Rule.TYPE_CHANGED.value, W), (Rule.NULLABILITY_CHANGED.value, W)]


def test_sparse_csv_column_empty_in_the_snapshot_run_is_no_error(tmp_path: Path) -> None:
    """A column with no value in one run reads as arrow type null; filled later, it is int64."""
    pipeline = tmp_path / "pipeline.yaml"
    out = tmp_path / "out"
    out.mkdir()
    (out / "part.csv").write_text("id,discount\n1,\n2,\n")
    sparse = capture_output("orders", out)
    assert [c.type for c in sparse.datasets[0].columns] == ["int64", "null"]
    save_snapshot(pipeline, "daily", sparse)
    (out / "part.csv").write_text("id,discount\n1,5\n2,\n")
    filled = capture_output("orders", out)
    snapshot = load_snapshot(pipeline, "daily", "orders")
    assert snapshot is not None
    assert drift(snapshot, filled) == []
    assert drift(shape_of(filled), sparse) == []


def test_nullability_changed() -> None:
    issues = changed_columns(col("id", nullable=True), *BASE_COLUMNS[1:])
    assert found(issues) == [(Rule.NULLABILITY_CHANGED.value, W)]
    assert issues[0].column == "id"


def test_nulls_gone_is_no_drift() -> None:
    nullable = output(dataset(col("id", nullable=True)))
    assert drift(shape_of(nullable), output(dataset(col("id")))) == []


def test_format_changed() -> None:
    now = output(
        dataset(*BASE_COLUMNS, path="train", fmt="parquet"), dataset(*BASE_COLUMNS, path="val")
    )
    issues = drift(shape_of(base()), now)
    assert found(issues) == [(Rule.FORMAT_CHANGED.value, E)]
    assert "was csv" in issues[0].description and "parquet now" in issues[0].description


def test_compression_changed() -> None:
    before = output(dataset(*BASE_COLUMNS))
    now = output(dataset(*BASE_COLUMNS, compression="gzip"))
    issues = drift(shape_of(before), now)
    assert found(issues) == [(Rule.FORMAT_CHANGED.value, E)]
    assert "none to gzip" in issues[0].description


def test_layout_changed() -> None:
    now = output(dataset(*BASE_COLUMNS, path="train"), dataset(*BASE_COLUMNS, path="test"))
    issues = drift(shape_of(base()), now)
    assert found(issues) == [(Rule.LAYOUT_CHANGED.value, E), (Rule.FORMAT_CHANGED.value, E)]
    assert "removed val" in issues[0].description and "added test" in issues[0].description
    assert "val/" in issues[1].description and "holds no data now" in issues[1].description


def test_subfolder_dropped_for_the_root() -> None:
    now = output(dataset(*BASE_COLUMNS))
    issues = drift(shape_of(base()), now)
    assert found(issues) == [(Rule.LAYOUT_CHANGED.value, E)] + [(Rule.FORMAT_CHANGED.value, E)] * 2
    assert "removed train, val" in issues[0].description
