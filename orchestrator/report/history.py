"""Earlier runs, read back from their run directories (``cit history``, ``cit report``).

A pipeline run has ``manifest.json`` (steps, statuses, timings) and, since reports exist,
``report.json``; a command that runs test cases has only ``report.json``. Nothing here writes.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..dataflow.edges import DataFlowTestResult
from ..dataflow.tester import FLOW_REPORT
from ..errors import CitError, InputError
from ..files import MAX_NESTING, NotJSON, describe_error, parse_json, read_text
from ..run.results import RunResult, Status
from ..run.rundir import MANIFEST, read_manifest, still_running
from ..verdict import Outcome, outcome_of_status
from .model import REPORT_FILE, SCHEMA_VERSION, Report, build_report, pipeline_suite


class RunRecord(BaseModel):
    """One earlier run, as ``cit history`` lists it."""

    run_id: str
    run_dir: str
    command: str
    name: str
    """The pipeline, or the scripts and pipelines of a command's suites (joined)."""
    names: list[str] = Field(default_factory=list)
    outcome: str
    started_at: float | None = None
    duration_seconds: float | None = None
    steps: dict[str, float | None] = Field(default_factory=dict)
    """Each step's duration (pipeline runs)."""
    cached: list[str] = Field(default_factory=list)
    """Steps whose outputs were taken from the step cache or an earlier run, not run."""
    failed: list[str] = Field(default_factory=list)
    """Steps or cases that did not pass."""
    parts: list[str] = Field(default_factory=list)
    """The run directories of the test cases a command ran: shown as part of it."""


def list_runs(runs_dir: Path, name: str | None = None) -> list[RunRecord]:
    """The runs under ``runs_dir``, newest first; only those of ``name`` when given. A folder
    that is not a readable run is left out."""
    folders = list(runs_dir.iterdir()) if runs_dir.is_dir() else []
    runs = [f for f in folders if f.is_dir() and not f.is_symlink()]  # latest: a run's alias
    records = [r for r in (_record(f) for f in runs) if r is not None]
    parts = {Path(part).resolve() for r in records for part in r.parts}
    records = [r for r in records if Path(r.run_dir).resolve() not in parts]
    records.sort(key=lambda r: (r.started_at or 0.0, r.run_id), reverse=True)
    return [r for r in records if name is None or name in r.names]


def _record(folder: Path) -> RunRecord | None:
    try:
        if (folder / MANIFEST).is_file():
            return _pipeline_record(folder, read_manifest(folder))
        if (folder / REPORT_FILE).is_file():
            return _report_record(folder, _listed(folder / REPORT_FILE))
    except (OSError, ValueError, CitError):  # a damaged run must not hide the others
        return None
    return None


def _pipeline_record(folder: Path, run: RunResult) -> RunRecord:
    """A pipeline run: its steps from the manifest, its verdict from its report when it has
    one (a data-flow test can fail on an edge while every step succeeded)."""
    report = _readable_report(folder / REPORT_FILE)
    duration = run.finished_at - run.started_at if run.finished_at else None
    if report is not None:  # the steps and what was checked after them
        duration = report.duration_seconds
    return RunRecord(
        run_id=run.run_id,
        run_dir=str(folder),
        command=report.cit_report if report else "run",
        name=run.pipeline,
        names=[run.pipeline],
        outcome=report.outcome.value if report else _outcome_so_far(run),
        started_at=run.started_at,
        duration_seconds=round(duration, 3) if duration is not None else None,
        steps={s.name: s.duration_seconds for s in run.steps},
        cached=[s.name for s in run.steps if s.cached_from is not None],
        failed=_not_passed(report) if report else _broken_steps(run),
    )


def _readable_report(path: Path) -> Report | None:
    """The run's report, or None (the manifest then speaks for the run) when it has none or
    one that cannot be read: too large, damaged."""
    if not path.is_file():
        return None
    try:
        return _listed(path)
    except (OSError, ValueError, CitError):
        return None


def _outcome_so_far(run: RunResult) -> str:
    """The verdict of a run without a report, from its status; one going on now (its cit
    alive: ``read_manifest`` settled the others) is still ``running``."""
    if run.status is Status.RUNNING:
        return Status.RUNNING.value
    return outcome_of_status(run.status).value


