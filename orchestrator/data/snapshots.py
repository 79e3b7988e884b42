"""Schema snapshots: golden copies of each output's captured schema, kept next to the pipeline.

``--update-snapshots`` writes ``<pipeline>.snapshots/<step>/<output>.json``; later runs compare
what they capture against it and report drift. A snapshot keeps the shape of the data (formats,
layout, columns, types, nullability), not the values (rows, min/max), which change run to run.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..errors import InputError
from ..files import read_bytes, write_json_atomic
from ..issues import Issue, Severity
from .compatibility import NUMERIC_FAMILIES, Rule, fits_any, issue
from .profiles import ColumnProfile, DatasetProfile, OutputProfile
from .schemas import TypeFamily, family_of

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
    if not path.exists() and not path.is_symlink():
        return None
    try:
        text = read_bytes(path).decode("utf-8")
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
        where = _where(before, current.output)
        after = _same_place(current, before)
        if after is None:
            found.append(_format_drift(before, current, where))
            continue
        if after.compression != before.compression:
            found.append(_compression_drift(before, after, where))
        found.extend(_column_drift(before, after, where))
    return found


def _where(dataset: DatasetProfile, output: str) -> str:
    """The dataset's place for messages: "train/ of output 'splits'", or "output 'splits'"."""
    return f"{dataset.path}/ of output '{output}'" if dataset.path else f"output '{output}'"


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


def _format_drift(before: DatasetProfile, current: OutputProfile, where: str) -> Issue:
    now = [d.format for d in current.datasets if d.path == before.path]
    text = f"is {', '.join(now)} now" if now else "holds no data now"
    return issue(
        Rule.FORMAT_CHANGED,
        f"{where} was {before.format} in the snapshot and {text}",
        "if intended, run with --update-snapshots",
    )


def _compression_drift(before: DatasetProfile, after: DatasetProfile, where: str) -> Issue:
    return issue(
        Rule.FORMAT_CHANGED,
        f"compression of {where} changed from {before.compression or 'none'} "
        f"to {after.compression or 'none'} since the snapshot",
        "if intended, run with --update-snapshots",
    )


def _column_drift(before: DatasetProfile, after: DatasetProfile, where: str) -> list[Issue]:
    found: list[Issue] = []
    for old in before.columns:
        new = after.column(old.name)
        if new is None:
            text = f"column '{old.name}' is gone from {where} (it was in the snapshot)"
            found.append(_drift(Rule.COLUMN_REMOVED, text, old))
            continue
        severity = type_change_severity(old.type, new.type)
        if severity is not None:
            text = f"column '{old.name}' in {where} changed type: {old.type} → {new.type}"
            found.append(_drift(Rule.TYPE_CHANGED, text, old, severity))
        if new.nullable and not old.nullable:
            text = f"column '{old.name}' in {where} has nulls now; the snapshot had none"
            found.append(_drift(Rule.NULLABILITY_CHANGED, text, old))
    known = {c.name for c in before.columns}
    for new in after.columns:
        if new.name not in known:
            text = f"column '{new.name}' is new in {where} (it was not in the snapshot)"
            found.append(_drift(Rule.COLUMN_ADDED, text, new))
    return found


def type_change_severity(before: str, after: str) -> Severity | None:
    """How much a column's type change since the snapshot matters: nothing when either side is
    all-null (arrow type ``null``, which fits any type); a warning between integer and float,
    or within a family (int32 → int64, timestamp[ms] → timestamp[us]); otherwise an error."""
    if before == after:
        return None
    old, new = family_of(before), family_of(after)
    if fits_any(old) or fits_any(new):
        return None
    if (old is new and old is not TypeFamily.OTHER) or {old, new} <= NUMERIC_FAMILIES:
        return Severity.WARNING
    return Severity.ERROR


def _drift(rule: Rule, text: str, column: ColumnProfile, severity: Severity | None = None) -> Issue:
    hint = "if intended, run with --update-snapshots"
    return issue(rule, text, hint, severity=severity, column=column.name)
