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
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from .console import human_size
from .expectations import Failure, TestCaseResult
from .flow import EdgeResult
from .issue_console import describe_profile
from .issues import Issue
from .profiles import DatasetProfile, Distribution, OutputProfile
from .report_model import Outcome, Report, Suite, TestItem
from .results import OutputSummary, RunResult, Status, StepResult
from .s3_test import InputCheck
from .schemas import DataSchema

STATUS_TONE = {
    Status.SUCCEEDED: "ok",
    Status.FAILED: "bad",
    Status.TIMEOUT: "bad",
    Status.OOM: "bad",
    Status.ERROR: "bad",
    Status.SKIPPED: "skip",
    Status.INTERRUPTED: "warn",
    Status.RUNNING: "warn",
    Status.PENDING: "pend",
}
OUTCOME_TONE = {
    Outcome.PASSED: "ok",
    Outcome.FAILED: "bad",
    Outcome.ERROR: "bad",
    Outcome.SKIPPED: "skip",
    Outcome.INTERRUPTED: "warn",
}
CELL_CHARS = 120
"""Longer values are cut in a table cell; the whole value is in its tooltip."""
MAX_BARS = 40
"""Numeric metrics drawn per chart; the table lists them all."""

_NOT_HTML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_BOUND = re.compile(rf"^(?P<metric>.+?)\s+(?P<op>>=|<=|==|>|<)\s+(?P<value>{_NUMBER})$")
_BETWEEN = re.compile(
    rf"^(?P<metric>.+?)\s+between\s+(?P<low>{_NUMBER})\s+and\s+(?P<high>{_NUMBER})$"
)
_DRIFT = re.compile(
    rf"\b(?P<stat>psi|ks) (?P<value>{_NUMBER}) (?:>|<=) (?P=stat)_max (?P<limit>{_NUMBER})"
)


_PLOT = re.compile(r'<figure class="plot">.*?</figure>\n?', re.DOTALL)


def render_html(report: Report, *, plots: bool = True) -> str:
    """The whole HTML document of ``report``; without ``plots`` (``reporting.include_plots:
    false``) the charts are left out, the tables stay."""
    ids = _Ids()
    title = f"cit {report.cit_report}: {report.outcome.value}"
    suites = [_suite(suite, index, ids) for index, suite in enumerate(report.suites)]
    if not plots:
        suites = [_PLOT.sub("", suite) for suite in suites]
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en" data-outcome="{_esc(report.outcome.value)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f'<meta name="cit-report" content="{_esc(report.cit_report)}">\n'
        f'<meta name="generator" content="cit {_esc(report.cit_version)}">\n'
        f"<title>{_esc(title)}</title>\n"
        f"<script>{_SCRIPT}</script>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{_header(report)}{_contents(report.suites)}<main>\n{''.join(suites)}</main>\n"
        "</body>\n</html>\n"
    )


# -- text -------------------------------------------------------------------------------------


def _esc(value: object) -> str:
    """``value`` as HTML text or attribute value; characters HTML cannot hold become U+FFFD."""
    return escape(_NOT_HTML.sub("\ufffd", str(value)), quote=True)


def _open(tag: str, **attrs: object) -> str:
    """An opening tag with escaped attributes."""
    return f"<{tag}{_attrs(**attrs)}>"


def _attrs(**values: object) -> str:
    """HTML attributes; a trailing underscore is dropped (``class_``), ``_`` in names is ``-``."""
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{_esc(value)}"'
        for name, value in values.items()
        if value is not None
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s"


def _when(created_at: str) -> str:
    try:
        moment = datetime.fromisoformat(created_at)
    except ValueError:
        return created_at
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _cell(value: Any) -> str:
    """A value in a table cell: null marked, numbers shortened, long text cut."""
    if value is None:
        return '<span class="null">null</span>'
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return _esc(_number(value))
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= CELL_CHARS:
        return _esc(text)
    return f"<span{_attrs(title=text)}>{_esc(text[: CELL_CHARS - 1])}…</span>"


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _cut_left(text: str, chars: int) -> str:
    """The end of ``text``: the end of a dotted metric name tells it apart."""
    return text if len(text) <= chars else "…" + text[1 - chars :]


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
    return f'<span class="badge tone-{tone}">{_esc(text)}</span>'


def _facts(pairs: Iterable[tuple[str, str | None]]) -> str:
    """A definition list of (label, HTML) pairs; pairs without a value are left out."""
    rows = "".join(f"<dt>{_esc(k)}</dt><dd>{v}</dd>" for k, v in pairs if v)
    return f'<dl class="facts">{rows}</dl>\n' if rows else ""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], class_: str, **attrs: object) -> str:
    """A table whose cells are HTML already; it scrolls sideways in a narrow window."""
    header = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>\n" for row in rows)
    return (
        f'<div class="scroll"><table{_attrs(class_=class_, **attrs)}>'
        f"<thead><tr>{header}</tr></thead>\n<tbody>\n{body}</tbody></table></div>\n"
    )


