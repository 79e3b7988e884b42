"""The terminal: a live view of step states, streamed logs, and the summary at the end."""

from __future__ import annotations

import contextlib
import threading
import time

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..issues import Issue
from ..sizes import human_size
from ..terminal_text import (
    DEFAULT_PROGRESS_SECONDS,
    Phrases,
    add_column,
    markup_safe,
    plain,
)
from .results import OutputSummary, RunResult, Status, StepResult
from .step_feed import StepFeed

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
REFRESH_SECONDS = 0.25
"""How often the console prints what the steps wrote meanwhile."""
STEP_COLOURS = ("cyan", "magenta", "blue", "green", "yellow", "bright_cyan", "bright_magenta")


class ConsoleObserver:
    """Shows the run as it happens: each log line with its step name and, in a terminal, a live
    table of steps; elsewhere (a CI log, a pipe) a line when a step starts and ends, and one
    every ``progress_seconds`` while a step prints nothing.

    A step's output reaches the console through a ``StepFeed``: a refresh every
    ``refresh_seconds`` prints its latest lines and counts those it skipped, so the console
    never holds a chatty step up. The state of a line the step keeps overwriting (a progress
    bar) shows in the live table, or in the "still running" line."""

    announce_steps = True
    """Whether a start and an end line per step are printed when not in a terminal."""

    def __init__(
        self,
        console: Console,
        *,
        stream_logs: bool = True,
        progress_seconds: float = DEFAULT_PROGRESS_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.console = console
        self.stream_logs = stream_logs
        self.progress_seconds = progress_seconds
        self.refresh_seconds = refresh_seconds
        self.run: RunResult | None = None
        self.live: Live | None = None
        self.colours: dict[str, str] = {}
        self.feeds: dict[str, StepFeed] = {}
        self.last_shown: dict[str, float] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """True once the run's steps are being scheduled."""
        return self.run is not None

    @property
    def terminal(self) -> bool:
        return self.console.is_terminal

    def run_started(self, run: RunResult) -> None:
        self.console.print(
            f"[bold]cit[/] run [bold]{markup_safe(run.run_id)}[/] of {markup_safe(run.pipeline)}"
        )
        self.console.print(plain(f"  run directory: {run.run_dir}"), soft_wrap=True)
        for line in plan_lines(run):
            self.console.print(plain(line), soft_wrap=True)
        self.follow(run, live=True)

    def follow(self, run: RunResult, *, live: bool) -> None:
        """Start following ``run``: the refreshes, and the live table when ``live`` (in a
        terminal only: elsewhere it would print nothing until the end)."""
        self.run = run
        self.colours = {
            s.name: STEP_COLOURS[i % len(STEP_COLOURS)] for i, s in enumerate(run.steps)
        }
        self.feeds, self.last_shown = {}, {}
        self._stop = threading.Event()  # one per run: an observer may follow several
        if live and self.terminal:
            self.live = Live(
                get_renderable=self._live_view,
                console=self.console,
                refresh_per_second=4,
                transient=True,
            )
            self.live.start()
        self._refresher = threading.Thread(target=self._refresh_loop, name="cit-console")
        self._refresher.daemon = True
        self._refresher.start()

    def stop_following(self) -> None:
        """Stop the refreshes and show what is left of every step's output."""
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join()
        with self._lock:
            for name in list(self.feeds):
                self._show_lines(name)
        if self.live is not None:
            self.live.stop()
            self.live = None

    def step_started(self, step: StepResult) -> None:
        with self._lock:
            self.last_shown[step.name] = time.monotonic()
            if self.announce_steps and not self.terminal:
                self.console.print(step_line(step), soft_wrap=True, highlight=False)
        self._refresh()

    def step_log(self, step: str, text: str) -> None:
        """Whole lines of a step's output (see ``StepFeed``); shown at the next refresh."""
        if not self.stream_logs:
            return
        feed = self.feeds.get(step)
        if feed is None:
            with self._lock:
                feed = self.feeds.setdefault(step, StepFeed())
        feed.add(text)

    def step_finished(self, step: StepResult) -> None:
        with self._lock:
            self._show_lines(step.name)
            if self.announce_steps and not self.terminal:
                self.console.print(step_line(step), soft_wrap=True, highlight=False)
        self._refresh()

    def run_finished(self, run: RunResult) -> None:
        self.stop_following()
        print_summary(self.console, run)

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.refresh()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            # A console that fails (a closed pipe) must not end the refreshes: the run goes on.
            with self._lock, contextlib.suppress(Exception):
                for name in list(self.feeds):
                    self._show_lines(name)
                if not self.terminal:
                    self._say_still_running()

    def _show_lines(self, name: str) -> None:
        """Print the lines of ``name`` not shown yet, as one block: the latest of them, after
        a line counting those skipped."""
        feed = self.feeds.get(name)
        if feed is None:
            return
        lines, skipped = feed.take()
        if not lines and not skipped:
            return
        prefix = (f"{name:>12} | ", self.colours.get(name, "white"))
        block = Text()
        if skipped:
            note = f"\u2026 {skipped} line(s) not shown (see log.txt)"
            block.append_text(Text.assemble(prefix, (note, "dim")))
            block.append("\n")
        for line in lines:
            block.append_text(Text.assemble(prefix, plain(line)))
            block.append("\n")
        block.rstrip()
        self.console.print(block, soft_wrap=True, highlight=False)
        self.last_shown[name] = time.monotonic()

    def _say_still_running(self) -> None:
        """A line for each running step that printed nothing for ``progress_seconds``."""
        assert self.run is not None
        now = time.monotonic()
        for step in self.run.steps:
            if step.status is not Status.RUNNING or step.started_at is None:
                continue
            if now - self.last_shown.get(step.name, now) < self.progress_seconds:
                continue
            feed = self.feeds.get(step.name)
            current = feed.current if feed is not None else None
            line = f"step {step.name} still running ({time.time() - step.started_at:.0f}s)"
            self.console.print(
                plain(line + (f": {current.strip()}" if current else "")),
                soft_wrap=True,
                highlight=False,
            )
            self.last_shown[step.name] = now

    def _live_view(self) -> Table:
        table = Table.grid(padding=(0, 2), expand=True)
        for _ in range(3):
            table.add_column(no_wrap=True)
        # a progress bar: one line, in the width the others leave
        table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        if self.run is None:
            return table
        now = time.time()
        for step in self.run.steps:
            elapsed = ""
            if step.status is Status.RUNNING and step.started_at:
                elapsed = f"{now - step.started_at:.1f}s"
            elif step.duration_seconds is not None:
                elapsed = f"{step.duration_seconds:.1f}s"
            feed = self.feeds.get(step.name)
            current = feed.current if feed is not None and step.status is Status.RUNNING else None
            table.add_row(
                step_status(step),
                plain(step.name),
                Text(elapsed, style="dim"),
                plain(current.strip(), "dim") if current else "",
            )
        return table


def step_line(step: StepResult) -> Text:
    """One line of a step's start or end, for a log that is not a terminal."""
    if step.status is Status.RUNNING:
        return Text.assemble("step ", plain(step.name, "bold"), " started")
    took = ""
    if step.duration_seconds is not None:  # a step skipped or never started has none
        took = f" {_TOOK.get(step.status, 'in')} {step.duration_seconds:.1f}s"
    why = f": {step.reason}" if step.reason and not step.status.ok else ""
    word = (
        step_status(step)
        if step.cached_from is not None
        else Text(_ENDED.get(step.status, step.status.value), style=STATUS_STYLE[step.status])
    )
    return Text.assemble("step ", plain(step.name, "bold"), " ", word, plain(took + why))


_ENDED = {Status.TIMEOUT: "timed out", Status.OOM: "ran out of memory"}
"""How an end line says a status that is not a verb (``step nap timed out after 3.1s``)."""
_TOOK = {Status.TIMEOUT: "after", Status.OOM: "after", Status.FAILED: "after"}


def print_summary(console: Console, run: RunResult) -> None:
    """The table at the end of a run and, for each failed step, its reason and log tail."""
    console.print(summary_table(run))
    for line in cached_lines(run):
        console.print(plain(line, "dim"), soft_wrap=True, highlight=False)
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
        f"manifest: {markup_safe(run.run_dir)}/manifest.json",
        soft_wrap=True,  # a path is never cut over lines
    )


