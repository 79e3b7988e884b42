"""The terminal view of checks: the data that flowed along each edge, and the issues found."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from ..data.profiles import describe_profile
from ..data.schemas import DataSchema
from ..dataflow.contract_check import ContractReport
from ..dataflow.edges import DataFlowTestResult, EdgeResult
from ..dataflow.expectation_results import MetricResult, OutputResult, QualityResult
from ..errors import CitError
from ..issues import Issue, Severity
from ..run import rundir
from ..run.progress import failure_panel
from ..run.results import Status, StepResult
from ..scripttest.case_checks import ScriptTestResult, TestCaseResult
from ..terminal_text import Phrases, add_column, plain
from ..verdict import STATUS_OUTCOMES, STYLES, Outcome, outcome_word

if TYPE_CHECKING:
    from ..scripttest.on_s3 import InputCheck, S3TestResult
    from .history import RunRecord

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}
WHOLE_COLUMNS = frozenset({"severity", "where", "case", "result", "duration"})
"""Columns of names, paths, ids and numbers: never wrapped (see ``add_column``)."""

COMPACT_BELOW = 120
"""The width under which ``cit history`` and the data-flow table fold their columns together
(see ``HistoryTable``, ``FlowTable``)."""


def flow_table(edges: Sequence[EdgeResult], title: str = "data flow") -> FlowTable:
    """The data that flowed along each edge, as wide as the console allows (see
    ``FlowTable``)."""
    return FlowTable(edges, title)


class FlowTable:
    """Each edge: the data that flowed, the schema expected, the consumer's status and the
    issues. Narrower than ``COMPACT_BELOW`` the data goes under its edge and the issues under
    the consumer's status, so no column is squeezed to a letter a line."""

    def __init__(self, edges: Sequence[EdgeResult], title: str) -> None:
        self.edges = list(edges)
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.compact() if options.max_width < COMPACT_BELOW else self.wide()

    def wide(self) -> Table:
        table = Table(title=plain(self.title, "table.title"), title_justify="left")
        for column in ("edge", "data that flowed", "expected", "consumer", "issues"):
            add_column(table, column, whole=column != "data that flowed")
        for edge in self.edges:
            table.add_row(
                plain(edge.edge),
                plain(describe_profile(edge.captured)),
                plain(_schema_name(edge.expected)),
                _status(edge.consumer_status),
                _issue_count(edge.issues),
            )
        return table

    def compact(self) -> Table:
        table = Table(title=plain(self.title, "table.title"), title_justify="left")
        add_column(table, "edge · data that flowed")
        add_column(table, "expected")
        add_column(table, "consumer · issues", whole=True)
        for edge in self.edges:
            what = Group(
                Phrases([edge.edge.split(" ")], "bold"),
                Phrases([_comma_separated(describe_profile(edge.captured).split(", "))]),
            )
            status = _status(edge.consumer_status)
            status.append("\n")
            status.append_text(_issue_count(edge.issues))
            table.add_row(what, Phrases([[_schema_name(edge.expected)]]), status)
        return table


def _schema_name(schema: DataSchema | None) -> str:
    if schema is None:
        return ""
    return Path(schema.source).name if schema.source else "inline schema"


def schema_lines(edges: Sequence[EdgeResult]) -> list[str]:
    """The columns that flowed along each edge, one line per dataset."""
    return [
        f"{edge.edge}: {line}"
        for edge in edges
        for line in describe_profile(edge.captured, columns=True).splitlines()
    ]


def issues_table(issues: Sequence[Issue], title: str = "issues") -> Table:
    table = Table(title=plain(title, "table.title"), title_justify="left", show_lines=False)
    for column in ("severity", "where", "issue", "fix"):
        add_column(table, column, whole=column in WHOLE_COLUMNS)
    for item in sorted(issues, key=lambda i: (i.severity is not Severity.ERROR, i.step or "")):
        table.add_row(
            Text(item.severity.value, style=SEVERITY_STYLE[item.severity]),
            plain(_where(item)),
            plain(f"{item.description} [{item.rule}]"),
            plain(item.hint or ""),
        )
    return table


