"""The terminal: a live view of step states, streamed logs, and the summary at the end."""

from __future__ import annotations

import threading
import time

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..issues import Issue
from ..terminal_text import human_size, markup_safe, plain
from .results import OutputSummary, RunResult, Status, StepResult

STATUS_STYLE = {
    Status.PENDING: "dim",
    Status.RUNNING: "cyan",
    Status.SUCCEEDED: "green",
    Status.FAILED: "bold red",
    Status.TIMEOUT: "bold red",
    Status.OOM: "bold red",
    Status.ERROR: "bold red",
    Status.INTERRUPTED: "yellow",
    Status.SKIPPED: "yellow",
}
FAILED_TAIL_LINES = 20
STEP_COLOURS = ("cyan", "magenta", "blue", "green", "yellow", "bright_cyan", "bright_magenta")


class ConsoleObserver:
    """Shows the run as it happens: a live table of steps and each log line with its step name."""

    def __init__(self, console: Console, *, stream_logs: bool = True) -> None:
        self.console = console
        self.stream_logs = stream_logs
        self.run: RunResult | None = None
        self.live: Live | None = None
        self.colours: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        """True once the run's steps are being scheduled."""
        return self.run is not None

    def run_started(self, run: RunResult) -> None:
        self.run = run
        self.colours = {
            s.name: STEP_COLOURS[i % len(STEP_COLOURS)] for i, s in enumerate(run.steps)
        }
        self.console.print(
            f"[bold]cit[/] run [bold]{markup_safe(run.run_id)}[/] of {markup_safe(run.pipeline)}"
        )
        self.console.print(plain(f"  run directory: {run.run_dir}"))
        for line in plan_lines(run):
            self.console.print(plain(line), soft_wrap=True)
        self.live = Live(
            get_renderable=self._live_view,
            console=self.console,
            refresh_per_second=4,
            transient=True,
        )
        self.live.start()

    def step_started(self, step: StepResult) -> None:
        self._refresh()

    def step_log(self, step: str, line: str) -> None:
        if not self.stream_logs:
            return
        with self._lock:
            colour = self.colours.get(step, "white")
            text = Text.assemble((f"{step:>12} | ", colour), plain(line))
            self.console.print(text, soft_wrap=True, highlight=False)

    def step_finished(self, step: StepResult) -> None:
        self._refresh()

    def run_finished(self, run: RunResult) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        print_summary(self.console, run)

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.refresh()

    def _live_view(self) -> Table:
        table = Table.grid(padding=(0, 2))
        if self.run is None:
            return table
        now = time.time()
        for step in self.run.steps:
            elapsed = ""
            if step.status is Status.RUNNING and step.started_at:
                elapsed = f"{now - step.started_at:.1f}s"
            elif step.duration_seconds is not None:
                elapsed = f"{step.duration_seconds:.1f}s"
            table.add_row(_status_text(step.status), plain(step.name), Text(elapsed, style="dim"))
        return table


def print_summary(console: Console, run: RunResult) -> None:
    """The table at the end of a run and, for each failed step, its reason and log tail."""
    console.print(summary_table(run))
    for step in run.steps:
        if step.status.broke:
            console.print(failure_panel(step))
    for step in run.steps:
        for finding in step.findings:
            console.print(finding_line(step.name, finding))
    colour = "green" if run.ok else "red"
    total = (run.finished_at or time.time()) - run.started_at
    console.print(
        f"[{colour}]run {run.status.value}[/] in {total:.1f}s · "
        f"manifest: {markup_safe(run.run_dir)}/manifest.json"
    )


def summary_table(run: RunResult) -> Table:
    title = plain(f"cit run {run.run_id} · {run.pipeline}", "table.title")
    table = Table(title=title, title_justify="left")
    for column in ("step", "kind", "status", "exit", "duration", "outputs"):
        table.add_column(column, justify="right" if column in ("exit", "duration") else "left")
    for step in run.steps:
        table.add_row(
            plain(step.name),
            step.kind,
            _status_text(step.status),
            "" if step.exit_code is None else str(step.exit_code),
            "" if step.duration_seconds is None else f"{step.duration_seconds:.1f}s",
            plain(_detail(step)),
        )
    return table


def _detail(step: StepResult) -> str:
    """The last column: a step's outputs; what a condition found or a fail step says; else
    why it did not succeed."""
    outputs = "\n".join(_describe_output(o) for o in step.outputs)
    if outputs:
        return outputs
    if step.condition is not None or (step.kind == "fail" and step.message):
        return step.message or ""
    return step.reason or ""


def failure_panel(step: StepResult, title: str | None = None) -> Panel:
    """A failed step's reason, message, hints, log tail and log file (``title``: what ran it)."""
    parts: list[Text] = [plain(step.reason or step.status.value, "bold")]
    if step.message:
        parts.append(plain(f"message: {step.message}"))
    parts.extend(plain(f"hint: {hint}", "yellow") for hint in step.hints)
    if step.log_tail:
        parts.append(Text(f"last {min(len(step.log_tail), FAILED_TAIL_LINES)} log lines:", "dim"))
        parts.append(plain("\n".join(step.log_tail[-FAILED_TAIL_LINES:])))
    if step.log_file:
        parts.append(plain(f"full log: {step.log_file}", "dim"))
    heading = f"{step.name}: {step.status.value}"
    return Panel(
        Group(*parts),
        title=plain(f"{title} · {heading}" if title else heading),
        border_style="red",
        title_align="left" if title else "center",
    )


def finding_line(step: str, finding: Issue) -> Text:
    """One thing a step left that cit had to secure, e.g. a link out of its outputs."""
    style = "red" if finding.is_error else "yellow"
    return Text.assemble(
        (f"{step}: {finding.severity.value} [{finding.rule}] ", style), plain(finding.description)
    )


def _status_text(status: Status) -> Text:
    return Text(status.value, style=STATUS_STYLE[status])


def _describe_output(output: OutputSummary) -> str:
    files = "1 file" if output.files == 1 else f"{output.files} files"
    return f"{output.name}: {files}, {human_size(output.bytes)}"


class CaseObserver(ConsoleObserver):
    """Shows test cases as they run: one line per case instead of a run summary each, with
    the step's log lines unless quiet. The verdicts come after, in one table."""

    def run_started(self, run: RunResult) -> None:
        self.run = run
        self.colours = {s.name: "cyan" for s in run.steps}
        self.console.print(
            Text.assemble(
                ("case ", "dim"), plain(run.pipeline, "bold"), plain(f"  {run.run_dir}", "dim")
            ),
            soft_wrap=True,
        )

    def run_finished(self, run: RunResult) -> None:
        for step in run.steps:
            seconds = f" in {step.duration_seconds:.1f}s" if step.duration_seconds else ""
            detail = f": {step.reason}" if step.reason and not step.status.ok else ""
            self.console.print(
                plain(f"  {step.name} {step.status.value}{seconds}{detail}", "dim"),
                soft_wrap=True,
            )


def plan_lines(run: RunResult) -> list[str]:
    """What a run decided before its steps start: the image each step of a SageMaker
    definition runs on instead of the one it names, and the steps left out, with why."""
    lines = [
        f"  image of {step.name}: {step.sagemaker_image} \u2192 {step.image}"
        for step in run.steps
        if step.sagemaker_image is not None and not step.excluded
    ]
    lines += [f"  skipped {step.name}: {step.reason}" for step in run.steps if step.excluded]
    return lines
