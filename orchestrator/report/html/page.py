"""The HTML report of a run: one self-contained page rendered from a ``Report`` alone.

Nothing is fetched when the page is viewed: styles, pictures (inline SVG) and the one small
script are in the page, and its Content-Security-Policy forbids loading anything else. Every
text that comes from a run (step names, log lines, column names, values) is escaped.

    header                the command, its outcome, exit code, duration, when, cit version
    pipeline suite        the DAG coloured by status, the tests, the data that flowed along each
                          edge and its issues, then per step: status, timing, exit code, log,
                          each output's captured schema and first rows, metrics
    script suite          per test case: outcome, failures (with the rows behind a data-quality
                          failure), warnings, metrics against the thresholds they missed, log

Stable hooks for tools and tests: ``data-step`` / ``data-case`` / ``data-status`` /
``data-outcome`` attributes, ``tone-*`` colour classes (ok, bad, skip, warn, pend), and
``id="outcome"`` / ``id="exit-code"`` in the header.

The parts it is made of: ``html_dag`` (the DAG), ``html_charts`` (metric, drift and distribution
charts), ``html_assets`` (style, script, CSP) and ``html_text`` (escaping and formatting).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...data.profiles import DatasetProfile, OutputProfile, describe_profile
from ...data.schemas import DataSchema
from ...dataflow.edges import EdgeResult
from ...dataflow.expectation_results import ExpectationResult, MetricResult, OutputResult
from ...issues import Issue
from ...run.results import OutputSummary, RunResult, Status, StepResult
from ...scripttest.case_checks import Failure, TestCaseResult, find_metric
from ...scripttest.on_s3 import InputCheck
from ...sizes import human_size
from ...verdict import outcome_word
from ..model import Outcome, Report, Suite, TestItem
from .assets import CSP, CSS, SCRIPT
from .charts import (
    Bound,
    distribution_plot,
    drift_plot,
    expected_bounds,
    metric_bounds,
    metrics_plot,
    without_plots,
)
from .dag import dag_svg
from .text import OUTCOME_TONE, STATUS_TONE, attributes, duration, esc, is_number, number, open_tag

CELL_CHARS = 120
"""Longer values are cut in a table cell; the whole value is in its tooltip."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def render_html(report: Report, *, plots: bool = True) -> str:
    """The whole HTML document of ``report``; without ``plots`` (``reporting.include_plots:
    false``) the charts are left out, the tables stay."""
    ids = _Ids()
    title = f"cit {report.cit_report}: {report.outcome.value}"
    suites = [_suite(suite, index, ids) for index, suite in enumerate(report.suites)]
    if not plots:
        suites = [without_plots(suite) for suite in suites]
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en" data-outcome="{esc(report.outcome.value)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f'<meta name="cit-report" content="{esc(report.cit_report)}">\n'
        f'<meta name="generator" content="cit {esc(report.cit_version)}">\n'
        f"<title>{esc(title)}</title>\n"
        f"<script>{SCRIPT}</script>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{_header(report)}{_contents(report.suites)}<main>\n{''.join(suites)}</main>\n"
        "</body>\n</html>\n"
    )


# -- text -------------------------------------------------------------------------------------


def _when(created_at: str) -> str:
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError:
        return created_at
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _cell(value: Any) -> str:
    """A value in a table cell: null marked, numbers shortened, long text cut."""
    if value is None:
        return '<span class="null">null</span>'
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return esc(number(value))
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= CELL_CHARS:
        return esc(text)
    return f"<span{attributes(title=text)}>{esc(text[: CELL_CHARS - 1])}…</span>"


