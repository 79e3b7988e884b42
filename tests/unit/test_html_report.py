"""The HTML report rendered from hand-made reports: a well-formed, self-contained page whose
user text is escaped, with the DAG coloured by status, each step's section (exit code, log,
schemas, samples, metrics), the edges, script cases, and plots of metrics and drift."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from orchestrator.data.metrics import MetricExpectation, parse_metric_expectation
from orchestrator.data.profiles import (
    ArtifactProfile,
    ColumnProfile,
    DatasetProfile,
    Distribution,
    OutputProfile,
)
from orchestrator.data.schemas import DataSchema
from orchestrator.dataflow.edges import EdgeResult
from orchestrator.issues import Issue, Severity
from orchestrator.report.html.charts import (
    Bound,
    distribution_plot,
    drift_plot,
    drift_stats,
    expected_bounds,
    metric_bounds,
)
from orchestrator.report.html.dag import dag_levels
from orchestrator.report.html.page import render_html
from orchestrator.report.model import (
    Outcome,
    Report,
    Suite,
    build_report,
    case_test,
    edge_test,
    step_test,
)
from orchestrator.run.results import OutputSummary, RunResult, Status, StepResult
from orchestrator.scripttest.case_checks import Failure, TestCaseResult
from orchestrator.scripttest.on_s3 import InputCheck

# -- a small DOM ------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "source", "wbr", "area", "base"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag)
            and (cls is None or cls in n.classes)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} class={cls} {attrs}>"
        return found[0]

    def facts(self) -> dict[str, Node]:
        """The terms of the first list of facts inside, and what each says."""
        facts = self.all("dl", cls="facts")[0]
        return dict(zip([dt.text() for dt in facts.all("dt")], facts.all("dd"), strict=True))

    def rows(self) -> list[list[str]]:
        """The body rows of a table, as cell texts."""
        return [[td.text().strip() for td in tr.all("td")] for tr in self.one("tbody").all("tr")]


class _Builder(HTMLParser):
    """Builds the tree strictly: an end tag must close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], f"unclosed: {[n.tag for n in builder.stack[1:]]}"
    return builder.root


# -- reports ----------------------------------------------------------------------------------

NASTY = "<script>alert(1)</script>"


def profile(output: str, folder: Path) -> OutputProfile:
    columns = [
        ColumnProfile(name="id", type="int64", nullable=False, null_count=0, min=1, max=3),
        ColumnProfile(name="score", type="double", nullable=True, null_count=1, min=0.1, max=0.9),
        ColumnProfile(name="<b>odd</b>", type="string", nullable=False, null_count=0),
    ]
    dataset = DatasetProfile(path="", format="csv", files=["data.csv"], bytes=60, rows=3)
    dataset.columns = columns
    return OutputProfile(
        output=output,
        folder=str(folder),
        files=2,
        bytes=2100,
        datasets=[dataset],
        artifacts=[
            ArtifactProfile(path="model.tar.gz", kind="model-archive", bytes=2040, sha256="ab" * 32)
        ],
    )


def step(name: str, status: Status, upstream: list[str], **more: Any) -> StepResult:
    return StepResult(
        name=name,
        kind="processing",
        status=status,
        upstream=upstream,
        duration_seconds=1.5,
        **more,
    )