def summary_table(run: RunResult) -> Table:
    title = plain(f"cit run {run.run_id} · {run.pipeline}", "table.title")
    table = Table(title=title, title_justify="left")
    for column in ("step", "kind", "status", "exit", "duration", "outputs"):
        add_column(table, column, whole=column != "outputs", right=column in ("exit", "duration"))
    for step in run.steps:
        table.add_row(
            plain(step.name),
            step.kind,
            step_status(step),
            "" if step.exit_code is None else str(step.exit_code),
            "" if step.duration_seconds is None else f"{step.duration_seconds:.1f}s",
            _detail(step),
        )
    return table


def _detail(step: StepResult) -> Phrases | Text:
    """The last column: a step's outputs (a size never apart from its unit); what a condition
    found or a fail step says; else why it did not succeed."""
    if step.outputs:
        return Phrases([_output_phrases(o) for o in step.outputs])
    if step.condition is not None or (step.kind == "fail" and step.message):
        return plain(step.message or "")
    return plain(step.reason or "")


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


CACHED = "cached"
"""How a step whose outputs came from the step cache is shown in place of its status."""


def step_status(step: StepResult) -> Text:
    """A step's status; ``cached`` for one taken from the step cache."""
    if step.cached_from is not None:
        return Text(CACHED, style="cyan")
    return _status_text(step.status)


def cached_lines(run: RunResult) -> list[str]:
    """A line per earlier run whose outputs this one took instead of running steps."""
    by_run: dict[str, list[str]] = {}
    for step in run.steps:
        if step.cached_from is not None:
            by_run.setdefault(step.cached_from, []).append(step.name)
    return [
        f"cached (not run; their outputs are those of run {source}): {', '.join(names)}"
        for source, names in by_run.items()
    ]


def _output_phrases(output: OutputSummary) -> list[str]:
    files = "1 file" if output.files == 1 else f"{output.files} files"
    return [f"{output.name}:", f"{files},", human_size(output.bytes)]


class CaseObserver(ConsoleObserver):
    """Shows test cases as they run: one line per case instead of a run summary each, with
    the step's log lines unless quiet. The verdicts come after, in one table."""

    announce_steps = False  # each case's steps get their line at its end

    def run_started(self, run: RunResult) -> None:
        self.console.print(
            Text.assemble(
                ("case ", "dim"), plain(run.pipeline, "bold"), plain(f"  {run.run_dir}", "dim")
            ),
            soft_wrap=True,
        )
        self.follow(run, live=False)
        self.colours = {s.name: "cyan" for s in run.steps}

    def run_finished(self, run: RunResult) -> None:
        self.stop_following()
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