def _where(item: Issue) -> str:
    parts = [item.edge or item.step or ""]
    if item.file:
        file = display_path(item.file)
        parts.append(f"{file}:{item.line}" if item.line else file)
    return "\n".join(p for p in parts if p)


def display_path(file: str) -> str:
    """A file relative to the working directory when it lies below it, as the user typed it."""
    path = Path(file)
    try:
        return str(path.relative_to(Path.cwd())) if path.is_absolute() else file
    except ValueError:
        return file


def _status(status: Status) -> Text:
    style = "green" if status is Status.SUCCEEDED else "bold red"
    return Text(status.value, style=style)


def _issue_count(issues: Sequence[Issue]) -> Text:
    errors = sum(1 for i in issues if i.severity is Severity.ERROR)
    warnings = len(issues) - errors
    if not issues:
        return Text("none", style="green")
    parts = [f"{errors} error(s)" if errors else "", f"{warnings} warning(s)" if warnings else ""]
    return Text(", ".join(p for p in parts if p), style="bold red" if errors else "yellow")


def print_flow(console: Console, result: DataFlowTestResult, *, judged: bool = True) -> None:
    """Edges, their issues, and the verdict of a data-flow test (``judged``: whether it counts
    in the command's verdict; ``cit run --steps-only`` shows it without)."""
    if not result.edges:
        console.print("no edges to test: no step reads another step's output")
    else:
        console.print(flow_table(result.edges))
        for line in schema_lines(result.edges):
            console.print(plain(line, "dim"), highlight=False, soft_wrap=True)
    if result.issues:
        console.print(issues_table(result.issues))
    for path in result.snapshots_updated:
        console.print(plain(f"snapshot written: {path}", "dim"), highlight=False)
    console.print(flow_summary(result, judged=judged), highlight=False, soft_wrap=True)


def flow_summary(result: DataFlowTestResult, *, judged: bool = True) -> Text:
    """The verdict line of a data-flow test, counted from the same issues its tables show."""
    good = result.is_compatible
    verdict = Text("compatible", "green") if good else Text("incompatible", "bold red")
    failed, outputs = result.failed_connections, result.failed_outputs
    unchecked = result.unchecked_connections
    errors = sum(1 for i in result.issues if i.is_error)
    warnings = len(result.issues) - errors
    tested = result.connections_tested
    parts = [f"{tested} connection(s) tested, {len(failed)} failed{_named(failed)}"]
    if outputs:
        parts.append(f"{len(outputs)} output(s) broke their own schema{_named(outputs)}")
    if unchecked:
        parts.append(f"{len(unchecked)} not checked, nothing flowed{_named(unchecked)}")
    parts.append(f"{errors} error(s), {warnings} warning(s)")
    line = Text.assemble("data flow ", verdict, plain(": " + "; ".join(parts)))
    if not judged and not good:
        line.append(" (not judged: --steps-only)", "yellow")
    return line


def _named(items: Sequence[str]) -> str:
    return f" ({', '.join(items)})" if items else ""


EXPECTATION_STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


def print_expectations(
    console: Console,
    results: Sequence[MetricResult | OutputResult | QualityResult],
    *,
    judged: bool = True,
) -> None:
    """One row per expectation on the pipeline's outputs, then how many passed (``judged``:
    whether they count in the command's verdict; ``cit run --steps-only`` shows them without)."""
    table = Table(title=Text("expectations"), title_justify="left")
    for column in ("expectation", "result", "found"):
        add_column(table, column, whole=column == "result")
    for result in results:
        style = EXPECTATION_STYLE[result.outcome]
        table.add_row(plain(result.name), Text(result.outcome, style), plain(result.message))
    console.print(table)
    counts = {o: sum(r.outcome == o for r in results) for o in EXPECTATION_STYLE}
    failed = counts["failed"]
    summary = ", ".join(f"{n} {o}" for o, n in counts.items() if n or o != "skipped")
    line = Text(f"expectations: {summary}", "bold red" if failed else "green")
    if not judged and failed:
        line.append(" (not judged: --steps-only)", "yellow")
    console.print(line)