def pipeline_report(tmp_path: Path) -> Report:
    prep = step(
        "prep",
        Status.SUCCEEDED,
        [],
        exit_code=0,
        log_tail=["prep done"],
        outputs=[
            OutputSummary(
                name="train",
                path=str(tmp_path / "train"),
                files=2,
                bytes=2100,
                profile=profile("train", tmp_path / "train"),
            )
        ],
    )
    evaluate = step(
        "evaluate",
        Status.FAILED,
        ["prep"],
        exit_code=3,
        reason="exited with code 3",
        log_tail=["reading model", NASTY, "Traceback: boom & bust"],
    )
    later = step("publish", Status.SKIPPED, ["evaluate"], reason="upstream 'evaluate' failed")
    run = RunResult(
        run_id="r1",
        pipeline="demo",
        pipeline_file=str(tmp_path / "pipeline.py"),
        run_dir=str(tmp_path / "run"),
        status=Status.FAILED,
        started_at=1_700_000_000.0,
        finished_at=1_700_000_004.0,
        cit_version="0.1.0",
        steps=[prep, evaluate, later],
    )
    edge = EdgeResult(
        edge="prep.train -> evaluate.data",
        producer="prep",
        output="train",
        consumer="evaluate",
        input="data",
        producer_status=Status.SUCCEEDED,
        consumer_status=Status.FAILED,
        captured=prep.outputs[0].profile,
        expected=DataSchema(source=str(tmp_path / "schemas" / "features.yaml")),
        issues=[
            Issue(
                rule="consumer_failed",
                severity=Severity.ERROR,
                description="evaluate failed",
                step="evaluate",
                edge="prep.train -> evaluate.data",
            ),
            Issue(rule="extra_column", severity=Severity.WARNING, description="column <b>odd</b>"),
        ],
    )
    suite = Suite(
        name="demo",
        kind="pipeline",
        file=run.pipeline_file,
        run_dir=run.run_dir,
        outcome=Outcome.FAILED,
        duration_seconds=4.0,
        tests=[*(step_test(s) for s in run.steps), edge_test(edge)],
        run=run,
        edges=[edge],
        samples={
            "prep": {
                "train": [
                    {"id": 1, "score": 0.5, "<b>odd</b>": '"</td><script>alert(2)</script>'},
                    {"id": 2, "score": None, "<b>odd</b>": "x"},
                ]
            }
        },
        metrics={"prep": {"auc": 0.87, "rows": 357, "note": "fine", "nested.f1": 0.7}},
    )
    return build_report("run", [suite])


def bound(metric: str, written: str) -> MetricExpectation:
    return parse_metric_expectation(metric, written)


def script_report() -> Report:
    auc, f1 = bound("auc_roc", ">= 0.8"), bound("f1", ">= 0.5")
    metric = Failure(
        kind="metric",
        expectation="auc_roc >= 0.8",
        actual="0.62",
        message="auc_roc is 0.62",
        bound=auc,
    )
    quality = Failure(
        kind="data_quality",
        expectation="predictions_in_range_0_1",
        message="predictions_in_range_0_1 on predictions: 2 of 10 rows (20%) are outside [0, 1]",
        sample=[{"id": 7, "probability": 1.4}, {"id": 9, "probability": -0.2}],
    )
    drift = Failure(
        kind="data_quality",
        expectation="distribution_drift",
        message="distribution_drift on predictions: probability drifted from ref.csv: "
        "psi 0.3521 > psi_max 0.2; ks 0.05 <= ks_max 0.1 (500 values vs 400 reference values)",
        distribution=Distribution(
            column="probability",
            labels=["0.5", "> 0.5"],
            actual=[0.7, 0.3],
            reference=[0.5, 0.5],
            statistics={"psi": 0.3521, "ks": 0.05},
            limits={"psi": 0.2, "ks": 0.1},
        ),
    )
    warning = Failure(kind="warning", expectation="warnings_expected: slow", message="no 'slow'")
    failed = TestCaseResult(
        name="bad_model",
        failures=[metric, quality, drift],
        warnings=[warning],
        duration_seconds=2.25,
        quality_checks_run=2,
        expected_metrics=["auc_roc >= 0.8", "f1 >= 0.5"],
        metric_expectations=[auc, f1],
    )
    passed = TestCaseResult(name="good_model", duration_seconds=1.0)
    item = case_test(failed, "evaluate").model_copy(update={"log_tail": ["scoring", NASTY]})
    suite = Suite(
        name="evaluate",
        kind="script",
        file="cases.yaml",
        outcome=Outcome.FAILED,
        duration_seconds=3.25,
        tests=[item, case_test(passed, "evaluate")],
        cases=[failed, passed],
        metrics={"bad_model": {"metrics.auc_roc": 0.62, "metrics.f1": 0.55, "rows": 10}},
    )
    return build_report("test-script", [suite])


@pytest.fixture
def page(tmp_path: Path) -> Node:
    return parse(render_html(pipeline_report(tmp_path)))


@pytest.fixture
def script_page() -> Node:
    return parse(render_html(script_report()))


