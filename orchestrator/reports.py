"""Report files the user asks for (``--output-report``): checked before any work is done,
written atomically, and never written over a file that cit did not write.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .errors import InputError
from .rundir import write_json_atomic

REPORT_MARK = "cit_report"
"""Top-level key of every report cit writes: the command that wrote it."""
FIELD = "--output-report"


def check_report_target(target: Path) -> None:
    """An ``InputError`` unless a report can be written at ``target`` without losing anything."""
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name such as report.json", field=FIELD)
    if target.exists() and not _is_cit_report(target):
        raise InputError(
            f"{target} exists and is not a cit report; choose another name (it is left as is)",
            field=FIELD,
        )
    folder = _nearest_existing(target.parent)
    if not _writable_folder(folder):
        raise InputError(f"cannot write {target}: {folder} is not a writable folder", field=FIELD)


def write_json_report(kind: str, data: dict[str, Any], target: Path) -> Path:
    """Write ``data`` as JSON at ``target``, marked as a report of ``kind`` (e.g. 'test-flow')."""
    check_report_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(target, {REPORT_MARK: kind, **data})
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}", field=FIELD) from None
    return target


def _is_cit_report(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and REPORT_MARK in data


def _writable_folder(folder: Path) -> bool:
    """Whether a file can be made in ``folder``: tried, since permission bits do not tell (root,
    read-only mounts, /proc)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _nearest_existing(folder: Path) -> Path:
    folder = folder.resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