def _broken_steps(run: RunResult) -> list[str]:
    return [s.name for s in run.steps if s.status.broke or s.status is Status.INTERRUPTED]


def _not_passed(report: Report) -> list[str]:
    judged = (Outcome.FAILED, Outcome.ERROR, Outcome.INTERRUPTED)
    return [t.name for t in report.tests if t.outcome in judged]


def _report_record(folder: Path, report: Report) -> RunRecord:
    names = sorted({suite.name for suite in report.suites})
    return RunRecord(
        run_id=folder.name,
        run_dir=str(folder),
        command=report.cit_report,
        name=", ".join(names),
        names=names,
        outcome=report.outcome.value,
        started_at=_timestamp(report.created_at) - report.duration_seconds,
        duration_seconds=report.duration_seconds,
        failed=_not_passed(report),
        parts=[t.run_dir for t in report.tests if t.run_dir],
    )


def _timestamp(iso: str) -> float:

    return datetime.fromisoformat(iso).timestamp()


def report_of(path: Path, field: str | None = "--test-results") -> Report:
    """The report of a run directory (or of a ``report.json``): its ``report.json``, or, for a
    pipeline run from before reports, one made again from its manifest and ``flow.json``.
    ``field``: what named the run, for errors (``None``: the latest run, named by no flag)."""
    if path.is_file():
        return _read(path)
    if not path.is_dir():
        raise InputError("no such run directory or report file", field=field, file=path)
    if (path / REPORT_FILE).is_file():
        return _read(path / REPORT_FILE)
    if (path / MANIFEST).is_file():
        return _rebuilt(path, field)
    raise InputError(
        f"holds neither {REPORT_FILE} nor {MANIFEST}: not a cit run directory "
        "(they are under .cit/runs/)",
        file=path,
        field=field,
    )


def _read(path: Path) -> Report:
    """The report in a ``report.json`` that ``cit report`` was given or found; one written by a
    newer cit is refused with advice to upgrade."""
    data = _report_data(path)
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise InputError(
            f"written by a newer cit (report schema {version}; this cit reads up to "
            f"{SCHEMA_VERSION}): upgrade cit to read it",
            file=path,
        )
    return _validated(data, path)


def _listed(path: Path) -> Report:
    """The report of a run ``cit history`` lists (an ``InputError`` leaves the run out)."""
    return _validated(_report_data(path), path)


def _report_data(path: Path) -> Any:
    """The JSON of a ``report.json``, read as every JSON file cit reads is: bounded, never
    waiting on a FIFO (``read_text``), parsed with cit's limits (``parse_json``). A report.json
    may come from anywhere: what is not JSON is "not a cit report"."""
    text = read_text(path, "JSON")
    try:
        return parse_json(text, path)
    except NotJSON as exc:
        if exc.beyond:
            why = f"nested deeper than {MAX_NESTING} levels or a number too long"
        elif exc.line is not None:
            why = f"not JSON ({exc.problem}, line {exc.line})"
        else:
            why = exc.problem
        raise InputError(f"not a cit report: {why}", file=path) from None


def _validated(data: Any, path: Path) -> Report:
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        field, message = describe_error(exc.errors()[0])
        raise InputError(f"not a cit report: {message}", file=path, field=field or None) from None


def _rebuilt(folder: Path, field: str | None) -> Report:
    run = read_manifest(folder)
    if still_running(run):
        raise InputError(
            f"the run is still running (cit {run.owner}); its report is written when it ends",
            file=folder,
            field=field,
        )
    flow_file = folder / FLOW_REPORT
    flow = (
        DataFlowTestResult.model_validate_json(flow_file.read_text(encoding="utf-8"))
        if flow_file.is_file()
        else DataFlowTestResult(
            pipeline=run.pipeline,
            pipeline_file=run.pipeline_file,
            run_id=run.run_id,
            run_dir=run.run_dir,
            run_status=run.status,
        )
    )
    interrupted = run.status is Status.INTERRUPTED
    report = build_report("run", [pipeline_suite(flow, run)], interrupted=interrupted)
    # A run still going has lasted until now; one whose cit was killed, an unknown time.
    finished = run.finished_at or (time.time() if run.status is Status.RUNNING else run.started_at)
    return report.model_copy(update={"duration_seconds": round(finished - run.started_at, 3)})