# -- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pipeline", "script"])
def test_the_page_is_self_contained(tmp_path: Path, kind: str) -> None:
    text = render_html(pipeline_report(tmp_path) if kind == "pipeline" else script_report())
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    doc = parse(text)
    assert not doc.all("link") and not doc.all("img") and not doc.all("iframe")
    assert all("src" not in n.attrs for n in doc.walk())
    hrefs = [n.attrs["href"] for n in doc.all("a")]
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert all(u.startswith("url(#") for u in re.findall(r"url\([^)]*\)", text))
    csp = doc.one("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp


def test_the_page_says_early_that_cit_wrote_it(tmp_path: Path) -> None:
    head = render_html(pipeline_report(tmp_path)).encode()[:4096]
    assert b'<meta name="generator" content="cit ' in head  # reports.py writes over such a file
    assert b'<meta name="cit-report" content="run">' in head


def test_every_link_in_the_page_leads_somewhere_in_it(page: Node) -> None:
    ids = [n.attrs["id"] for n in page.walk() if "id" in n.attrs]
    assert len(ids) == len(set(ids))
    targets = {n.attrs["href"][1:] for n in page.all("a")}
    assert targets and targets <= set(ids)


def test_user_text_is_escaped(tmp_path: Path) -> None:
    text = render_html(pipeline_report(tmp_path))
    assert NASTY not in text and "<b>odd</b>" not in text
    doc = parse(text)
    [script] = doc.all("script")  # the page's own, nothing from the run
    assert "alert" not in script.text()
    log = doc.one("section", data_step="evaluate").one("pre", cls="log-tail")
    assert NASTY in log.text() and "boom & bust" in log.text()
    schema = doc.one("table", cls="schema")
    assert [row[0] for row in schema.rows()] == ["id", "score", "<b>odd</b>"]
    sample = doc.one("section", data_step="prep").one("table", cls="sample")
    assert sample.rows()[0][2] == '"</td><script>alert(2)</script>'


def test_text_a_page_cannot_hold_is_replaced() -> None:
    report = build_report(
        "run",
        [
            Suite(
                name="p",
                kind="pipeline",
                outcome=Outcome.FAILED,
                run=RunResult(
                    run_id="r",
                    pipeline="p",
                    pipeline_file="p.py",
                    run_dir="d",
                    started_at=0.0,
                    cit_version="0",
                    steps=[
                        step("a", Status.FAILED, [], log_tail=["\x1b[31mred\x1b[0m nul:\x00 end"])
                    ],
                ),
            )
        ],
    )
    log = parse(render_html(report)).one("pre", cls="log-tail").text()
    assert log == "red nul:\ufffd end"


def test_the_header_says_what_ran_and_how_it_ended(page: Node) -> None:
    header = page.one("header")
    assert "cit run" in header.one("h1").text()
    assert page.one(id="outcome").text() == "failed"
    assert "tone-text-bad" in page.one(id="outcome").classes
    assert page.one(id="exit-code").text() == "1"
    facts = {term: said.text() for term, said in header.facts().items()}
    assert facts["command"] == "cit run"
    assert facts["cit version"]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", facts["created"])
    assert facts["tests"] == "1 passed, 2 failed, 1 skipped"
    assert page.one("head").one("title").text() == "cit run: failed"


# -- the DAG ----------------------------------------------------------------------------------


def test_the_dag_has_a_box_per_step_coloured_by_status(page: Node) -> None:
    boxes = page.one("svg", cls="dag-svg").all("g", cls="dag-node")
    tones = {b.attrs["data-step"]: b.classes for b in boxes}
    assert set(tones) == {"prep", "evaluate", "publish"}
    assert "tone-ok" in tones["prep"] and "tone-bad" in tones["evaluate"]
    assert "tone-skip" in tones["publish"] and "status-skipped" in tones["publish"]


@pytest.mark.parametrize(
    ("status", "tone"),
    [
        (Status.SUCCEEDED, "tone-ok"),
        (Status.FAILED, "tone-bad"),
        (Status.TIMEOUT, "tone-bad"),
        (Status.OOM, "tone-bad"),
        (Status.ERROR, "tone-bad"),
        (Status.SKIPPED, "tone-skip"),
        (Status.INTERRUPTED, "tone-warn"),
        (Status.PENDING, "tone-pend"),
    ],
)
def test_a_box_and_its_section_share_the_colour_of_its_status(status: Status, tone: str) -> None:
    run = RunResult(
        run_id="r",
        pipeline="p",
        pipeline_file="p.py",
        run_dir="d",
        started_at=0.0,
        cit_version="0",
        steps=[step("only", status, [])],
    )
    suite = Suite(name="p", kind="pipeline", outcome=Outcome.PASSED, run=run)
    doc = parse(render_html(build_report("run", [suite])))
    assert tone in doc.one("g", cls="dag-node").classes
    assert tone in doc.one("section", data_step="only").classes


def test_each_box_links_to_its_steps_section(page: Node) -> None:
    for link in page.one("svg", cls="dag-svg").all("a"):
        name = link.one("g", cls="dag-node").attrs["data-step"]
        target = page.one(id=link.attrs["href"][1:])
        assert target.tag == "section" and target.attrs["data-step"] == name


def test_arrows_follow_upstream_and_a_broken_edge_is_marked(page: Node) -> None:
    arrows = page.one("svg", cls="dag-svg").all("path", cls="dag-edge")
    assert len(arrows) == 2  # prep -> evaluate, evaluate -> publish
    assert sum("broken" in a.classes for a in arrows) == 1


def test_boxes_are_laid_out_by_depth(page: Node) -> None:
    x = {
        g.attrs["data-step"]: float(g.one("rect").attrs["x"]) for g in page.all("g", cls="dag-node")
    }
    assert x["prep"] < x["evaluate"] < x["publish"]


def test_an_arrow_that_skips_a_column_runs_above_the_boxes_between() -> None:
    steps = [
        step("a", Status.SUCCEEDED, []),
        step("b", Status.SUCCEEDED, ["a"]),
        step("c", Status.SUCCEEDED, ["b", "a"]),
    ]
    run = RunResult(
        run_id="r",
        pipeline="p",
        pipeline_file="p.py",
        run_dir="d",
        started_at=0.0,
        cit_version="0",
        steps=steps,
    )
    suite = Suite(name="p", kind="pipeline", outcome=Outcome.PASSED, run=run)
    doc = parse(render_html(build_report("run", [suite])))
    paths = [p.attrs["d"] for p in doc.all("path", cls="dag-edge")]
    assert len(paths) == 3 and sum(" L" in d for d in paths) == 1
    box_top = min(float(r.attrs["y"]) for r in doc.one("svg", cls="dag-svg").all("rect"))
    lane = next(d for d in paths if " L" in d)
    assert float(lane.split(" L")[1].split(",")[1].split()[0]) < box_top


def test_depth_is_the_longest_way_from_a_step_without_upstream() -> None:
    steps = [
        step("a", Status.SUCCEEDED, []),
        step("b", Status.SUCCEEDED, ["a"]),
        step("c", Status.SUCCEEDED, ["a", "b"]),
        step("d", Status.SUCCEEDED, ["c", "missing"]),
        step("e", Status.SUCCEEDED, []),
    ]
    assert dag_levels(steps) == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 0}


