"""``--json``: what a command did, as one JSON object on stdout, the same keys for every command.

While a command runs with ``--json`` its human output goes to stderr (``command.json_mode``),
so stdout holds the summary alone (``cit run --json | jq .verdict``). A ``CitError`` still ends
in a summary, with ``error`` set and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from .._version import __version__
from ..report.formats import FILE_NAMES, ReportFormat
from ..run.rundir import MANIFEST
from ..verdict import EXIT_BAD_INPUT, EXIT_INTERRUPTED, Outcome

if TYPE_CHECKING:
    from ..report.model import Report

SUMMARY_KEYS = (
    "command",
    "cit_version",
    "exit_code",
    "verdict",
    "run_id",
    "run_dir",
    "manifest",
    "report",
    "junit",
    "html",
    "counts",
    "files",
    "error",
    "details",
)


class Counts(BaseModel):
    """The report's tests by outcome."""

    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    interrupted: int = 0
    total: int = 0


class Summary(BaseModel):
    """What ``--json`` prints: the verdict (``None`` for a command that judges nothing), where
    the run and its reports are, the tests by outcome, other files written, and the one-line
    error of a command stopped by bad input."""

    command: str
    cit_version: str = __version__
    exit_code: int = 0
    verdict: Outcome | None = None
    run_id: str | None = None
    run_dir: str | None = None
    manifest: str | None = None
    report: str | None = None
    junit: str | None = None
    html: str | None = None
    counts: Counts = Field(default_factory=Counts)
    files: list[str] = Field(default_factory=list)
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def counts_of(report: Report) -> Counts:
    outcomes = [test.outcome for test in report.tests]
    counted = {outcome.value: outcomes.count(outcome) for outcome in Outcome}
    return Counts(**counted, total=len(outcomes))


def of_report(
    command: str, report: Report, run_dir: Path | None, written: Iterable[Path] = ()
) -> Summary:
    """The summary of a command that wrote ``report`` (into ``run_dir``), with its files; every
    path absolute."""
    run_dir = run_dir.absolute() if run_dir is not None else None
    written = [path.absolute() for path in written]
    paths = {path.name: path for path in written if run_dir is None or path.parent == run_dir}
    manifest = run_dir / MANIFEST if run_dir is not None else None

    def named(fmt: ReportFormat) -> str | None:
        path = paths.get(FILE_NAMES[fmt])
        return str(path) if path is not None else None

    reports = {paths[name] for name in FILE_NAMES.values() if name in paths}
    return Summary(
        command=command,
        exit_code=report.exit_code,
        verdict=report.outcome,
        run_id=run_dir.name if run_dir is not None else None,
        run_dir=str(run_dir) if run_dir is not None else None,
        manifest=str(manifest) if manifest is not None and manifest.is_file() else None,
        report=named(ReportFormat.JSON),
        junit=named(ReportFormat.JUNIT),
        html=named(ReportFormat.HTML),
        counts=counts_of(report),
        files=[str(path) for path in written if path not in reports],
    )


def emit(summary: Summary) -> None:
    """Print the summary on stdout, alone."""
    sys.stdout.write(summary.model_dump_json(indent=2) + "\n")
    sys.stdout.flush()


def emit_error(command: str, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
    """The summary of a command stopped by bad input (or interrupted)."""
    verdict = Outcome.INTERRUPTED if exit_code == EXIT_INTERRUPTED else Outcome.ERROR
    emit(Summary(command=command, exit_code=exit_code, verdict=verdict, error=message))