class _Ids:
    """Unique, readable element ids: ``s0-step-evaluate``."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def make(self, *parts: str) -> str:
        slug = "-".join(re.sub(r"[^A-Za-z0-9_]+", "-", p).strip("-")[:40] or "x" for p in parts)
        found, number = slug, 1
        while found in self._taken:
            number += 1
            found = f"{slug}-{number}"
        self._taken.add(found)
        return found


# -- building blocks --------------------------------------------------------------------------


def _badge(text: str, tone: str) -> str:
    return f'<span class="badge tone-{tone}">{esc(text)}</span>'


def _facts(pairs: Iterable[tuple[str, str | None]]) -> str:
    """A definition list of (label, HTML) pairs; pairs without a value are left out."""
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in pairs if v)
    return f'<dl class="facts">{rows}</dl>\n' if rows else ""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], class_: str, **attrs: object) -> str:
    """A table whose cells are HTML already; it scrolls sideways in a narrow window."""
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>\n" for row in rows)
    return (
        f'<div class="scroll"><table{attributes(class_=class_, **attrs)}>'
        f"<thead><tr>{header}</tr></thead>\n<tbody>\n{body}</tbody></table></div>\n"
    )


def _log(lines: Sequence[str], *, open_: bool, where: str | None = None) -> str:
    if not lines:
        return ""
    text = "\n".join(_ANSI.sub("", line) for line in lines)
    source = f" of {esc(where)}" if where else ""
    return (
        f'<details class="log"{" open" if open_ else ""}><summary>log: last {len(lines)} '
        f"line{'s' if len(lines) != 1 else ''}{source}</summary>"
        f'<pre class="log-tail">{esc(text)}</pre></details>\n'
    )


def _issues(issues: Sequence[Issue]) -> str:
    if not issues:
        return '<span class="none">none</span>'
    items = "".join(
        f'<li class="sev-{esc(i.severity.value)}"><b>{esc(i.severity.value)}</b> '
        f"[{esc(i.rule)}] {esc(i.description)}"
        + (f' <span class="fix">fix: {esc(i.hint)}</span>' if i.hint else "")
        + "</li>"
        for i in issues
    )
    return f'<ul class="issues">{items}</ul>'


def _issue_table(issues: Sequence[Issue]) -> str:
    rows = [
        [
            f'<span class="sev-{esc(i.severity.value)}">{esc(i.severity.value)}</span>',
            esc(i.edge or i.step or ""),
            esc(i.rule),
            esc(i.description),
            esc(i.hint or ""),
        ]
        for i in issues
    ]
    return _table(["severity", "where", "rule", "issue", "fix"], rows, "issue-table")


def _status_text(status: Status) -> str:
    return f'<span class="tone-text-{STATUS_TONE[status]}">{esc(status.value)}</span>'


def _exit_code(step: StepResult) -> str:
    return "—" if step.exit_code is None else str(step.exit_code)


def _schema_name(schema: DataSchema | None) -> str:
    if schema is None:
        return '<span class="none">none</span>'
    if schema.source is None:
        return "inline schema"
    return f"<span{attributes(title=schema.source)}>{esc(Path(schema.source).name)}</span>"


# -- header -----------------------------------------------------------------------------------


def _header(report: Report) -> str:
    tone = OUTCOME_TONE[report.outcome]
    counts = _counts(report.tests)
    facts = _facts(
        [
            ("command", f"<code>cit {esc(report.cit_report)}</code>"),
            (
                "outcome",
                f'<span id="outcome" class="tone-text-{tone}">{esc(report.outcome)}</span>',
            ),
            ("exit code", f'<span id="exit-code">{report.exit_code}</span>'),
            ("duration", esc(duration(report.duration_seconds))),
            ("created", esc(_when(report.created_at))),
            ("cit version", esc(report.cit_version)),
            ("tests", counts),
        ]
    )
    return (
        f'<header class="report-head tone-{tone}">\n'
        f"<h1>cit {esc(report.cit_report)} {_badge(report.outcome.value, tone)}</h1>\n"
        f"{facts}</header>\n"
    )


def _counts(tests: Sequence[TestItem]) -> str:
    parts = []
    for outcome in Outcome:
        count = sum(t.outcome is outcome for t in tests)
        if count:
            parts.append(
                f'<span class="tone-text-{OUTCOME_TONE[outcome]}">{count} {outcome}</span>'
            )
    return ", ".join(parts) or "none"


def _contents(suites: Sequence[Suite]) -> str:
    if len(suites) < 2:
        return ""
    items = "".join(
        f'<li><a href="#s{i}">{esc(s.kind)} {esc(s.name)}</a> '
        f"{_badge(s.outcome.value, OUTCOME_TONE[s.outcome])}</li>"
        for i, s in enumerate(suites)
    )
    return f'<nav class="contents"><h2>Suites</h2><ul>{items}</ul></nav>\n'


# -- suites -----------------------------------------------------------------------------------


def _suite(suite: Suite, index: int, ids: _Ids) -> str:
    tone = OUTCOME_TONE[suite.outcome]
    body = _pipeline(suite, index, ids) if suite.kind == "pipeline" else _script(suite, index, ids)
    section = open_tag(
        "section",
        class_=f"suite {suite.kind}",
        id=f"s{index}",
        data_suite=suite.name,
        data_outcome=suite.outcome.value,
    )
    return (
        f"{section}\n"
        f"<h2>{esc(suite.kind)} {esc(suite.name)} {_badge(suite.outcome.value, tone)}</h2>\n"
        f"{body}</section>\n"
    )


def _tests_table(tests: Sequence[TestItem], anchors: Mapping[tuple[str, str], str]) -> str:
    if not tests:
        return ""
    rows = []
    for test in tests:
        anchor = anchors.get((test.kind, test.name))
        name = f'<a href="#{anchor}">{esc(test.name)}</a>' if anchor else esc(test.name)
        rows.append(
            [
                name,
                esc(test.kind),
                _badge(_word(test), OUTCOME_TONE[test.outcome]),
                esc(duration(test.duration_seconds)),
                _test_message(test),
            ]
        )
    table = _table(["test", "kind", "outcome", "duration", "message"], rows, "tests")
    return f"<h3>Tests</h3>\n{table}"


def _word(test: TestItem) -> str:
    return outcome_word(test.outcome, expected_failure=test.expected_failure)


def _failing(suite: Suite, anchors: Mapping[tuple[str, str], str]) -> str | None:
    """Links to the steps or cases that failed, erred or were interrupted."""
    links = [
        f'<a href="#{anchors[(t.kind, t.name)]}" class="tone-text-{OUTCOME_TONE[t.outcome]}">'
        f"{esc(t.name)}</a>"
        for t in suite.tests
        if t.outcome not in (Outcome.PASSED, Outcome.SKIPPED) and (t.kind, t.name) in anchors
    ]
    return ", ".join(links) or None


def _test_message(test: TestItem) -> str:
    if len(test.details) < 2:
        return esc(test.message or (test.details[0] if test.details else ""))
    lines = "".join(f"<li>{esc(line)}</li>" for line in test.details)
    summary = esc(test.message or test.details[0])
    return f"<details><summary>{summary}</summary><ul>{lines}</ul></details>"


# -- pipelines --------------------------------------------------------------------------------


def _pipeline(suite: Suite, index: int, ids: _Ids) -> str:
    run = suite.run
    anchors = (
        {("step", s.name): ids.make(f"s{index}", "step", s.name) for s in run.steps} if run else {}
    )
    parts = [_facts([*_pipeline_facts(suite, run), ("did not pass", _failing(suite, anchors))])]
    if run is not None and run.steps:
        parts.append(f"<h3>DAG</h3>\n{dag_svg(run.steps, suite.edges, anchors, f's{index}')}")
    parts.append(_tests_table(suite.tests, anchors))
    expected = [t.expectation for t in suite.tests if t.expectation is not None]
    if expected:
        parts.append(f"<h3>Expectations</h3>\n{_expectations_table(expected)}")
    if suite.edges:
        parts.append(f"<h3>Data flow</h3>\n{_edges_table(suite.edges)}")
    if suite.issues:
        parts.append(f"<h3>Output issues</h3>\n{_issue_table(suite.issues)}")
    if run is not None and run.steps:
        steps = [_step(s, suite, anchors[("step", s.name)]) for s in run.steps]
        parts.append("<h3>Steps</h3>\n" + "".join(steps))
    return "".join(parts)


def _quality(test: TestItem) -> str:
    """A data-quality check of an output: its verdict, every result, and what drift compared."""
    tone = "ok" if test.outcome is Outcome.PASSED else "bad"
    lines = "".join(f"<li>{esc(line)}</li>" for line in test.details)
    plots = "".join(distribution_plot(d) for d in test.distributions)
    return (
        f'<div class="quality tone-{tone}" data-check="{esc(test.name)}">'
        f"<h5>{esc(test.name)} {_badge(test.outcome.value, tone)}</h5>"
        f"<ul>{lines}</ul>{plots}</div>\n"
    )


def _expectations_table(results: Sequence[ExpectationResult]) -> str:
    """Each expectation on the pipeline's outputs: its bound, what the run showed, its verdict."""
    rows = [
        [
            esc(result.name),
            _badge(result.outcome, OUTCOME_TONE[Outcome(result.outcome)]),
            esc(_expected_text(result)),
            _actual_cell(result),
            esc(result.message),
        ]
        for result in results
    ]
    head = ["expectation", "outcome", "expected", "actual", "message"]
    return _table(head, rows, "expectations")


