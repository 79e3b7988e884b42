"""What cit prints when its output is not a terminal (a CI log, a pipe) and what it prints of
chatty steps: whole ids and paths, a line per step's start and end, a line for a silent step,
the latest state of a progress bar, and the lines it had no time for counted."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator import FakeBehaviour, FakeEngine, RunSettings
from orchestrator.dataflow.edges import EdgeResult
from orchestrator.errors import CitError
from orchestrator.issues import Issue, Severity
from orchestrator.report.console import flow_table, history_table, issues_table
from orchestrator.report.history import RunRecord
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.progress import ConsoleObserver, print_summary, step_line, summary_table
from orchestrator.run.results import OutputSummary, RunResult, Status, StepResult
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.terminal_text import NON_TERMINAL_WIDTH, TerminalConsole, progress_interval

from .conftest import write

RUN_ID = "20261206-131527-cccfeb"
RUN_DIR = "/home/runner/work/project/project/.cit/runs/" + RUN_ID
SCHEMA = "examples/tabular/schemas/features.yaml"
SLOW = """
name: slow
steps:
  slow: {kind: processing, script: scripts/prep.py}
"""


def non_terminal(out: io.StringIO) -> TerminalConsole:
    return TerminalConsole(file=out, color_system=None)


def finished_run() -> RunResult:
    step = StepResult(
        name="preprocess_training_data",
        kind="processing",
        status=Status.SUCCEEDED,
        exit_code=0,
        duration_seconds=1234.5,
    )
    return RunResult(
        run_id=RUN_ID,
        pipeline="tabular-xgboost",
        pipeline_file="pipeline.py",
        run_dir=RUN_DIR,
        status=Status.SUCCEEDED,
        started_at=0.0,
        finished_at=6.7,
        cit_version="0",
        steps=[step],
    )


def history() -> list[RunRecord]:
    return [
        RunRecord(
            run_id=RUN_ID,
            run_dir=RUN_DIR,
            command="run",
            name="tabular-xgboost",
            outcome="succeeded",
            started_at=1_765_000_000.0,
            duration_seconds=6.7,
            steps={"preprocess": 1.4, "train": 2.7, "evaluate": 1.5},
        )
    ]


def test_output_that_is_not_a_terminal_is_wide_without_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    console = non_terminal(out)
    assert console.width == NON_TERMINAL_WIDTH
    print_summary(console, finished_run())
    console.print(history_table(history()))
    shown = out.getvalue()
    assert f"manifest: {RUN_DIR}/manifest.json\n" in shown  # the path on one line
    assert f"│ {RUN_ID} │" in shown  # the run id whole in its cell
    assert "preprocess_training_data" in shown and "1234.5s" in shown


def test_columns_sets_the_width_and_ids_paths_and_numbers_stay_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    out = io.StringIO()
    console = non_terminal(out)
    assert console.width == 100
    records = history()
    records[0].steps = {f"step_number_{i}": float(i) for i in range(12)}  # a long cell
    issue = Issue(
        rule="missing_column",
        severity=Severity.ERROR,
        description="required column 'income' is missing in the output root " * 3,
        edge="preprocess.test -> evaluate.test",
        file=SCHEMA,
    )
    print_summary(console, finished_run())
    console.print(history_table(records))
    console.print(issues_table([issue]))
    shown = out.getvalue()
    assert max(len(line) for line in shown.splitlines() if "│" in line) <= 100
    assert f"manifest: {RUN_DIR}/manifest.json" in shown  # longer than 100: never cut
    assert f"│ {RUN_ID} │" in shown  # the id whole while the steps column wraps
    assert "11.0s" in shown  # the long cell wrapped, not cut
    assert f"│ {SCHEMA} " in shown and "│ preprocess.test -> evaluate.test " in shown
    assert "│ preprocess_training_data │" in shown and "1234.5s │" in shown


def test_a_step_gets_a_start_an_end_and_still_running_lines(project: Path) -> None:
    out = io.StringIO()
    observer = ConsoleObserver(
        non_terminal(out), progress_seconds=0.1, refresh_seconds=0.02, stream_logs=False
    )
    fake = FakeEngine({"slow": FakeBehaviour(seconds=0.5)}, images={RUNNER_IMAGE: "sha256:r"})
    settings = RunSettings(cit_dir=project / ".cit", max_workers=1, user=None)
    result = execute_pipeline(
        write(project, "p.yaml", SLOW), fake, settings=settings, observer=observer
    )
    assert result.ok
    lines = out.getvalue().splitlines()
    started = lines.index("step slow started")
    still = [i for i, line in enumerate(lines) if line.startswith("step slow still running (")]
    ended = next(i for i, line in enumerate(lines) if line.startswith("step slow succeeded in"))
    assert still and started < still[0] and still[-1] < ended


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (Status.SUCCEEDED, "step s succeeded in 3.1s"),
        (Status.FAILED, "step s failed after 3.1s: why"),
        (Status.TIMEOUT, "step s timed out after 3.1s: why"),
        (Status.OOM, "step s ran out of memory after 3.1s: why"),
    ],
)
def test_an_end_line_says_how_the_step_ended(status: Status, said: str) -> None:
    step = StepResult(name="s", kind="processing", status=status, duration_seconds=3.14)
    step.reason = "why"
    assert step_line(step).plain == said


def test_a_step_that_never_ran_gets_an_end_line_without_a_duration() -> None:
    """Skipped after a failure above it: no duration, still a line in the log."""
    step = StepResult(name="s", kind="processing", status=Status.SKIPPED, reason="prep failed")
    assert step_line(step).plain == "step s skipped: prep failed"


def test_a_quiet_terminal_gets_no_step_lines_but_its_live_table(project: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    observer = ConsoleObserver(console, progress_seconds=0.05, refresh_seconds=0.02)
    fake = FakeEngine({"slow": FakeBehaviour(seconds=0.2)}, images={RUNNER_IMAGE: "sha256:r"})
    settings = RunSettings(cit_dir=project / ".cit", max_workers=1, user=None)
    execute_pipeline(write(project, "p.yaml", SLOW), fake, settings=settings, observer=observer)
    shown = out.getvalue()
    assert "step slow started" not in shown and "still running" not in shown


def following(console: Console, **options: float) -> tuple[ConsoleObserver, StepResult]:
    step = StepResult(name="train", kind="training", status=Status.RUNNING)
    run = RunResult(
        run_id="r", pipeline="p", pipeline_file="p.py", run_dir="/r", started_at=0.0,
        cit_version="0", steps=[step],
    )  # fmt: skip
    observer = ConsoleObserver(console, **options)
    observer.run_started(run)
    step.started_at = time.time()
    observer.step_started(step)
    return observer, step


def finish(observer: ConsoleObserver, step: StepResult) -> None:
    step.status, step.duration_seconds = Status.SUCCEEDED, 1.0
    observer.step_finished(step)
    observer.stop_following()


def test_a_progress_bar_shows_its_latest_state_not_every_update() -> None:
    out = io.StringIO()
    observer, step = following(non_terminal(out), progress_seconds=0.05, refresh_seconds=0.01)
    observer.step_log("train", "epoch 1\n")
    for percent in range(0, 100, 10):
        observer.step_log("train", f"\r{percent:3d}%|{'#' * (percent // 10):10}|")
    observer.step_log("train", "\r")  # the last update's end: the splitter hands it on so
    time.sleep(0.3)
    finish(observer, step)
    shown = out.getvalue()
    assert "train | epoch 1" in shown
    assert " 50%" not in shown  # no line per update
    assert "step train still running (" in shown and "90%|#########" in shown


def test_in_a_terminal_the_live_table_shows_the_progress_bar() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    observer, step = following(console, refresh_seconds=0.01)
    observer.step_log("train", " 40%|####      |\r")
    time.sleep(0.1)
    table = io.StringIO()
    Console(file=table, width=120, color_system=None).print(observer._live_view())
    finish(observer, step)
    assert "40%|####" in table.getvalue()
    assert "train |  40%" not in out.getvalue()  # not printed as a log line


def test_lines_the_console_cannot_keep_up_with_are_counted_not_printed() -> None:
    out = io.StringIO()
    observer, step = following(non_terminal(out), refresh_seconds=60)
    observer.step_log("train", "".join(f"line {i}\n" for i in range(10_000)))
    finish(observer, step)
    shown = out.getvalue()
    assert "9800 line(s) not shown (see log.txt)" in shown
    assert "train | line 9999" in shown and "train | line 9799\n" not in shown
    assert shown.count("train | line ") == 200


def test_the_progress_interval_is_a_setting() -> None:
    assert progress_interval({}) == 30.0
    assert progress_interval({"CIT_PROGRESS_INTERVAL": "0.5"}) == 0.5
    for wrong in ("0", "-1", "soon", "inf"):
        with pytest.raises(CitError, match="CIT_PROGRESS_INTERVAL"):
            progress_interval({"CIT_PROGRESS_INTERVAL": wrong})


def narrow_history(width: int) -> str:
    records = history()
    records.append(
        records[0].model_copy(
            update={
                "command": "test-all",
                "name": "preprocess, train_model",
                "names": ["preprocess", "train_model"],
                "outcome": "interrupted",
                "failed": ["case one", "case two"],
                "steps": {},
            }
        )
    )
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(history_table(records))
    return out.getvalue()


@pytest.mark.parametrize("width", [60, 80, 100])
def test_history_in_a_narrow_console_keeps_ids_names_verdicts_and_durations_whole(
    width: int,
) -> None:
    shown = narrow_history(width)
    assert max(len(line) for line in shown.splitlines()) <= width
    cells = [cell.strip() for line in shown.splitlines() for cell in line.split("│")]
    for whole in (RUN_ID, "tabular-xgboost", "interrupted", "6.7s", "train 2.7s,", "evaluate 1.5s"):
        assert any(whole in cell for cell in cells), whole
    assert len(shown.splitlines()) <= 20  # two runs, a few lines each


def test_a_size_in_the_run_table_keeps_its_unit() -> None:
    run = finished_run()
    step = run.steps[0]
    step.name = "preprocess"
    step.outputs = [
        OutputSummary(name=name, path="/x", files=1, bytes=84_480)
        for name in ("train", "validation", "test")
    ]
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(summary_table(run))
    shown = out.getvalue()
    assert shown.count("82.5 KiB") == 3
    assert max(len(line) for line in shown.splitlines()) <= 80


def test_the_data_flow_table_in_a_narrow_console_keeps_its_edges_and_statuses_whole() -> None:
    edges = [
        EdgeResult(
            edge=f"preprocess.{name} -> {consumer}",
            producer="preprocess",
            output=name,
            consumer=consumer.partition(".")[0],
            input=consumer.partition(".")[2],
            producer_status=Status.SUCCEEDED,
            consumer_status=Status.SUCCEEDED,
        )
        for name, consumer in (("val", "train.validation"), ("test", "evaluate.test"))
    ]
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(flow_table(edges))
    shown = out.getvalue()
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert "preprocess.val -> train.validation" in shown
    assert shown.count("succeeded") == 2 and shown.count("none") == 2
    assert len(shown.splitlines()) <= 10
