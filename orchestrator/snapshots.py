"""Schema snapshots: golden copies of each output's captured schema, kept next to the pipeline.

``--update-snapshots`` writes ``<pipeline>.snapshots/<step>/<output>.json``; later runs compare
what they capture against it and report drift. A snapshot keeps the shape of the data (formats,
layout, columns, types, nullability), not the values (rows, min/max), which change run to run.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .compatibility import Rule, issue
from .errors import InputError
from .issues import Issue
from .profiles import ColumnProfile, DatasetProfile, OutputProfile
from .rundir import write_json_atomic

SNAPSHOT_SUFFIX = ".snapshots"


def snapshot_dir(pipeline_file: Path) -> Path:
    return pipeline_file.parent / f"{pipeline_file.stem}{SNAPSHOT_SUFFIX}"


def snapshot_file(pipeline_file: Path, step: str, output: str) -> Path:
    return snapshot_dir(pipeline_file) / step / f"{output}.json"


def shape_of(profile: OutputProfile) -> OutputProfile:
    """The profile without values: what a snapshot keeps."""
    return OutputProfile(
        output=profile.output,
        folder="",
        layout=profile.layout,
        datasets=[_dataset_shape(d) for d in profile.datasets],
    )


def _dataset_shape(dataset: DatasetProfile) -> DatasetProfile:
    return DatasetProfile(
        path=dataset.path,
        format=dataset.format,
        compression=dataset.compression,
        columns=[
            ColumnProfile(name=c.name, type=c.type, nullable=c.nullable) for c in dataset.columns
        ],
    )


def save_snapshot(pipeline_file: Path, step: str, profile: OutputProfile) -> Path:
    path = snapshot_file(pipeline_file, step, profile.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, shape_of(profile).model_dump(mode="json", exclude_defaults=True))
    return path


def load_snapshot(pipeline_file: Path, step: str, output: str) -> OutputProfile | None:
    """The stored snapshot, or None when there is none; a damaged one is an ``InputError``."""
    path = snapshot_file(pipeline_file, step, output)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise InputError(
            "is not UTF-8 text; delete it or run with --update-snapshots", file=path
        ) from None
    try:
        return OutputProfile.model_validate_json(text)
    except ValidationError as exc:
        detail = exc.errors()[0]["msg"]
        raise InputError(
            f"is not a cit schema snapshot ({detail}); delete it or run with --update-snapshots",
            file=path,
        ) from None


def drift(snapshot: OutputProfile, current: OutputProfile) -> list[Issue]:
    """How ``current`` departs from ``snapshot``: layout, formats, columns, types, nulls."""
    found = _layout_drift(snapshot, current)
    for before in snapshot.datasets:
        after = _same_place(current, before)
        if after is None:
            found.append(_format_drift(before, current))
            continue
        if after.compression != before.compression:
            found.append(_compression_drift(before, after))
        found.extend(_column_drift(before, after))
    return found


def _where(dataset: DatasetProfile) -> str:
    return f"{dataset.path}/" if dataset.path else "the output root"


def _same_place(current: OutputProfile, before: DatasetProfile) -> DatasetProfile | None:
    return next(
        (d for d in current.datasets if d.path == before.path and d.format == before.format),
        None,
    )


def _layout_drift(snapshot: OutputProfile, current: OutputProfile) -> list[Issue]:
    removed = sorted(set(snapshot.layout) - set(current.layout))
    added = sorted(set(current.layout) - set(snapshot.layout))
    if not removed and not added:
        return []
    changes = (("removed", removed), ("added", added))
    text = "; ".join(f"{verb} {', '.join(names)}" for verb, names in changes if names)
    return [
        issue(
            Rule.LAYOUT_CHANGED,
            f"subfolders of output '{current.output}' changed since the snapshot: {text}",
            "if intended, run with --update-snapshots",
        )
    ]


def _format_drift(before: DatasetProfile, current: OutputProfile) -> Issue:
    now = [d.format for d in current.datasets if d.path == before.path]
    text = f"is {', '.join(now)} now" if now else "holds no data now"
    return issue(
        Rule.FORMAT_CHANGED,
        f"{_where(before)} was {before.format} in the snapshot and {text}",
        "if intended, run with --update-snapshots",
    )


def _compression_drift(before: DatasetProfile, after: DatasetProfile) -> Issue:
    return issue(
        Rule.FORMAT_CHANGED,
        f"{_where(before)} compression changed from {before.compression or 'none'} "
        f"to {after.compression or 'none'}",
        "if intended, run with --update-snapshots",
    )


def _column_drift(before: DatasetProfile, after: DatasetProfile) -> list[Issue]:
    where = _where(before)
    found: list[Issue] = []
    for old in before.columns:
        new = after.column(old.name)
        if new is None:
            found.append(_drift(Rule.COLUMN_REMOVED, f"column '{old.name}' left {where}", old))
        elif new.type != old.type:
            text = f"column '{old.name}' in {where} changed type: {old.type} → {new.type}"
            found.append(_drift(Rule.TYPE_CHANGED, text, old))
        elif new.nullable and not old.nullable:
            text = f"column '{old.name}' in {where} has nulls now; the snapshot had none"
            found.append(_drift(Rule.NULLABILITY_CHANGED, text, old))
    known = {c.name for c in before.columns}
    for new in after.columns:
        if new.name not in known:
            found.append(_drift(Rule.COLUMN_ADDED, f"column '{new.name}' appeared in {where}", new))
    return found


def _drift(rule: Rule, text: str, column: ColumnProfile) -> Issue:
    return issue(rule, text, "if intended, run with --update-snapshots", column=column.name)