def _expected_text(result: ExpectationResult) -> str:
    if isinstance(result, MetricResult):
        return result.expected.describe()
    if isinstance(result, OutputResult):
        return f"output {result.expected}"
    params = ", ".join(f"{k}: {v}" for k, v in result.expected.items() if k != "check")
    return f"{result.output}: {result.expected.get('check')}" + (f" {{{params}}}" if params else "")


def _actual_cell(result: ExpectationResult) -> str:
    if isinstance(result, MetricResult):
        return _cell(result.actual) if result.outcome != "skipped" else ""
    if isinstance(result, OutputResult):
        return esc(", ".join(result.actual))
    if result.actual is None:
        return ""
    measured = ", ".join(
        f"{k} {number(v)}" for k, v in result.actual.measured.items() if v is not None
    )
    return esc(measured or result.actual.message)


def _expectation_bounds(
    tests: Sequence[TestItem], step: str, metrics: Mapping[str, Any]
) -> tuple[dict[str, list[Bound]], set[str]]:
    """The metric bounds the pipeline expects of ``step`` whose values its metrics show (by
    name there), and the names of those missed."""
    bounds: dict[str, list[Bound]] = {}
    missed: set[str] = set()
    for test in tests:
        result = test.expectation
        if not isinstance(result, MetricResult) or result.step != step:
            continue
        found = find_metric(metrics, result.expected.metric)
        if len(found) != 1 or metrics[found[0]] != result.actual:
            continue
        bounds.setdefault(found[0], []).append(Bound.of(result.expected))
        if result.outcome == "failed":
            missed.add(found[0])
    return bounds, missed


