"""What a step really wrote: the captured schema (profile) of each output folder.

``capture.py`` builds these after a step ends; compatibility rules and schema snapshots read
them. They serialise to ``steps/<step>/schemas/<output>.json`` in the run directory.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

Scalar = int | float | str | bool | None

TABULAR_FORMATS = ("csv", "tsv", "parquet", "jsonl", "json")


class ColumnProfile(BaseModel):
    """One column of a tabular dataset."""

    name: str
    type: str
    """Arrow's name of the type: int64, double, string, bool, timestamp[s], date32[day], ..."""
    nullable: bool
    """True when nulls were seen (or, for Parquet, when statistics cannot rule them out)."""
    null_count: int | None = None
    min: Scalar = None
    max: Scalar = None
    distinct: list[str] | None = None
    """All distinct values of a low-cardinality string column (capped); None otherwise."""


class DatasetProfile(BaseModel):
    """Files of one format in one folder of an output, read as one table."""

    path: str
    """Folder relative to the output root, '' for the root itself, e.g. 'train'."""
    format: str
    """One of ``TABULAR_FORMATS``."""
    compression: str | None = None
    """gzip, bz2, snappy, zstd, ... (file-level for text formats, codec for Parquet)."""
    files: list[str] = Field(default_factory=list)
    """File paths relative to the output root."""
    bytes: int = 0
    rows: int | None = None
    rows_exact: bool = True
    sampled_rows: int | None = None
    """Rows that types and statistics come from, when only a sample was read (CSV, JSON)."""
    columns: list[ColumnProfile] = Field(default_factory=list)
    error: str | None = None
    """Why the files could not be read as a table, if they could not."""

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)


class ArtifactProfile(BaseModel):
    """A file that is not a table: a model archive, a pickle, a metrics JSON, a plot."""

    path: str
    kind: str
    """model-archive, archive, pickle, json, image, text or binary."""
    bytes: int
    sha256: str


class OutputProfile(BaseModel):
    """The captured schema of one output folder."""

    output: str
    folder: str
    files: int = 0
    bytes: int = 0
    layout: list[str] = Field(default_factory=list)
    """Subfolders relative to the output root, sorted, e.g. ['test', 'train', 'val']."""
    datasets: list[DatasetProfile] = Field(default_factory=list)
    artifacts: list[ArtifactProfile] = Field(default_factory=list)
    capture_seconds: float = 0.0

    @property
    def empty(self) -> bool:
        return self.files == 0

    def dataset(self, path: str = "") -> DatasetProfile | None:
        return next((d for d in self.datasets if d.path == path), None)

    def has_folder(self, path: str) -> bool:
        """Whether ``path`` ('train', 'splits/train') was a real folder of the output when it
        was captured (a link is no folder of it)."""
        return path in self.layout

    def inside(self, path: str) -> OutputProfile:
        """The part of this profile under folder ``path``, as if that folder were captured on
        its own: paths relative to it, output named ``output/path``."""
        prefix = path + "/"

        def under(rel: str) -> bool:
            return rel == path or rel.startswith(prefix)

        def strip(rel: str) -> str:
            return "" if rel == path else rel.removeprefix(prefix)

        datasets = [
            d.model_copy(update={"path": strip(d.path), "files": [strip(f) for f in d.files]})
            for d in self.datasets
            if under(d.path)
        ]
        artifacts = [
            a.model_copy(update={"path": strip(a.path)}) for a in self.artifacts if under(a.path)
        ]
        return OutputProfile(
            output=f"{self.output}/{path}",
            folder=str(Path(self.folder) / path),
            files=sum(len(d.files) for d in datasets) + len(artifacts),
            bytes=sum(d.bytes for d in datasets) + sum(a.bytes for a in artifacts),
            layout=[strip(f) for f in self.layout if f.startswith(prefix)],
            datasets=datasets,
            artifacts=artifacts,
            capture_seconds=0.0,
        )


class Distribution(BaseModel):
    """What a drift check compared: the share of values in each bin (numbers: ``labels`` are
    the bins' upper edges, the last one open; categories: the values), checked and reference."""

    column: str
    labels: list[str]
    actual: list[float]
    reference: list[float]
    statistics: dict[str, float] = Field(default_factory=dict)
    """What the check measured over them: ``psi``, for numbers also ``ks``."""
    limits: dict[str, float] = Field(default_factory=dict)
    """The most each statistic may be (``psi_max``, ``ks_max``); a statistic without a limit
    was not checked."""


COLUMNS_SHOWN = 6


def describe_profile(profile: OutputProfile | None, *, columns: bool = False) -> str:
    """A few words per dataset: 'train/: csv, 700 rows, 9 cols', with the columns if asked."""
    if profile is None:
        return "nothing captured"
    if profile.empty:
        return "empty"
    lines = [_describe_dataset(d, columns) for d in profile.datasets]
    kinds = sorted({a.kind for a in profile.artifacts})
    if kinds:
        lines.append(", ".join(kinds))
    return "\n".join(lines)


def _describe_dataset(dataset: DatasetProfile, columns: bool) -> str:
    where = f"{dataset.path}/: " if dataset.path else ""
    fmt = f"{dataset.format}.{dataset.compression}" if dataset.compression else dataset.format
    if dataset.error:
        return f"{where}{fmt}, unreadable"
    rows = "?" if dataset.rows is None else f"{'' if dataset.rows_exact else '~'}{dataset.rows}"
    text = f"{where}{fmt}, {rows} rows, {len(dataset.columns)} cols"
    if not columns:
        return text
    shown = dataset.columns[:COLUMNS_SHOWN]
    names = ", ".join(f"{c.name}:{c.type}" for c in shown)
    hidden = len(dataset.columns) - len(shown)
    return f"{text} ({names}{', +' + str(hidden) + ' more' if hidden else ''})"