def print_contract_report(console: Console, report: ContractReport) -> None:
    if report.issues:
        console.print(issues_table(report.issues, title=f"contracts of {report.pipeline}"))
    if report.without_contract:
        names = ", ".join(report.without_contract)
        console.print(plain(f"no contract: {names} (not checked)", "dim"))
    for step, requirements in report.framework_requirements.items():
        listed = ", ".join(f"{name}{spec}" for name, spec in requirements.items())
        console.print(plain(f"framework requirements of {step}: {listed}", "dim"))
    errors = sum(1 for i in report.issues if i.is_error)
    warnings = len(report.issues) - errors
    colour = "green" if report.ok else "bold red"
    console.print(
        f"[{colour}]{len(report.checked)} step(s) checked: {errors} error(s), "
        f"{warnings} warning(s)[/]"
    )


def print_script_result(console: Console, result: ScriptTestResult) -> None:
    """One row per test case, with every failed expectation of a case that failed."""
    modes = sorted({case.isolation for case in result.test_results})
    title = f"test cases of {result.script}" + (f" ({', '.join(modes)})" if modes else "")
    table = Table(title=plain(title), title_justify="left")
    for column in ("case", "result", "duration", "missed expectations"):
        add_column(table, column, whole=column in WHOLE_COLUMNS)
    for case in result.test_results:
        verdict = _case_verdict(case)
        reasons = [f"{f.kind}: {f.message}" for f in case.failures]
        if not reasons and case.error_message:
            reasons = [case.error_message]
        reasons += [f"warning, {f.kind}: {f.message}" for f in case.warnings]
        table.add_row(
            plain(case.name),
            verdict,
            Text(f"{case.duration_seconds:.1f}s"),
            plain("\n".join(reasons)),
        )
    console.print(table)
    for case in result.test_results:
        for step in [] if case.passed else broken_steps(case):
            console.print(failure_panel(step, title=f"case {case.name}"))
    colour = "green" if result.ok else "bold red"
    summary = f"{result.passed} of {result.total} test case(s) passed"
    console.print(Text(summary, style=colour))


def broken_steps(case: TestCaseResult) -> list[StepResult]:
    """The steps of a case's run that did not succeed, as its manifest records them."""

    if case.run_dir is None:
        return []
    try:
        run = rundir.read_manifest(case.run_dir)
    except CitError:
        return []
    return [step for step in run.steps if step.status.broke]


def input_checks_table(checks: Sequence[InputCheck], script: str) -> Table:
    """One row per input of a script run on S3 data: where it came from, what it held."""
    table = Table(title=plain(f"data given to {script}"), title_justify="left")
    for column in ("input", "source", "data", "expected", "issues"):
        add_column(table, column, whole=column != "data")
    for check in checks:
        table.add_row(
            plain(check.channel),
            plain(check.source),
            plain(describe_profile(check.captured)),
            plain(_schema_name(check.expected)),
            _issue_count(check.issues),
        )
    return table


def print_input_checks(console: Console, checks: Sequence[InputCheck], script: str) -> None:
    """The inputs' captured schemas, their columns, and the issues found in them."""
    if not checks:
        return
    console.print(input_checks_table(checks, script))
    for check in checks:
        for line in describe_profile(check.captured, columns=True).splitlines():
            text = f"{check.channel}: {line}"
            console.print(plain(text, "dim"), highlight=False, soft_wrap=True)
    issues = [issue for check in checks for issue in check.issues]
    if issues:
        console.print(issues_table(issues, title=f"issues in the data given to {script}"))


def print_s3_result(console: Console, result: S3TestResult) -> None:
    """The run's verdict, the metrics it wrote and its data-quality score."""
    print_script_result(console, ScriptTestResult(script=result.script, test_results=[result.test]))
    if result.performance_metrics:
        shown = ", ".join(f"{k}={v}" for k, v in list(result.performance_metrics.items())[:8])
        console.print(plain(f"metrics: {shown}"), highlight=False, soft_wrap=True)
    if result.data_quality_score is not None:
        console.print(f"data quality score: {result.data_quality_score:.0%}", highlight=False)
    errors = sum(1 for i in result.schema_issues if i.severity is Severity.ERROR)
    if errors:
        console.print(Text(f"{errors} schema error(s) in the S3 data", style="bold red"))
    console.print(Text.assemble("S3 data test ", _s3_verdict(result)))