def _pipeline_facts(suite: Suite, run: RunResult | None) -> list[tuple[str, str | None]]:
    return [
        ("pipeline file", esc(suite.file) if suite.file else None),
        ("run id", esc(run.run_id) if run else None),
        ("run directory", esc(suite.run_dir) if suite.run_dir else None),
        ("run status", esc(run.status.value) if run else None),
        ("duration", esc(duration(suite.duration_seconds))),
    ]


def _edges_table(edges: Sequence[EdgeResult]) -> str:
    rows = [
        [
            esc(edge.edge),
            esc(describe_profile(edge.captured)).replace("\n", "<br>"),
            _schema_name(edge.expected),
            _status_text(edge.consumer_status),
            _issues(edge.issues),
        ]
        for edge in edges
    ]
    return _table(
        ["edge", "data that flowed", "expected schema", "consumer", "issues"], rows, "edges"
    )


def _step(step: StepResult, suite: Suite, anchor: str) -> str:
    tone = STATUS_TONE[step.status]
    facts = _facts(
        [
            ("kind", esc(step.kind)),
            ("status", f'<span class="status tone-text-{tone}">{esc(step.status)}</span>'),
            (
                "cached",
                f'<span class="cached-from">not run: outputs of run {esc(step.cached_from)}'
                "</span>"
                if step.cached_from
                else None,
            ),
            ("exit code", f'<span class="exit-code">{esc(_exit_code(step))}</span>'),
            ("duration", esc(duration(step.duration_seconds))),
            ("started", esc(_epoch(step.started_at)) if step.started_at else None),
            ("reason", esc(step.reason) if step.reason else None),
            ("message", esc(step.message) if step.message else None),
            ("hint", "<br>".join(esc(h) for h in step.hints) if step.hints else None),
            ("upstream", esc(", ".join(step.upstream)) if step.upstream else None),
            ("image", esc(step.image) if step.image else None),
            (
                "SageMaker image",
                f"{esc(step.sagemaker_image)} \u2192 {esc(step.image or '')}"
                if step.sagemaker_image
                else None,
            ),
            ("log file", esc(step.log_file) if step.log_file else None),
        ]
    )
    samples = suite.samples.get(step.name, {})
    outputs = "".join(_output(o, samples.get(o.name, [])) for o in step.outputs)
    written = suite.metrics.get(step.name, {})
    metrics = _metrics(written, *_expectation_bounds(suite.tests, step.name, written))
    found = [
        i
        for i in [*(i for e in suite.edges for i in e.issues), *suite.issues]
        if i.step == step.name
    ]
    issues = f"<h5>Issues</h5>\n{_issue_table(found)}" if found else ""
    checks = [t for t in suite.tests if t.kind == "quality" and t.classname == step.name]
    quality = "<h5>Data quality</h5>\n" + "".join(_quality(t) for t in checks) if checks else ""
    section = open_tag(
        "section",
        class_=f"step tone-{tone}",
        id=anchor,
        data_step=step.name,
        data_status=step.status.value,
        data_cached_from=step.cached_from,
    )
    badge = _badge("cached", tone) if step.cached_from else _badge(step.status.value, tone)
    return (
        f"{section}\n<h4>{esc(step.name)} {badge}</h4>\n{facts}"
        f"{_log(step.log_tail, open_=tone in ('bad', 'warn'), where=step.name)}"
        + issues
        + (f'<div class="outputs">{outputs}</div>\n' if outputs else "")
        + quality
        + metrics
        + "</section>\n"
    )