def _log(lines: Sequence[str], *, open_: bool, where: str | None = None) -> str:
    if not lines:
        return ""
    text = "\n".join(_ANSI.sub("", line) for line in lines)
    source = f" of {_esc(where)}" if where else ""
    return (
        f'<details class="log"{" open" if open_ else ""}><summary>log: last {len(lines)} '
        f"line{'s' if len(lines) != 1 else ''}{source}</summary>"
        f'<pre class="log-tail">{_esc(text)}</pre></details>\n'
    )


def _issues(issues: Sequence[Issue]) -> str:
    if not issues:
        return '<span class="none">none</span>'
    items = "".join(
        f'<li class="sev-{_esc(i.severity.value)}"><b>{_esc(i.severity.value)}</b> '
        f"[{_esc(i.rule)}] {_esc(i.description)}"
        + (f' <span class="fix">fix: {_esc(i.hint)}</span>' if i.hint else "")
        + "</li>"
        for i in issues
    )
    return f'<ul class="issues">{items}</ul>'


def _issue_table(issues: Sequence[Issue]) -> str:
    rows = [
        [
            f'<span class="sev-{_esc(i.severity.value)}">{_esc(i.severity.value)}</span>',
            _esc(i.edge or i.step or ""),
            _esc(i.rule),
            _esc(i.description),
            _esc(i.hint or ""),
        ]
        for i in issues
    ]
    return _table(["severity", "where", "rule", "issue", "fix"], rows, "issue-table")


def _status_text(status: Status) -> str:
    return f'<span class="tone-text-{STATUS_TONE[status]}">{_esc(status.value)}</span>'


def _exit_code(step: StepResult) -> str:
    return "—" if step.exit_code is None else str(step.exit_code)


def _schema_name(schema: DataSchema | None) -> str:
    if schema is None:
        return '<span class="none">none</span>'
    if schema.source is None:
        return "inline schema"
    return f"<span{_attrs(title=schema.source)}>{_esc(Path(schema.source).name)}</span>"


# -- header -----------------------------------------------------------------------------------


def _header(report: Report) -> str:
    tone = OUTCOME_TONE[report.outcome]
    counts = _counts(report.tests)
    facts = _facts(
        [
            ("command", f"<code>cit {_esc(report.cit_report)}</code>"),
            (
                "outcome",
                f'<span id="outcome" class="tone-text-{tone}">{_esc(report.outcome)}</span>',
            ),
            ("exit code", f'<span id="exit-code">{report.exit_code}</span>'),
            ("duration", _esc(_seconds(report.duration_seconds))),
            ("created", _esc(_when(report.created_at))),
            ("cit version", _esc(report.cit_version)),
            ("tests", counts),
        ]
    )
    return (
        f'<header class="report-head tone-{tone}">\n'
        f"<h1>cit {_esc(report.cit_report)} {_badge(report.outcome.value, tone)}</h1>\n"
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
        f'<li><a href="#s{i}">{_esc(s.kind)} {_esc(s.name)}</a> '
        f"{_badge(s.outcome.value, OUTCOME_TONE[s.outcome])}</li>"
        for i, s in enumerate(suites)
    )
    return f'<nav class="contents"><h2>Suites</h2><ul>{items}</ul></nav>\n'


# -- suites -----------------------------------------------------------------------------------


def _suite(suite: Suite, index: int, ids: _Ids) -> str:
    tone = OUTCOME_TONE[suite.outcome]
    body = _pipeline(suite, index, ids) if suite.kind == "pipeline" else _script(suite, index, ids)
    section = _open(
        "section",
        class_=f"suite {suite.kind}",
        id=f"s{index}",
        data_suite=suite.name,
        data_outcome=suite.outcome.value,
    )
    return (
        f"{section}\n"
        f"<h2>{_esc(suite.kind)} {_esc(suite.name)} {_badge(suite.outcome.value, tone)}</h2>\n"
        f"{body}</section>\n"
    )


def _tests_table(tests: Sequence[TestItem], anchors: Mapping[tuple[str, str], str]) -> str:
    if not tests:
        return ""
    rows = []
    for test in tests:
        anchor = anchors.get((test.kind, test.name))
        name = f'<a href="#{anchor}">{_esc(test.name)}</a>' if anchor else _esc(test.name)
        rows.append(
            [
                name,
                _esc(test.kind),
                _badge(test.outcome.value, OUTCOME_TONE[test.outcome]),
                _esc(_seconds(test.duration_seconds)),
                _test_message(test),
            ]
        )
    table = _table(["test", "kind", "outcome", "duration", "message"], rows, "tests")
    return f"<h3>Tests</h3>\n{table}"


def _failing(suite: Suite, anchors: Mapping[tuple[str, str], str]) -> str | None:
    """Links to the steps or cases that failed, erred or were interrupted."""
    links = [
        f'<a href="#{anchors[(t.kind, t.name)]}" class="tone-text-{OUTCOME_TONE[t.outcome]}">'
        f"{_esc(t.name)}</a>"
        for t in suite.tests
        if t.outcome not in (Outcome.PASSED, Outcome.SKIPPED) and (t.kind, t.name) in anchors
    ]
    return ", ".join(links) or None