def test_a_cycle_does_not_stop_the_layout() -> None:
    steps = [step("a", Status.SUCCEEDED, ["b"]), step("b", Status.SUCCEEDED, ["a"])]
    assert sorted(dag_levels(steps).values()) == [0, 1]


# -- steps and edges --------------------------------------------------------------------------


def test_the_failing_steps_section_shows_its_exit_code_reason_and_open_log(page: Node) -> None:
    section = page.one("section", data_step="evaluate")
    assert section.attrs["data-status"] == "failed"
    assert section.one("span", cls="exit-code").text() == "3"
    assert "exited with code 3" in section.text()
    log = section.one("details", cls="log")
    assert "open" in log.attrs
    assert log.one("pre").text().splitlines() == ["reading model", NASTY, "Traceback: boom & bust"]
    assert "open" not in page.one("section", data_step="prep").one("details", cls="log").attrs


def test_a_step_lists_the_issues_found_at_it(page: Node) -> None:
    [row] = page.one("section", data_step="evaluate").one("table", cls="issue-table").rows()
    assert row[:3] == ["error", "prep.train -> evaluate.data", "consumer_failed"]
    assert not page.one("section", data_step="prep").all("table", cls="issue-table")


def test_an_output_shows_its_captured_schema_sample_and_artifacts(page: Node) -> None:
    output = page.one("section", data_step="prep").one("details", cls="output", data_output="train")
    assert "csv, 3 rows, 3 cols" in output.one("summary").text()
    assert output.one("table", cls="schema").rows()[1] == [
        "score",
        "double",
        "yes",
        "1",
        "0.1",
        "0.9",
    ]
    assert "3 rows" in output.all("h6")[0].text()
    sample = output.one("table", cls="sample")
    assert [th.text() for th in sample.all("th")] == ["id", "score", "<b>odd</b>"]
    assert sample.rows()[1][:2] == ["2", "null"]
    assert output.one("table", cls="artifacts").rows()[0][:2] == ["model.tar.gz", "model-archive"]