def _epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _output(output: OutputSummary, sample: list[dict[str, Any]]) -> str:
    files = "1 file" if output.files == 1 else f"{output.files} files"
    profile = output.profile
    described = describe_profile(profile).replace("\n", "; ")
    body = _facts(
        [
            ("folder", esc(output.path)),
            ("captured schema", esc(output.schema_file) if output.schema_file else None),
            ("layout", esc(", ".join(profile.layout)) if profile and profile.layout else None),
        ]
    )
    if profile is not None:
        body += "".join(_dataset(d) for d in profile.datasets) + _artifacts(profile)
    if sample:
        body += f"<h6>First {len(sample)} rows</h6>\n{_rows_table(sample, 'sample')}"
    return (
        f"<details{attributes(class_='output', data_output=output.name)}><summary>output "
        f"<b>{esc(output.name)}</b>: {files}, {human_size(output.bytes)} · {esc(described)}"
        "</summary>\n"
        f"{body}</details>\n"
    )


def _dataset(dataset: DatasetProfile) -> str:
    where = f"{dataset.path}/" if dataset.path else "the output folder"
    rows = "?" if dataset.rows is None else f"{'' if dataset.rows_exact else '~'}{dataset.rows}"
    fmt = f"{dataset.format}.{dataset.compression}" if dataset.compression else dataset.format
    title = (
        f"{where}: {fmt}, {rows} rows, {len(dataset.columns)} columns, {human_size(dataset.bytes)}"
    )
    if dataset.error:
        return f'<h6>{esc(title)}</h6>\n<p class="sev-error">{esc(dataset.error)}</p>\n'
    columns = [
        [
            esc(c.name),
            f"<code>{esc(c.type)}</code>",
            "yes" if c.nullable else "no",
            _cell(c.null_count),
            _cell(c.min),
            _cell(c.max),
        ]
        for c in dataset.columns
    ]
    head = ["column", "type", "nullable", "nulls", "min", "max"]
    return f"<h6>{esc(title)}</h6>\n{_table(head, columns, 'schema', data_dataset=dataset.path)}"


def _artifacts(profile: OutputProfile) -> str:
    if not profile.artifacts:
        return ""
    rows = [
        [
            esc(a.path),
            esc(a.kind),
            esc(human_size(a.bytes)),
            f"<code>{esc(a.sha256[:12])}</code>",
        ]
        for a in profile.artifacts
    ]
    return "<h6>Artifacts</h6>\n" + _table(["file", "kind", "size", "sha256"], rows, "artifacts")


def _rows_table(rows: Sequence[Mapping[str, Any]], class_: str) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    return _table(columns, cells, class_)


# -- scripts ----------------------------------------------------------------------------------


def _script(suite: Suite, index: int, ids: _Ids) -> str:
    anchors = {("case", c.name): ids.make(f"s{index}", "case", c.name) for c in suite.cases}
    items = {t.name: t for t in suite.tests if t.kind == "case"}
    parts = [
        _facts(
            [
                ("script file", esc(suite.file) if suite.file else None),
                ("run directory", esc(suite.run_dir) if suite.run_dir else None),
                ("duration", esc(duration(suite.duration_seconds))),
                ("cases", str(len(suite.cases))),
                ("did not pass", _failing(suite, anchors)),
            ]
        ),
        _tests_table(suite.tests, anchors),
    ]
    if suite.inputs:
        parts.append(f"<h3>Inputs</h3>\n{_inputs_table(suite.inputs)}")
    if suite.cases:
        cases = [
            _case(c, items.get(c.name), suite.metrics.get(c.name, {}), anchors[("case", c.name)])
            for c in suite.cases
        ]
        parts.append("<h3>Test cases</h3>\n" + "".join(cases))
    return "".join(parts)


