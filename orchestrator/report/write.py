"""Report files: the reports of a run written into its run directory (``report.json`` always,
JUnit XML and HTML when asked), and the files the user names (``--output-report``, ``cit
report --output``, a configuration's ``reporting.output_directory``): checked before any work
is done, written atomically, and never written over a file that cit did not write.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CitError, InputError
from ..files import write_json_atomic, write_problem, write_text_atomic
from .formats import FILE_NAMES, ReportFormat

if TYPE_CHECKING:
    from .config import ReportingConfig
    from .model import Report

REPORT_MARK = "cit_report"
"""Top-level key of every report cit writes: the command that wrote it."""
FIELD = "--output-report"
OUTPUT_FIELD = "reporting.output_directory"


def render(report: Report, fmt: ReportFormat, *, plots: bool = True) -> str:
    """``report`` as the text of one format (HTML with its charts unless ``plots`` is False)."""
    if fmt == "junit":
        from .junit import render_junit  # deferred: with the report model, ~0.25 s cit --help skips

        return render_junit(report)
    if fmt == "html":
        from .html.page import render_html  # deferred: as above

        return render_html(report, plots=plots)
    return report.model_dump_json(indent=2) + "\n"


SUFFIXES: dict[ReportFormat, tuple[str, ...]] = {
    ReportFormat.JSON: (".json",),
    ReportFormat.JUNIT: (".xml",),
    ReportFormat.HTML: (".html", ".htm"),
}


def write_report_file(
    report: Report, fmt: ReportFormat, target: Path, field: str | None = "--output"
) -> Path:
    """``report`` as ``fmt`` at ``target`` (``cit report --output``), checked like
    ``--output-report``: never over a file cit did not write, and named for its format, so
    a run's report.json cannot be replaced by XML or HTML. ``field``: the flag that named
    ``target``, for errors (``None``: none did, the errors name the file)."""
    if target.suffix.lower() not in SUFFIXES[fmt]:
        allowed = " or ".join(SUFFIXES[fmt])
        raise InputError(f"{target}: a {fmt} report is written to a {allowed} file", field=field)
    check_report_target(target, field)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, render(report, fmt))
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}", field=field) from None
    return target


def write_run_reports(
    report: Report, run_dir: Path, formats: tuple[ReportFormat, ...] = (), *, plots: bool = True
) -> list[Path]:
    """Write ``report.json`` and each of ``formats`` into ``run_dir``; the paths written.

    Each file is written whole or not at all, so an interrupted command leaves no half report.
    """
    written = []
    chosen = [ReportFormat.JSON, *(f for f in formats if f != ReportFormat.JSON)]
    for fmt in chosen:
        path = run_dir / FILE_NAMES[fmt]
        write_text_atomic(path, render(report, fmt, plots=plots))
        written.append(path)
    return written


def check_report_target(target: Path, field: str | None = FIELD) -> None:
    """An ``InputError`` unless a report can be written at ``target`` without losing anything."""
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name such as report.json", field=field)
    if target.exists() and not _is_cit_report(target):
        raise InputError(
            f"{target} exists and is not a cit report; choose another name (it is left as is)",
            field=field,
        )
    folder = _nearest_existing(target.parent)
    if not _writable_folder(folder):
        raise InputError(f"cannot write {target}: {folder} is not a writable folder", field=field)


def check_configured_reports(reporting: ReportingConfig, source: str | None = None) -> None:
    """An ``InputError`` (naming the configuration file ``source``) unless every report can be
    copied into ``output_directory`` without writing over a file cit did not write."""
    folder = reporting.output_directory
    if folder is None:
        return
    formats = [ReportFormat.JSON, *reporting.formats]
    for fmt in dict.fromkeys(formats):
        try:
            check_report_target(folder / FILE_NAMES[fmt], OUTPUT_FIELD)
        except InputError as exc:
            message = str(exc).removeprefix(f"{OUTPUT_FIELD}: ")
            raise InputError(message, file=source, field=OUTPUT_FIELD) from None


def write_reports(
    report: Report, run_dir: Path, reporting: ReportingConfig, source: str | None = None
) -> list[Path]:
    """The one way a command writes its report: ``report.json`` and each of
    ``reporting.formats`` into ``run_dir``, then a copy of each into
    ``reporting.output_directory`` when one is set (``cit test-all``); the paths written.

    A run directory's file that cannot be written is a ``CitError``; a copy is written whole or
    not at all, and never over a file that cit did not write (an ``InputError`` naming the
    configuration file ``source`` and the field)."""
    formats = tuple(reporting.formats)
    try:
        written = write_run_reports(report, run_dir, formats, plots=reporting.include_plots)
    except OSError as exc:
        raise CitError(f"cannot write the report: {write_problem(exc)}") from None
    check_configured_reports(reporting, source)  # the run directory's copy is kept either way
    folder = reporting.output_directory
    if folder is None:
        return written
    return [*written, *(_copied(path, folder, source) for path in written)]


def _copied(path: Path, folder: Path, source: str | None) -> Path:
    """``path`` copied into ``folder``, whole or not at all; the copy."""
    target = folder / path.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, path.read_text(encoding="utf-8"))
    except OSError as exc:
        problem = f"cannot write {target}: {exc.strerror or exc}"
        raise InputError(problem, file=source, field=OUTPUT_FIELD) from None
    return target


def write_json_report(kind: str, data: dict[str, Any], target: Path) -> Path:
    """Write ``data`` as JSON at ``target``, marked as a report of ``kind`` (e.g. 'test-flow')."""
    check_report_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(target, {REPORT_MARK: kind, **data})
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}", field=FIELD) from None
    return target


CIT_MARKS = (b'<testsuites name="cit ', b'<meta name="generator" content="cit')
"""How a JUnit or HTML report cit wrote starts: such a file may be written over."""


def _is_cit_report(path: Path) -> bool:
    try:
        content = path.read_bytes()
    except OSError:
        return False
    if any(mark in content[:4096] for mark in CIT_MARKS):
        return True
    try:
        data = json.loads(content)
    except ValueError:
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