def _s3_verdict(result: S3TestResult) -> Text:
    if result.test.interrupted:
        return verdict_text(Outcome.INTERRUPTED)
    return verdict_text(Outcome.PASSED if result.passed else Outcome.FAILED)


def verdict_text(outcome: Outcome, *, expected_failure: bool = False) -> Text:
    """An outcome as every view names it, in its colour."""
    return Text(outcome_word(outcome, expected_failure=expected_failure), STYLES[outcome])


class HistoryTable:
    """Earlier runs: when, what, the verdict, how long, and what broke or took longest. In a
    console narrower than ``COMPACT_BELOW`` (an 80-column terminal, ``COLUMNS=80``) seven
    columns would squeeze the names to a letter a line, so three hold the same: the run and when
    it started, what ran and its steps, the verdict and its duration; ids, verdicts and
    durations stay whole."""

    def __init__(self, runs: Sequence[RunRecord]) -> None:
        self.runs = list(runs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.compact() if options.max_width < COMPACT_BELOW else self.wide()

    def wide(self) -> Table:
        table = Table(title="runs, newest first", title_justify="left")
        columns = ("run", "started", "command", "pipeline / script", "verdict", "duration", "steps")
        for column in columns:
            add_column(table, column, whole=column in ("run", "started", "verdict", "duration"))
        for run in self.runs:
            table.add_row(
                plain(run.run_id),
                Text(_started(run, "%Y-%m-%d %H:%M:%S")),
                plain(run.command),
                Phrases([_comma_separated(run.names or [run.name])]),
                _history_verdict(run.outcome),
                Text(_duration(run)),
                Phrases(_step_phrases(run)),
            )
        return table

    def compact(self) -> Table:
        table = Table(title="runs, newest first", title_justify="left")
        add_column(table, "run · started", whole=True)
        add_column(table, "pipeline / script")
        add_column(table, "verdict", whole=True)
        for run in self.runs:
            what = Group(
                Phrases([_comma_separated(run.names or [run.name])], "bold"),
                plain(run.command, "dim"),
                Phrases(_step_phrases(run)),
            )
            verdict = _history_verdict(run.outcome)
            verdict.append(f"\n{_duration(run)}")
            table.add_row(plain(f"{run.run_id}\n{_started(run, '%m-%d %H:%M')}"), what, verdict)
        return table


def history_table(runs: Sequence[RunRecord]) -> HistoryTable:
    """Earlier runs, as wide as the console allows (see ``HistoryTable``)."""
    return HistoryTable(runs)


def _started(run: RunRecord, layout: str) -> str:
    return time.strftime(layout, time.localtime(run.started_at)) if run.started_at else ""


def _duration(run: RunRecord) -> str:
    return f"{run.duration_seconds:.1f}s" if run.duration_seconds is not None else ""


def _step_phrases(run: RunRecord) -> list[list[str]]:
    """Each step with its duration (or ``cached``), and what broke: a name never apart from
    its duration."""
    steps = [
        f"{n} cached" if n in run.cached else f"{n} {d:.1f}s"
        for n, d in run.steps.items()
        if d is not None
    ]
    lines = [_comma_separated(steps)] if steps else []
    if run.failed:
        lines.append(["broke:", *_comma_separated(run.failed)])
    return lines


def _comma_separated(phrases: list[str]) -> list[str]:
    return [f"{phrase}," for phrase in phrases[:-1]] + phrases[-1:]


def _history_verdict(recorded: str) -> Text:
    """A run's outcome; an old record's status (``succeeded``) in the same words; a run going
    on now is ``running``."""
    if recorded == "running":
        return plain(recorded, "cyan")
    if recorded in STATUS_OUTCOMES:
        return verdict_text(STATUS_OUTCOMES[recorded])
    return plain(recorded, "bold red")


def _case_verdict(case: TestCaseResult) -> Text:
    if case.passed:
        return verdict_text(Outcome.PASSED, expected_failure=case.expected_to_fail)
    return verdict_text(Outcome.INTERRUPTED if case.interrupted else Outcome.FAILED)