def _inputs_table(inputs: Sequence[InputCheck]) -> str:
    rows = [
        [
            esc(check.source),
            esc(check.channel),
            esc(describe_profile(check.captured)).replace("\n", "<br>"),
            _schema_name(check.expected),
            _issues(check.issues),
        ]
        for check in inputs
    ]
    return _table(["source", "channel", "data", "expected schema", "issues"], rows, "inputs")


def _case_outcome(case: TestCaseResult, item: TestItem | None) -> Outcome:
    if item is not None:
        return item.outcome
    return Outcome.PASSED if case.passed else Outcome.FAILED


def _case(
    case: TestCaseResult, item: TestItem | None, metrics: Mapping[str, Any], anchor: str
) -> str:
    outcome = _case_outcome(case, item)
    tone = OUTCOME_TONE[outcome]
    word = outcome_word(outcome, expected_failure=case.expected_to_fail)
    facts = _facts(
        [
            ("outcome", f'<span class="tone-text-{tone}">{esc(word)}</span>'),
            ("duration", esc(duration(case.duration_seconds))),
            ("isolation", esc(case.isolation)),
            (
                "quality checks run",
                str(case.quality_checks_run) if case.quality_checks_run else None,
            ),
            ("run directory", esc(case.run_dir) if case.run_dir else None),
            (
                "error",
                esc(case.error_message) if case.error_message and not case.failures else None,
            ),
        ]
    )
    missed = metric_bounds(case.failures, metrics)
    bounds = {**expected_bounds(case.metric_expectations, metrics), **missed}
    parts = [facts]
    if case.failures:
        parts.append("<h5>Failures</h5>\n" + _failures(case.failures, "failures"))
    if case.warnings:
        parts.append("<h5>Warnings</h5>\n" + _failures(case.warnings, "warnings"))
    behind = _samples_of(case.failures + case.warnings)
    behind += [plot for f in case.failures + case.warnings if (plot := drift_plot(f))]
    if behind:
        parts.append("<h5>Data quality</h5>\n" + "".join(behind))
    parts.append(_metrics(metrics, bounds, set(missed)))
    parts.append(
        _log(item.log_tail if item else [], open_=tone in ("bad", "warn"), where=case.name)
    )
    section = open_tag(
        "section",
        class_=f"case tone-{tone}",
        id=anchor,
        data_case=case.name,
        data_outcome=outcome.value,
    )
    return (
        f"{section}\n<h4>{esc(case.name)} {_badge(outcome.value, tone)}</h4>\n"
        + "".join(parts)
        + "</section>\n"
    )


def _failures(failures: Sequence[Failure], class_: str) -> str:
    rows = [
        [
            f'<span class="kind">{esc(f.kind)}</span>',
            esc(f.expectation),
            _cell(f.actual) if f.actual is not None else "",
            esc(f.message),
        ]
        for f in failures
    ]
    return _table(["kind", "expectation", "actual", "message"], rows, class_)


def _samples_of(failures: Sequence[Failure]) -> list[str]:
    return [
        f'<details class="failing-rows" open><summary>{len(f.sample)} of the rows behind '
        f"<b>{esc(f.expectation)}</b></summary>\n"
        f"{_rows_table(f.sample, 'sample failing')}</details>\n"
        for f in failures
        if f.sample
    ]


# -- metrics ----------------------------------------------------------------------------------


def _thresholds(bounds: Sequence[Bound], missed: bool) -> str:
    text = ", ".join(str(b) for b in bounds)
    return f"{text} (missed)" if text and missed else text


def _metrics(
    metrics: Mapping[str, Any], bounds: Mapping[str, list[Bound]], missed: set[str]
) -> str:
    """The metrics as a chart (numbers, against thresholds) and as a table (everything)."""
    if not metrics:
        return ""
    rows = [
        [
            esc(name),
            _cell(value),
            esc(_thresholds(bounds.get(name, []), name in missed)),
        ]
        for name, value in metrics.items()
    ]
    table = _table(["metric", "value", "threshold"], rows, "metrics")
    plot = metrics_plot(metrics, bounds, missed)
    charts = f'<div class="charts">{plot}</div>' if plot else ""
    return f'<h5>Metrics</h5>\n<div class="metrics-block">{charts}{table}</div>\n'