def test_a_steps_metrics_are_a_table_and_a_chart(page: Node) -> None:
    section = page.one("section", data_step="prep")
    table = section.one("table", cls="metrics")
    assert [row[:2] for row in table.rows()] == [
        ["auc", "0.87"],
        ["rows", "357"],
        ["note", "fine"],
        ["nested.f1", "0.7"],
    ]
    charts = section.all("svg", cls="bars")
    drawn = [[g.attrs["data-metric"] for g in c.all("g", cls="bar-row")] for c in charts]
    assert drawn == [["auc", "nested.f1"], ["rows"]]
    assert not section.all(cls="threshold")


def test_the_edges_table_shows_what_flowed_and_issues_by_severity(page: Node) -> None:
    table = page.one("table", cls="edges")
    [row] = table.rows()
    assert row[0] == "prep.train -> evaluate.data"
    assert row[1].startswith("csv, 3 rows, 3 cols") and row[1].endswith("model-archive")
    assert row[2] == "features.yaml"
    assert len(table.all("li", cls="sev-error")) == 1
    assert table.one("li", cls="sev-warning").text().endswith("column <b>odd</b>")


def test_a_suite_links_to_what_did_not_pass(page: Node, script_page: Node) -> None:
    for doc, kind, name in (
        (page, "data-step", "evaluate"),
        (script_page, "data-case", "bad_model"),
    ):
        links = doc.one("section", cls="suite").facts()["did not pass"].all("a")
        assert [doc.one(id=a.attrs["href"][1:]).attrs[kind] for a in links] == [name]


def test_the_tests_table_lists_every_test_with_its_outcome(page: Node) -> None:
    rows = page.one("table", cls="tests").rows()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("prep", "step", "passed"),
        ("evaluate", "step", "failed"),
        ("publish", "step", "skipped"),
        ("prep.train -> evaluate.data", "edge", "failed"),
    ]
    assert rows[1][4] == "failed (exit code 3): exited with code 3"


def test_a_pipeline_that_never_started_shows_its_tests_only() -> None:
    item = step_test(step("a", Status.INTERRUPTED, []))
    suite = Suite(name="p", kind="pipeline", outcome=Outcome.INTERRUPTED, tests=[item])
    doc = parse(render_html(build_report("run", [suite], interrupted=True)))
    assert not doc.all("svg")
    assert doc.one("table", cls="tests").rows()[0][2] == "interrupted"
    assert "tone-warn" in doc.one("header").classes


# -- scripts ----------------------------------------------------------------------------------


def test_a_case_shows_its_failures_warnings_and_log(script_page: Node) -> None:
    case = script_page.one("section", data_case="bad_model")
    assert case.attrs["data-outcome"] == "failed" and "tone-bad" in case.classes
    failures = case.one("table", cls="failures").rows()
    assert [(r[0], r[1], r[2]) for r in failures] == [
        ("metric", "auc_roc >= 0.8", "0.62"),
        ("data_quality", "predictions_in_range_0_1", ""),
        ("data_quality", "distribution_drift", ""),
    ]
    assert case.one("table", cls="warnings").rows()[0][3] == "no 'slow'"
    assert case.one("pre", cls="log-tail").text() == f"scoring\n{NASTY}"
    good = script_page.one("section", data_case="good_model")
    assert good.attrs["data-outcome"] == "passed" and not good.all("table", cls="failures")


def test_the_rows_behind_a_data_quality_failure_are_shown(script_page: Node) -> None:
    rows = script_page.one("details", cls="failing-rows")
    assert "predictions_in_range_0_1" in rows.one("summary").text()
    assert rows.one("table", cls="sample").rows() == [["7", "1.4"], ["9", "-0.2"]]


