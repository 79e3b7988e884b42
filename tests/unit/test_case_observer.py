"""The console view of test cases: one line per case and per step outcome, no run tables."""

from __future__ import annotations

import io

from rich.console import Console

from orchestrator.run.progress import CaseObserver
from orchestrator.run.results import RunResult, Status, StepResult


def run_of(status: Status, reason: str | None = None) -> RunResult:
    step = StepResult(
        name="score", kind="processing", status=status, reason=reason, duration_seconds=1.5
    )
    return RunResult(
        run_id="r1",
        pipeline="score-too-demanding",
        pipeline_file="score.py",
        run_dir=".cit/runs/r1",
        started_at=0.0,
        cit_version="0",
        steps=[step],
    )


def shown(run: RunResult, quiet: bool) -> str:
    out = io.StringIO()
    observer = CaseObserver(Console(file=out, width=200), stream_logs=not quiet)
    observer.run_started(run)
    observer.step_log("score", "hello from the script")
    observer.run_finished(run)
    return out.getvalue()


def test_a_case_is_two_lines_and_its_logs() -> None:
    text = shown(run_of(Status.SUCCEEDED), quiet=False)
    assert "case score-too-demanding  .cit/runs/r1" in text
    assert "hello from the script" in text
    assert "score succeeded in 1.5s" in text
    assert "┏" not in text  # no run summary table


def test_a_failed_step_says_why_and_quiet_hides_logs() -> None:
    text = shown(run_of(Status.FAILED, "exited with code 1"), quiet=True)
    assert "score failed in 1.5s: exited with code 1" in text
    assert "hello from the script" not in text