def _test_message(test: TestItem) -> str:
    if len(test.details) < 2:
        return _esc(test.message or (test.details[0] if test.details else ""))
    lines = "".join(f"<li>{_esc(line)}</li>" for line in test.details)
    summary = _esc(test.message or test.details[0])
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
    lines = "".join(f"<li>{_esc(line)}</li>" for line in test.details)
    plots = "".join(distribution_plot(d) for d in test.distributions)
    return (
        f'<div class="quality tone-{tone}" data-check="{_esc(test.name)}">'
        f"<h5>{_esc(test.name)} {_badge(test.outcome.value, tone)}</h5>"
        f"<ul>{lines}</ul>{plots}</div>\n"
    )


def _pipeline_facts(suite: Suite, run: RunResult | None) -> list[tuple[str, str | None]]:
    return [
        ("pipeline file", _esc(suite.file) if suite.file else None),
        ("run id", _esc(run.run_id) if run else None),
        ("run directory", _esc(suite.run_dir) if suite.run_dir else None),
        ("run status", _esc(run.status.value) if run else None),
        ("duration", _esc(_seconds(suite.duration_seconds))),
    ]


def _edges_table(edges: Sequence[EdgeResult]) -> str:
    rows = [
        [
            _esc(edge.edge),
            _esc(describe_profile(edge.captured)).replace("\n", "<br>"),
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
            ("kind", _esc(step.kind)),
            ("status", f'<span class="status tone-text-{tone}">{_esc(step.status)}</span>'),
            ("exit code", f'<span class="exit-code">{_esc(_exit_code(step))}</span>'),
            ("duration", _esc(_seconds(step.duration_seconds))),
            ("started", _esc(_epoch(step.started_at)) if step.started_at else None),
            ("reason", _esc(step.reason) if step.reason else None),
            ("message", _esc(step.message) if step.message else None),
            ("upstream", _esc(", ".join(step.upstream)) if step.upstream else None),
            ("image", _esc(step.image) if step.image else None),
            ("log file", _esc(step.log_file) if step.log_file else None),
        ]
    )
    samples = suite.samples.get(step.name, {})
    outputs = "".join(_output(o, samples.get(o.name, [])) for o in step.outputs)
    metrics = _metrics(suite.metrics.get(step.name, {}), {}, set())
    found = [
        i
        for i in [*(i for e in suite.edges for i in e.issues), *suite.issues]
        if i.step == step.name
    ]
    issues = f"<h5>Issues</h5>\n{_issue_table(found)}" if found else ""
    checks = [t for t in suite.tests if t.kind == "quality" and t.classname == step.name]
    quality = "<h5>Data quality</h5>\n" + "".join(_quality(t) for t in checks) if checks else ""
    section = _open(
        "section",
        class_=f"step tone-{tone}",
        id=anchor,
        data_step=step.name,
        data_status=step.status.value,
    )
    return (
        f"{section}\n<h4>{_esc(step.name)} {_badge(step.status.value, tone)}</h4>\n{facts}"
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
            ("folder", _esc(output.path)),
            ("captured schema", _esc(output.schema_file) if output.schema_file else None),
            ("layout", _esc(", ".join(profile.layout)) if profile and profile.layout else None),
        ]
    )
    if profile is not None:
        body += "".join(_dataset(d) for d in profile.datasets) + _artifacts(profile)
    if sample:
        body += f"<h6>First {len(sample)} rows</h6>\n{_rows_table(sample, 'sample')}"
    return (
        f"<details{_attrs(class_='output', data_output=output.name)}><summary>output "
        f"<b>{_esc(output.name)}</b>: {files}, {human_size(output.bytes)} · {_esc(described)}"
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
        return f'<h6>{_esc(title)}</h6>\n<p class="sev-error">{_esc(dataset.error)}</p>\n'
    columns = [
        [
            _esc(c.name),
            f"<code>{_esc(c.type)}</code>",
            "yes" if c.nullable else "no",
            _cell(c.null_count),
            _cell(c.min),
            _cell(c.max),
        ]
        for c in dataset.columns
    ]
    head = ["column", "type", "nullable", "nulls", "min", "max"]
    return f"<h6>{_esc(title)}</h6>\n{_table(head, columns, 'schema', data_dataset=dataset.path)}"


def _artifacts(profile: OutputProfile) -> str:
    if not profile.artifacts:
        return ""
    rows = [
        [
            _esc(a.path),
            _esc(a.kind),
            _esc(human_size(a.bytes)),
            f"<code>{_esc(a.sha256[:12])}</code>",
        ]
        for a in profile.artifacts
    ]
    return "<h6>Artifacts</h6>\n" + _table(["file", "kind", "size", "sha256"], rows, "artifacts")


def _rows_table(rows: Sequence[Mapping[str, Any]], class_: str) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    return _table(columns, cells, class_)


# -- the DAG ----------------------------------------------------------------------------------

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 168, 48, 56, 20, 16
NAME_CHARS = 22
SUB_CHARS = 30
"""What fits under a step's name in its box."""


def dag_levels(steps: Sequence[StepResult]) -> dict[str, int]:
    """Each step's depth: 0 without upstream steps, else one more than its deepest upstream
    step (a cycle, which a run cannot have, is cut where it closes)."""
    upstream = {s.name: list(s.upstream) for s in steps}
    levels: dict[str, int] = {}

    def level(name: str, seen: frozenset[str]) -> int:
        if name not in levels:
            parents = [u for u in upstream[name] if u in upstream and u not in seen]
            inner = seen | {name}
            levels[name] = 1 + max((level(u, inner) for u in parents), default=-1)
        return levels[name]

    for step in steps:
        level(step.name, frozenset())
    return levels


def _layout(steps: Sequence[StepResult]) -> dict[str, tuple[int, int]]:
    """(column, row) of each step: columns by depth, rows ordered by their upstream rows."""
    levels = dag_levels(steps)
    order = {s.name: i for i, s in enumerate(steps)}
    upstream = {s.name: s.upstream for s in steps}
    place: dict[str, tuple[int, int]] = {}
    for column in range(max(levels.values(), default=-1) + 1):
        names = [s.name for s in steps if levels[s.name] == column and s.name not in place]

        def key(name: str) -> tuple[float, int]:
            rows = [place[u][1] for u in upstream[name] if u in place]
            return (sum(rows) / len(rows) if rows else -1.0, order[name])

        for row, name in enumerate(sorted(names, key=key)):
            place[name] = (column, row)
    return place


def dag_svg(
    steps: Sequence[StepResult],
    edges: Sequence[EdgeResult],
    anchors: Mapping[tuple[str, str], str],
    prefix: str,
) -> str:
    """The steps as boxes coloured by status, laid out by depth, with arrows from each upstream
    step; each box links to the step's section."""
    place = _layout(steps)
    columns = 1 + max(c for c, _ in place.values())
    rows = 1 + max(r for _, r in place.values())
    width = 2 * PAD + columns * BOX_W + (columns - 1) * GAP_X
    height = 2 * PAD + rows * BOX_H + (rows - 1) * GAP_Y
    broken = {(e.producer, e.consumer) for e in edges if any(i.is_error for i in e.issues)}
    marker = f"{prefix}-arrow"
    arrows = "".join(
        _arrow(place[u], place[s.name], marker, (u, s.name) in broken)
        for s in steps
        for u in dict.fromkeys(s.upstream)
        if u in place
    )
    boxes = "".join(_box(s, place[s.name], anchors.get(("step", s.name))) for s in steps)
    return (
        f'<figure class="dag"><svg class="dag-svg" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'style="min-width:{min(width, 320)}px" aria-label="pipeline steps by status">'
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'class="arrow-head"/></marker></defs>{arrows}{boxes}</svg>'
        f"<figcaption>{_legend()}</figcaption></figure>\n"
    )


def _corner(cell: tuple[int, int]) -> tuple[int, int]:
    return PAD + cell[0] * (BOX_W + GAP_X), PAD + cell[1] * (BOX_H + GAP_Y)


def _arrow(start: tuple[int, int], end: tuple[int, int], marker: str, broken: bool) -> str:
    """A curve from the right of one box to the left of another; one that skips columns runs
    in the gap above the boxes instead of through the boxes between."""
    (left, top1), (right, top2) = _corner(start), _corner(end)
    x1, y1, x2, y2 = left + BOX_W, top1 + BOX_H // 2, right - 2, top2 + BOX_H // 2
    half = GAP_X // 2
    if end[0] - start[0] <= 1:
        bend = max(half, (x2 - x1) // 2)
        path = f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"
    else:
        lane = min(top1, top2) - GAP_Y // 2
        path = (
            f"M{x1},{y1} C{x1 + half},{y1} {x1 + half},{lane} {x1 + GAP_X},{lane} "
            f"L{x2 - GAP_X},{lane} C{x2 - half},{lane} {x2 - half},{y2} {x2},{y2}"
        )
    return (
        f'<path class="dag-edge{" broken" if broken else ""}" d="{path}" '
        f'marker-end="url(#{marker})"/>'
    )


def _box(step: StepResult, cell: tuple[int, int], anchor: str | None) -> str:
    x, y = _corner(cell)
    tone = STATUS_TONE[step.status]
    sub = [step.status.value]
    if step.exit_code not in (None, 0):
        sub.append(f"exit {step.exit_code}")
    if step.duration_seconds is not None and len(" · ".join(sub)) < SUB_CHARS - 10:
        sub.append(_seconds(step.duration_seconds))
    tip = f"{step.name}: {', '.join(sub)}" + (f" ({step.reason})" if step.reason else "")
    group = _open(
        "g", class_=f"dag-node status-{step.status.value} tone-{tone}", data_step=step.name
    )
    box = (
        f"{group}<title>{_esc(tip)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="7"/>'
        f'<text class="name" x="{x + 10}" y="{y + 20}">{_esc(_cut(step.name, NAME_CHARS))}</text>'
        f'<text class="sub" x="{x + 10}" y="{y + 38}">{_esc(" · ".join(sub))}</text></g>'
    )
    return f'<a href="#{_esc(anchor)}">{box}</a>' if anchor else box


def _legend() -> str:
    shown = [
        ("succeeded", "ok"),
        ("failed", "bad"),
        ("skipped", "skip"),
        ("interrupted", "warn"),
        ("pending", "pend"),
    ]
    return " ".join(f'<span class="key tone-{tone}">{name}</span>' for name, tone in shown)


# -- scripts ----------------------------------------------------------------------------------


def _script(suite: Suite, index: int, ids: _Ids) -> str:
    anchors = {("case", c.name): ids.make(f"s{index}", "case", c.name) for c in suite.cases}
    items = {t.name: t for t in suite.tests if t.kind == "case"}
    parts = [
        _facts(
            [
                ("script file", _esc(suite.file) if suite.file else None),
                ("run directory", _esc(suite.run_dir) if suite.run_dir else None),
                ("duration", _esc(_seconds(suite.duration_seconds))),
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
            _esc(check.source),
            _esc(check.channel),
            _esc(describe_profile(check.captured)).replace("\n", "<br>"),
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
    facts = _facts(
        [
            ("outcome", f'<span class="tone-text-{tone}">{_esc(outcome)}</span>'),
            ("duration", _esc(_seconds(case.duration_seconds))),
            ("isolation", _esc(case.isolation)),
            (
                "quality checks run",
                str(case.quality_checks_run) if case.quality_checks_run else None,
            ),
            ("run directory", _esc(case.run_dir) if case.run_dir else None),
            (
                "error",
                _esc(case.error_message) if case.error_message and not case.failures else None,
            ),
        ]
    )
    bounds = metric_bounds(case.failures, metrics)
    parts = [facts]
    if case.failures:
        parts.append("<h5>Failures</h5>\n" + _failures(case.failures, "failures"))
    if case.warnings:
        parts.append("<h5>Warnings</h5>\n" + _failures(case.warnings, "warnings"))
    behind = _samples_of(case.failures + case.warnings)
    behind += [plot for f in case.failures + case.warnings if (plot := _drift_plot(f))]
    if behind:
        parts.append("<h5>Data quality</h5>\n" + "".join(behind))
    parts.append(_metrics(metrics, bounds, set(bounds)))
    parts.append(
        _log(item.log_tail if item else [], open_=tone in ("bad", "warn"), where=case.name)
    )
    section = _open(
        "section",
        class_=f"case tone-{tone}",
        id=anchor,
        data_case=case.name,
        data_outcome=outcome.value,
    )
    return (
        f"{section}\n<h4>{_esc(case.name)} {_badge(outcome.value, tone)}</h4>\n"
        + "".join(parts)
        + "</section>\n"
    )


def _failures(failures: Sequence[Failure], class_: str) -> str:
    rows = [
        [
            f'<span class="kind">{_esc(f.kind)}</span>',
            _esc(f.expectation),
            _cell(f.actual) if f.actual is not None else "",
            _esc(f.message),
        ]
        for f in failures
    ]
    return _table(["kind", "expectation", "actual", "message"], rows, class_)


def _samples_of(failures: Sequence[Failure]) -> list[str]:
    return [
        f'<details class="failing-rows" open><summary>{len(f.sample)} of the rows behind '
        f"<b>{_esc(f.expectation)}</b></summary>\n"
        f"{_rows_table(f.sample, 'sample failing')}</details>\n"
        for f in failures
        if f.sample
    ]


# -- plots ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """A threshold a metric was held to: ``op value``, or ``between value and upper``."""

    op: str
    value: float
    upper: float | None = None

    @property
    def points(self) -> list[float]:
        return [self.value] if self.upper is None else [self.value, self.upper]

    def __str__(self) -> str:
        if self.upper is not None:
            return f"between {_number(self.value)} and {_number(self.upper)}"
        return f"{self.op} {_number(self.value)}"

    @property
    def short(self) -> str:
        """The bound in a few characters, for a chart: ">= 0.8", "in [0.7, 0.9]"."""
        if self.upper is not None:
            return f"in [{_number(self.value)}, {_number(self.upper)}]"
        return str(self)


def parse_bounds(expectation: str) -> list[tuple[str, Bound]]:
    """(metric, bound) pairs of a metric failure's expectation, e.g. "auc >= 0.8" or
    "auc >= 0.8, f1 between 0.5 and 0.9"; what does not parse is left out."""
    found = []
    for part in expectation.split(", "):
        text = part.strip()
        if between := _BETWEEN.match(text):
            bound = Bound("between", float(between["low"]), float(between["high"]))
            found.append((between["metric"], bound))
        elif single := _BOUND.match(text):
            found.append((single["metric"], Bound(single["op"], float(single["value"]))))
    return found


def metric_bounds(
    failures: Sequence[Failure], metrics: Mapping[str, Any]
) -> dict[str, list[Bound]]:
    """The thresholds that ``failures`` say were missed, by the metric name in ``metrics`` they
    are about (a name that is not a full path matches the one name ending with it)."""
    found: dict[str, list[Bound]] = {}
    for failure in failures:
        if failure.kind != "metric":
            continue
        for metric, bound in parse_bounds(failure.expectation):
            key = _metric_key(metric, metrics)
            if key is not None:
                found.setdefault(key, []).append(bound)
    return found


def _metric_key(metric: str, metrics: Mapping[str, Any]) -> str | None:
    if metric in metrics:
        return metric
    ends = [name for name in metrics if name.endswith(f".{metric}")]
    return ends[0] if len(ends) == 1 else None


def _metrics(
    metrics: Mapping[str, Any], bounds: Mapping[str, list[Bound]], missed: set[str]
) -> str:
    """The metrics as a chart (numbers, against thresholds) and as a table (everything)."""
    if not metrics:
        return ""
    rows = [
        [
            _esc(name),
            _cell(value),
            _esc(", ".join(str(b) for b in bounds.get(name, []))),
        ]
        for name, value in metrics.items()
    ]
    table = _table(["metric", "value", "missed threshold"], rows, "metrics")
    plot = metrics_plot(metrics, bounds, missed)
    charts = f'<div class="charts">{plot}</div>' if plot else ""
    return f'<h5>Metrics</h5>\n<div class="metrics-block">{charts}{table}</div>\n'


def metrics_plot(
    metrics: Mapping[str, Any], bounds: Mapping[str, list[Bound]], missed: set[str]
) -> str:
    """Horizontal bars of the numeric metrics: those within [0, 1] (thresholds included) on a
    0 to 1 scale, the others relative to the largest; a threshold is a marker on its bar."""
    unit: list[tuple[str, float]] = []
    other: list[tuple[str, float]] = []
    for name, value in metrics.items():
        if not _is_number(value):
            continue
        points = [float(value), *(p for b in bounds.get(name, []) for p in b.points)]
        (unit if all(0 <= p <= 1 for p in points) else other).append((name, float(value)))
    charts = []
    if unit:
        charts.append(_bar_chart(unit, bounds, missed, 1.0, "metrics on a 0 to 1 scale", axis=True))
    if other:
        scale = max(abs(p) for n, v in other for p in [v, *_points(bounds.get(n, []))]) or 1.0
        caption = f"other metrics, relative to {_number(scale)}"
        charts.append(_bar_chart(other, bounds, missed, scale, caption, axis=False))
    return "".join(charts)


def _points(bounds: Sequence[Bound]) -> list[float]:
    return [p for b in bounds for p in b.points]


LABEL_W, BAR_W, VALUE_W, ROW_H, TOP = 190, 240, 170, 22, 6
LABEL_CHARS = 28


def _bar_chart(
    rows: Sequence[tuple[str, float]],
    bounds: Mapping[str, list[Bound]],
    missed: set[str],
    scale: float,
    caption: str,
    *,
    axis: bool,
) -> str:
    shown = rows[:MAX_BARS]
    if len(rows) > MAX_BARS:
        caption += f" (first {MAX_BARS} of {len(rows)}; the table has all)"
    width = LABEL_W + BAR_W + VALUE_W
    height = TOP + len(shown) * ROW_H + (18 if axis else 4)
    bars = "".join(
        _bar(i, name, value, bounds.get(name, []), name in missed, scale)
        for i, (name, value) in enumerate(shown)
    )
    ticks = _ticks(TOP + len(shown) * ROW_H) if axis else ""
    return (
        f'<figure class="plot"><svg class="bars" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{_esc(caption)}">{bars}{ticks}</svg>'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _x(value: float, scale: float) -> float:
    return round(LABEL_W + BAR_W * min(max(abs(value) / scale, 0.0), 1.0), 1)


def _bar(
    row: int, name: str, value: float, bounds: Sequence[Bound], miss: bool, scale: float
) -> str:
    y = TOP + row * ROW_H
    kind = "bar miss" if miss else ("bar neg" if value < 0 else "bar")
    marks = "".join(_threshold(name, b, y, scale) for b in bounds)
    wanted = f" ({', '.join(b.short for b in bounds)})" if bounds else ""
    return (
        f"<g{_attrs(class_='bar-row' + (' missed' if miss else ''), data_metric=name)}>"
        f"<title>{_esc(name)} = {_esc(_number(value))}{_esc(wanted)}</title>"
        f'<text class="label" x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end">'
        f"{_esc(_cut_left(name, LABEL_CHARS))}</text>"
        f'<rect class="track" x="{LABEL_W}" y="{y + 2}" width="{BAR_W}" height="12"/>'
        f'<rect class="{kind}" x="{LABEL_W}" y="{y + 2}" width="{_x(value, scale) - LABEL_W}" '
        f'height="12"/>{marks}'
        f'<text class="value" x="{LABEL_W + BAR_W + 6}" y="{y + 12}">'
        f"{_esc(_number(value))}{_esc(wanted)}</text></g>"
    )


def _threshold(name: str, bound: Bound, y: int, scale: float) -> str:
    tip = f"<title>{_esc(name)} {_esc(bound)}</title>"
    if bound.upper is not None:
        x1, x2 = _x(bound.value, scale), _x(bound.upper, scale)
        return (
            f'<rect class="band" x="{x1}" y="{y}" width="{max(x2 - x1, 1)}" height="16">'
            f"{tip}</rect>"
            f'<line class="threshold" x1="{x1}" x2="{x1}" y1="{y - 1}" y2="{y + 17}"/>'
            f'<line class="threshold" x1="{x2}" x2="{x2}" y1="{y - 1}" y2="{y + 17}"/>'
        )
    x = _x(bound.value, scale)
    return f'<line class="threshold" x1="{x}" x2="{x}" y1="{y - 1}" y2="{y + 17}">{tip}</line>'


def _ticks(y: int) -> str:
    return "".join(
        f'<text class="tick" x="{_x(v, 1.0)}" y="{y + 12}" text-anchor="middle">{label}</text>'
        for v, label in ((0.0, "0"), (0.5, "0.5"), (1.0, "1"))
    )


def drift_stats(message: str) -> list[tuple[str, float, float]]:
    """(statistic, value, limit) of a distribution_drift message: "psi 0.31 > psi_max 0.2"."""
    return [(m["stat"], float(m["value"]), float(m["limit"])) for m in _DRIFT.finditer(message)]


def _drift_plot(failure: Failure) -> str:
    """The drift statistics of a failed distribution check against their limits, and the two
    distributions it compared."""
    stats = drift_stats(failure.message) if failure.kind == "data_quality" else []
    shares = distribution_plot(failure.distribution) if failure.distribution else ""
    if not stats:
        return f'<div class="drift">{shares}</div>\n' if shares else ""
    bounds = {stat: [Bound("<=", limit)] for stat, _, limit in stats}
    missed = {stat for stat, value, limit in stats if value > limit}
    scale = max(max(value, limit) for _, value, limit in stats) * 1.25 or 1.0
    rows = [(stat, value) for stat, value, _ in stats]
    chart = _bar_chart(
        rows,
        bounds,
        missed,
        scale,
        f"{failure.expectation}: statistics against their limits",
        axis=False,
    )
    return f'<div class="drift">{chart}{shares}</div>\n'


DIST_H, DIST_BAR, DIST_GAP, DIST_TOP, DIST_LABEL_H = 120, 9, 8, 18, 46
MAX_BINS = 40


def distribution_plot(distribution: Distribution) -> str:
    """The checked and the reference share of each bin (or category) side by side, as SVG."""
    bins = list(zip(distribution.labels, distribution.actual, distribution.reference, strict=False))
    shown = bins[:MAX_BINS]
    peak = max([max(a, r) for _, a, r in shown] + [1e-9])
    group = 2 * DIST_BAR + DIST_GAP
    width = max(240, len(shown) * group + 20)
    height = DIST_TOP + DIST_H + DIST_LABEL_H
    bars = []
    for i, (label, actual, reference) in enumerate(shown):
        x = 10 + i * group
        for j, (value, cls, who) in enumerate(
            ((actual, "dist-actual", "checked"), (reference, "dist-reference", "reference"))
        ):
            h = round(DIST_H * value / peak, 1)
            tip = f"<title>{_esc(label)}: {who} {value:.1%}</title>"
            bars.append(
                f'<rect class="{cls}" x="{x + j * DIST_BAR}" y="{DIST_TOP + DIST_H - h}" '
                f'width="{DIST_BAR - 1}" height="{h}">{tip}</rect>'
            )
        ty = DIST_TOP + DIST_H + 8
        bars.append(
            f'<text class="tick" x="{x + DIST_BAR}" y="{ty}" text-anchor="end" '
            f'transform="rotate(-45 {x + DIST_BAR} {ty})">{_esc(_cut(label, 12))}</text>'
        )
    more = f" (first {MAX_BINS} of {len(bins)})" if len(bins) > MAX_BINS else ""
    caption = (
        f"{_esc(distribution.column)}: share per bin, checked "
        f'<span class="dist-actual-key">■</span> against reference '
        f'<span class="dist-reference-key">■</span>{more}'
    )
    svg = (
        f'<svg class="distribution" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" data-column="{_esc(distribution.column)}">'
        + "".join(bars)
        + "</svg>"
    )
    return f'<figure class="plot">{svg}<figcaption>{caption}</figcaption></figure>\n'


# -- page assets ------------------------------------------------------------------------------

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
"""Nothing but what is in the page: a report viewed offline looks the same as online."""

_SCRIPT = (
    "(function(){var d=document.documentElement;"
    'window.addEventListener("error",function(e){d.setAttribute("data-js-error",String(e.message||e));});'
    "function openLog(){var t=location.hash&&document.getElementById(location.hash.slice(1));"
    'var l=t&&t.querySelector("details.log");if(l){l.open=true;}}'
    'window.addEventListener("hashchange",openLog);'
    'document.addEventListener("DOMContentLoaded",function(){openLog();d.setAttribute("data-ready","1");});'
    "})();"
)
"""Records a script error on the page (``data-js-error``) for checks, marks the page ready, and
opens the log of a step reached from the DAG."""

_CSS = """
:root{color-scheme:light;--ok:#15803d;--ok-bg:#dcfce7;--bad:#b91c1c;--bad-bg:#fee2e2;
--skip:#4b5563;--skip-bg:#e5e7eb;--warn:#c2410c;--warn-bg:#ffedd5;--pend:#64748b;--pend-bg:#f8fafc;
--line:#d1d5db;--muted:#6b7280;--ink:#111827}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:16px 20px;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:var(--ink);background:#fff}
h1{font-size:1.6rem;margin:.2em 0 .4em}h2{font-size:1.3rem;margin:1.2em 0 .4em}
h3{font-size:1.1rem;margin:1.2em 0 .4em;border-bottom:1px solid var(--line)}
h4{font-size:1.05rem;margin:0 0 .4em}h5{font-size:.95rem;margin:.8em 0 .3em}
h6{font-size:.85rem;margin:.8em 0 .3em;color:#374151}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.report-head{border-left:6px solid var(--line);padding:4px 14px;background:#f9fafb}
.report-head.tone-ok{border-color:var(--ok)}.report-head.tone-bad{border-color:var(--bad)}
.report-head.tone-warn{border-color:var(--warn)}.report-head.tone-skip{border-color:var(--skip)}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px;margin:.4em 0}
.facts dt{color:var(--muted)}.facts dd{margin:0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:.78em;
font-weight:600;vertical-align:middle;background:var(--skip)}
.badge.tone-ok{background:var(--ok)}.badge.tone-bad{background:var(--bad)}
.badge.tone-warn{background:var(--warn)}.badge.tone-skip{background:var(--skip)}
.badge.tone-pend{background:var(--pend)}
.tone-text-ok{color:var(--ok);font-weight:600}.tone-text-bad{color:var(--bad);font-weight:600}
.tone-text-warn{color:var(--warn);font-weight:600}.tone-text-skip{color:var(--skip)}
.tone-text-pend{color:var(--pend)}
.scroll{overflow-x:auto;max-width:100%;margin:.3em 0 .6em}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}td{overflow-wrap:break-word}
.badge,[class*=tone-text-],table.tests td:nth-child(n+2):nth-child(-n+4){white-space:nowrap}
.null,.none{color:var(--muted);font-style:italic}
.issues{margin:0;padding-left:1.1em}.sev-error{color:var(--bad)}.sev-warning{color:#a16207}
.fix{color:#374151}
.step,.case{border:1px solid var(--line);border-left:6px solid var(--line);border-radius:6px;
padding:8px 12px;margin:10px 0}
.step.tone-ok,.case.tone-ok{border-left-color:var(--ok)}
.step.tone-bad,.case.tone-bad{border-left-color:var(--bad);background:#fffafa}
.step.tone-skip,.case.tone-skip{border-left-color:var(--skip)}
.step.tone-warn,.case.tone-warn{border-left-color:var(--warn)}
.step.tone-pend{border-left-color:var(--pend);border-left-style:dashed}
details{margin:.4em 0}summary{cursor:pointer;overflow-wrap:anywhere}
details.output{border:1px solid #e5e7eb;border-radius:4px;padding:4px 8px}
pre.log-tail{background:#0f172a;color:#e2e8f0;padding:8px 10px;border-radius:4px;margin:.3em 0;
max-height:28em;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
figure{margin:.4em 0}figcaption{color:var(--muted);font-size:12px}
svg{max-width:100%;height:auto}
.dag{overflow-x:auto}
.dag-node rect{fill:var(--pend-bg);stroke:var(--pend);stroke-width:1.5}
.dag-node text{font-size:13px;fill:var(--ink)}.dag-node .name{font-weight:600}
.dag-node .sub{font-size:11px;fill:#374151}
.dag-node.tone-ok rect{fill:var(--ok-bg);stroke:var(--ok)}
.dag-node.tone-bad rect{fill:var(--bad-bg);stroke:var(--bad);stroke-width:2.5}
.dag-node.tone-skip rect{fill:var(--skip-bg);stroke:var(--skip)}
.dag-node.tone-warn rect{fill:var(--warn-bg);stroke:var(--warn)}
.dag-node.tone-pend rect{stroke-dasharray:4 3}
a:hover .dag-node rect{stroke-width:3}
.dag-edge{fill:none;stroke:#6b7280;stroke-width:1.6}.dag-edge.broken{stroke:var(--bad);stroke-width:2.2}
.arrow-head{fill:#6b7280}
.key{display:inline-block;padding:0 6px;margin-right:4px;border:1px solid;border-radius:3px}
.key.tone-ok{background:var(--ok-bg);border-color:var(--ok)}
.key.tone-bad{background:var(--bad-bg);border-color:var(--bad)}
.key.tone-skip{background:var(--skip-bg);border-color:var(--skip)}
.key.tone-warn{background:var(--warn-bg);border-color:var(--warn)}
.key.tone-pend{background:var(--pend-bg);border-color:var(--pend);border-style:dashed}
.metrics-block{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start}
.bars text{font-size:12px;fill:var(--ink)}.bars .tick{fill:var(--muted);font-size:11px}
.bars .track{fill:#f3f4f6}.bars .bar{fill:#2563eb}.bars .bar.neg{fill:#7c3aed}
.bars .bar.miss{fill:var(--bad)}.bars .threshold{stroke:#111827;stroke-width:2}
.bars .band{fill:#15803d;fill-opacity:.18}
.distribution .dist-actual{fill:#2563eb}.distribution .dist-reference{fill:#9ca3af}
.distribution .tick{fill:var(--muted);font-size:10px}
.dist-actual-key{color:#2563eb}.dist-reference-key{color:#9ca3af}
.quality{border-left:4px solid var(--line);padding:2px 10px;margin:.5em 0}
.quality.tone-ok{border-color:var(--ok)}.quality.tone-bad{border-color:var(--bad)}
.quality ul{margin:.2em 0;padding-left:1.2em}
.contents ul{padding-left:1.2em}
@media (max-width:640px){body{padding:8px}h1{font-size:1.3rem}
.facts{grid-template-columns:minmax(0,1fr)}.facts dt{font-weight:600;margin-top:4px}
.step,.case{padding:6px 8px}}
"""