def test_a_missed_metric_threshold_is_marked_on_its_bar(script_page: Node) -> None:
    case = script_page.one("section", data_case="bad_model")
    [unit, _] = case.one("div", cls="metrics-block").all("svg", cls="bars")
    auc = unit.one("g", cls="bar-row", data_metric="metrics.auc_roc")
    assert "missed" in auc.classes and auc.one("rect", cls="miss")
    marker = auc.one("line", cls="threshold")
    track = auc.one("rect", cls="track")
    at = (float(marker.attrs["x1"]) - float(track.attrs["x"])) / float(track.attrs["width"])
    assert at == pytest.approx(0.8, abs=0.01)
    assert "(>= 0.8)" in auc.one("text", cls="value").text()
    f1 = unit.one("g", cls="bar-row", data_metric="metrics.f1")  # met: marked, not missed
    assert "missed" not in f1.classes and not f1.all("rect", cls="miss")
    met = f1.one("line", cls="threshold")
    at = (float(met.attrs["x1"]) - float(track.attrs["x"])) / float(track.attrs["width"])
    assert at == pytest.approx(0.5, abs=0.01)
    metrics = {r[0]: r[2] for r in case.one("table", cls="metrics").rows()}
    assert metrics == {"metrics.auc_roc": ">= 0.8 (missed)", "metrics.f1": ">= 0.5", "rows": ""}


def test_a_missed_range_is_a_band_between_two_markers() -> None:
    failure = Failure(
        kind="metric",
        expectation="f1 between 0.6 and 0.9",
        actual="0.55",
        message="f1 is 0.55",
        bound=bound("f1", "between 0.6 and 0.9"),
    )
    case = TestCaseResult(name="c", failures=[failure])
    suite = Suite(
        name="s", kind="script", outcome=Outcome.FAILED, cases=[case], metrics={"c": {"f1": 0.55}}
    )
    doc = parse(render_html(build_report("test-script", [suite])))
    bar = doc.one("g", cls="bar-row", data_metric="f1")
    assert bar.one("rect", cls="band") and len(bar.all("line", cls="threshold")) == 2
    assert bar.one("text", cls="value").text() == "0.55 (in [0.6, 0.9])"


def test_a_drift_failure_draws_its_statistics_against_their_limits(script_page: Node) -> None:
    drift = script_page.one("div", cls="drift")
    rows = {g.attrs["data-metric"]: g for g in drift.all("g", cls="bar-row")}
    assert set(rows) == {"psi", "ks"}
    assert "missed" in rows["psi"].classes and "missed" not in rows["ks"].classes
    assert all(g.all("line", cls="threshold") for g in rows.values())


def test_s3_inputs_are_listed_with_their_issues(tmp_path: Path) -> None:
    check = InputCheck(
        channel="raw",
        source="s3://bucket/raw",
        captured=profile("raw", tmp_path),
        issues=[Issue(rule="missing_column", severity=Severity.ERROR, description="no label")],
    )
    case = TestCaseResult(name="s3", duration_seconds=1.0)
    suite = Suite(name="prep", kind="script", outcome=Outcome.FAILED, cases=[case], inputs=[check])
    doc = parse(render_html(build_report("test-s3", [suite])))
    [row] = doc.one("table", cls="inputs").rows()
    assert row[:2] == ["s3://bucket/raw", "raw"]
    assert doc.one("table", cls="inputs").one("li", cls="sev-error")


def test_several_suites_get_contents_and_their_own_anchors(tmp_path: Path) -> None:
    first, second = pipeline_report(tmp_path), script_report()
    both = build_report("test-all", [*first.suites, *second.suites])
    doc = parse(render_html(both))
    links = [a.attrs["href"] for a in doc.one("nav").all("a")]
    assert links == ["#s0", "#s1"]
    assert [s.attrs["data-suite"] for s in doc.all("section", cls="suite")] == ["demo", "evaluate"]


def test_an_empty_report_is_still_a_page() -> None:
    doc = parse(render_html(build_report("test-all", [], bad_input=True)))
    assert doc.one(id="outcome").text() == "error"
    assert doc.one("header").facts()["command"].text() == "cit test-all"
    assert not doc.all("section")


# -- thresholds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "written", "expected"),
    [
        ("auc", ">= 0.8", Bound(">=", 0.8)),
        ("loss", "< 1e-3", Bound("<", 0.001)),
        ("m.f1", "between 0.5 and 0.9", Bound("between", 0.5, 0.9)),
        ("b", "== 3", Bound("==", 3.0)),
    ],
)
def test_a_threshold_is_the_bound_of_a_metric_expectation(
    metric: str, written: str, expected: Bound
) -> None:
    assert expected_bounds([bound(metric, written)], {metric: 1.0}) == {metric: [expected]}


def test_a_threshold_finds_its_metric_by_dotted_suffix_only_when_unambiguous() -> None:
    failures = [
        Failure(kind="metric", expectation="auc >= 0.8", message="m", bound=bound("auc", ">= 0.8")),
        Failure(kind="metric", expectation="f1 > 0.5", message="m", bound=bound("f1", "> 0.5")),
        Failure(kind="output", expectation="rows >= 3", message="m"),
    ]
    metrics = {"a.auc": 0.7, "a.f1": 0.4, "b.f1": 0.4, "rows": 2}
    assert metric_bounds(failures, metrics) == {"a.auc": [Bound(">=", 0.8)]}


def test_a_metric_whose_name_reads_like_a_list_of_bounds_still_gets_its_threshold() -> None:
    name = "loss, val >= 2"
    case = TestCaseResult(
        name="c",
        expected_metrics=[f"{name} <= 0.5"],
        metric_expectations=[bound(name, "<= 0.5")],
    )
    suite = Suite(
        name="s", kind="script", outcome=Outcome.PASSED, cases=[case], metrics={"c": {name: 0.4}}
    )
    doc = parse(render_html(build_report("test-script", [suite])))
    rows = {r[0]: r[2] for r in doc.one("table", cls="metrics").rows()}
    assert rows == {name: "<= 0.5"}


def test_a_missed_metric_is_drawn_from_its_failures_bound_not_its_text() -> None:
    failure = Failure(
        kind="metric",
        expectation="auc must reach 0.8",  # no text is read back
        actual="0.5",
        message="auc is 0.5",
        bound=bound("auc", ">= 0.8"),
    )
    metrics = {"auc": 0.5}
    assert metric_bounds([failure], metrics) == {"auc": [Bound(">=", 0.8)]}


def test_drift_statistics_are_those_the_check_held_to_a_limit() -> None:
    shares = Distribution(
        column="x",
        labels=["a"],
        actual=[1.0],
        reference=[1.0],
        statistics={"psi": 0.35, "ks": 0.0812},
        limits={"psi": 0.2, "ks": 0.1},
    )
    assert drift_stats(shares) == [("psi", 0.35, 0.2), ("ks", 0.0812, 0.1)]
    unchecked = shares.model_copy(update={"limits": {"psi": 0.2}})
    assert drift_stats(unchecked) == [("psi", 0.35, 0.2)]


def test_a_drift_chart_does_not_read_the_message() -> None:
    shares = Distribution(
        column="ks 0.9 > ks_max 0.1",
        labels=["a", "b"],
        actual=[0.9, 0.1],
        reference=[0.5, 0.5],
        statistics={"psi": 0.8},
        limits={"psi": 0.2},
    )
    failure = Failure(
        kind="data_quality",
        expectation="distribution_drift",
        message="distribution_drift on out: ks 0.9 > ks_max 0.1 drifted from r.csv: psi 0.8",
        distribution=shares,
    )
    plot = parse(drift_plot(failure))
    assert [g.attrs["data-metric"] for g in plot.all("g", cls="bar-row")] == ["psi"]


def test_a_drift_failure_draws_both_distributions() -> None:
    from orchestrator.scripttest.case_checks import Failure

    shares = Distribution(
        column="age<x>",
        labels=["<= 30", "> 30"],
        actual=[0.9, 0.1],
        reference=[0.5, 0.5],
        statistics={"psi": 0.8},
        limits={"psi": 0.2},
    )
    svg = distribution_plot(shares)
    assert svg.count('class="dist-actual"') == 2 and svg.count('class="dist-reference"') == 2
    assert "age&lt;x&gt;" in svg and "<x>" not in svg
    tall = re.findall(
        r'class="dist-actual" x="[\d.]+" y="[\d.]+" width="\d+" height="([\d.]+)"', svg
    )
    assert float(tall[0]) > float(tall[1])  # 90 % is drawn taller than 10 %
    failure = Failure(
        kind="data_quality",
        expectation="distribution_drift",
        message="distribution_drift on out: age drifted from ref.csv: psi 0.8 > psi_max 0.2",
        distribution=shares,
    )
    plot = drift_plot(failure)
    assert 'class="distribution"' in plot and "psi" in plot
