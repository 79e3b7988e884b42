"""The report of one command (``report.json``): a versioned record every renderer reads.

Each command that runs something writes ``report.json`` into its run directory: ``cit run``
and ``cit test-flow`` into the pipeline's run directory, ``cit test-script``, ``cit test-s3``
and ``cit test-all`` into a run directory of their own that names the cases' run directories.
JUnit XML (``junit.py``) and HTML (``html_report.py``) are rendered from it alone, so
``cit report`` can render any earlier run again.

    Report                       one command: outcome, exit code, duration, suites
    └── Suite                    a pipeline run or a script's test cases
        ├── tests: [TestItem]    a step, an edge, a test case or an S3 input: one JUnit testcase
        └── run, edges, cases, inputs, samples, metrics: what the HTML report shows

The JSON Schema of ``Report`` ships as ``report.schema.json`` beside this module; a change to
the record that a reader could notice raises ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._version import __version__
from ..container_files import tail_lines
from ..data.metrics import DEFAULT_METRICS_FILE
from ..data.profiles import Distribution
from ..data.quality import read_head
from ..dataflow.edges import DataFlowTestResult, EdgeResult
from ..dataflow.expectation_results import ExpectationResult, QualityResult
from ..errors import CitError
from ..issues import Issue
from ..run.results import RunResult, Status, StepResult
from ..scripttest.case_checks import ScriptTestResult, TestCaseResult, case_metrics, read_metrics
from ..scripttest.on_s3 import InputCheck, S3TestResult
from ..verdict import EXPECTED_FAILURE, outcome_of_status, verdict_of
from ..verdict import Outcome as Outcome
from ..verdict import overall as overall

SCHEMA_VERSION = 1
REPORT_FILE = "report.json"
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")
DEFAULT_SAMPLE_SIZE = 20


TestKind = Literal["step", "edge", "case", "input", "quality", "expectation"]


class TestItem(BaseModel):
    """One thing judged (a JUnit testcase): a step, an edge, a test case, an S3 input, a
    data-quality check of an output, or an expectation the pipeline declares on its outputs."""

    model_config = ConfigDict(frozen=True)
    __test__ = False

    name: str
    classname: str
    """The step it belongs to: the step itself, an edge's consumer, a case's script."""
    kind: TestKind
    outcome: Outcome
    duration_seconds: float = 0.0
    message: str | None = None
    """The first problem, in one line."""
    failure_type: str | None = None
    """What kind of problem: a step status, a compatibility rule, an expectation kind."""
    details: list[str] = Field(default_factory=list)
    """Every problem, one line each."""
    log_tail: list[str] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list)
    """What probably caused a failure and how to fix it, where cit can tell (``hints``)."""
    run_dir: str | None = None
    distributions: list[Distribution] = Field(default_factory=list)
    """What a data-quality drift check compared, bin by bin."""
    expectation: ExpectationResult | None = None
    """An expectation's bound (or pattern, or check) and what the run showed."""
    expected_failure: bool = False
    """A test case that was to fail (``should_complete: false``): passed, it "failed as
    expected" (``verdict.outcome_word``)."""
    cached_from: str | None = None
    """A step not run: its outputs are those of this earlier run (the step cache)."""


class Suite(BaseModel):
    """A pipeline run (steps and edges) or a script's test cases."""

    name: str
    kind: Literal["pipeline", "script"]
    file: str | None = None
    run_dir: str | None = None
    outcome: Outcome
    duration_seconds: float = 0.0
    tests: list[TestItem] = Field(default_factory=list)
    run: RunResult | None = None
    edges: list[EdgeResult] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)
    """Issues of outputs that no edge carries (their own schema, snapshot drift)."""
    cases: list[TestCaseResult] = Field(default_factory=list)
    inputs: list[InputCheck] = Field(default_factory=list)
    samples: dict[str, dict[str, list[dict[str, Any]]]] = Field(default_factory=dict)
    """step -> output -> its first rows (at most ``max_sample_size``)."""
    metrics: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """step (or case) -> the metrics it wrote, flattened to dotted names."""


class Report(BaseModel):
    """What one command found; ``report.json``."""

    cit_report: str
    """The command: run, test-flow, test-script, test-s3, test-all."""
    schema_version: int = SCHEMA_VERSION
    cit_version: str = __version__
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    outcome: Outcome
    exit_code: int
    """Decided with ``outcome`` by ``verdict.verdict_of``: 0 passed, 1 failed, 2 bad input or
    environment, 130 interrupted."""
    steps_only: bool = False
    """``cit run --steps-only``: data-flow findings are reported, and their items skipped
    rather than failed, so only the steps decide the verdict."""
    duration_seconds: float = 0.0
    suites: list[Suite] = Field(default_factory=list)

    @property
    def tests(self) -> list[TestItem]:
        return [test for suite in self.suites for test in suite.tests]


# -- outcomes ---------------------------------------------------------------------------------

_STEP_OUTCOME = {status: outcome_of_status(status.value) for status in Status}


def _suite_outcome(tests: list[TestItem]) -> Outcome:
    return overall(test.outcome for test in tests)


# -- pipelines --------------------------------------------------------------------------------


STEPS_ONLY = "not judged (--steps-only)"


def pipeline_suite(
    flow: DataFlowTestResult,
    run: RunResult,
    *,
    max_sample_size: int = DEFAULT_SAMPLE_SIZE,
    judge_flow: bool = True,
) -> Suite:
    """A pipeline run as a suite: a test per step, one per edge it tested, and one per
    expectation on its outputs. Without ``judge_flow`` (``cit run --steps-only``) a failed
    edge, output or expectation is reported as skipped."""
    flow_tests = [edge_test(edge) for edge in flow.edges]
    flow_tests += [_output_issue_test(issue) for issue in flow.output_issues]
    flow_tests += [expectation_test(result) for result in flow.expectations]
    if not judge_flow:
        flow_tests = [_not_judged(test) for test in flow_tests]
    tests = [step_test(step, run.run_dir) for step in run.steps] + flow_tests
    finished = run.finished_at or time.time()
    return Suite(
        name=run.pipeline,
        kind="pipeline",
        file=run.pipeline_file,
        run_dir=run.run_dir,
        outcome=_suite_outcome(tests),
        duration_seconds=round(max(0.0, finished - run.started_at), 3),
        tests=tests,
        run=run,
        edges=flow.edges,
        issues=flow.output_issues,
        samples={s.name: output_samples(s, max_sample_size) for s in run.steps if s.outputs},
        metrics={s.name: m for s in run.steps if (m := step_metrics(s))},
    )


def _not_judged(test: TestItem) -> TestItem:
    if test.outcome is not Outcome.FAILED:
        return test
    return test.model_copy(
        update={"outcome": Outcome.SKIPPED, "message": f"{STEPS_ONLY}: {test.message}"}
    )


def step_test(step: StepResult, run_dir: str | None = None) -> TestItem:
    outcome = _STEP_OUTCOME[step.status]
    problem = None if outcome in (Outcome.PASSED, Outcome.SKIPPED) else _step_problem(step)
    failure_type = step.status.value if problem else None
    errors = [i for i in step.findings if i.is_error]
    if outcome is Outcome.PASSED and errors:
        outcome, problem, failure_type = Outcome.FAILED, issue_line(errors[0]), errors[0].rule
    hints = list(step.hints) if problem else []
    findings = [issue_line(i) for i in step.findings]
    return TestItem(
        name=step.name,
        classname=step.name,
        kind="step",
        outcome=outcome,
        duration_seconds=step.duration_seconds or 0.0,
        message=with_hints(problem, hints) if problem else _passing_message(step, outcome),
        failure_type=failure_type,
        details=_details(problem, hints, findings),
        log_tail=list(step.log_tail),
        hints=hints,
        run_dir=run_dir,
        cached_from=step.cached_from,
    )


def _passing_message(step: StepResult, outcome: Outcome) -> str | None:
    """Why a step was skipped, or what a condition step found and which branch it took."""
    if outcome is Outcome.SKIPPED:
        return step.reason
    if step.cached_from is not None:
        return f"cached: not run, outputs of run {step.cached_from}"
    return step.message if step.condition is not None else None


def _details(problem: str | None, hints: list[str], findings: list[str]) -> list[str]:
    """The problem, what cit can tell of its cause, and what the step left behind."""
    lines = [problem, *(f"hint: {h}" for h in hints)] if problem else []
    return lines + [f for f in findings if f != problem]


def with_hints(message: str, hints: list[str]) -> str:
    """A failure's message with what cit can tell of its cause at the end of its first line
    (the line JUnit and the HTML tables show)."""
    first, newline, rest = message.partition("\n")
    return " ".join([first, *(f"(hint: {h})" for h in hints)]) + newline + rest


def _step_problem(step: StepResult) -> str:
    code = f" (exit code {step.exit_code})" if step.exit_code is not None else ""
    reason = step.message or step.reason or step.status.value
    return f"{step.status.value}{code}: {reason}"


def edge_test(edge: EdgeResult) -> TestItem:
    """An edge fails when its data broke a rule (an error issue); a consumer that broke on
    data that broke none is that step's failure, not the edge's. It is skipped when nothing
    could flow (its producer did not succeed: that step's own test fails) or nothing read it."""
    errors = [i for i in edge.issues if i.is_error]
    lines = [issue_line(i) for i in edge.issues]
    if not edge.producer_status.ok:
        return TestItem(
            name=edge.edge,
            classname=edge.consumer,
            kind="edge",
            outcome=Outcome.SKIPPED,
            message=f"nothing flowed: '{edge.producer}' did not succeed",
            details=lines,
        )
    broken = bool(errors)
    outcome = Outcome.FAILED if broken else Outcome.PASSED
    if not broken and edge.consumer_status in (Status.SKIPPED, Status.PENDING):
        outcome = Outcome.SKIPPED
    if not broken and edge.consumer_status in (Status.INTERRUPTED, Status.RUNNING):
        outcome = Outcome.INTERRUPTED
    return TestItem(
        name=edge.edge,
        classname=edge.consumer,
        kind="edge",
        outcome=outcome,
        message=issue_line(errors[0]) if errors else None,
        failure_type=errors[0].rule if errors else None,
        details=lines,
    )


def _output_issue_test(issue: Issue) -> TestItem:
    return TestItem(
        name=issue.edge or issue.step or issue.rule,
        classname=issue.step or "",
        kind="edge",
        outcome=Outcome.FAILED if issue.is_error else Outcome.PASSED,
        message=issue_line(issue),
        failure_type=issue.rule,
        details=[issue_line(issue)],
    )


_EXPECTATION_OUTCOME = {
    "passed": Outcome.PASSED,
    "failed": Outcome.FAILED,
    "skipped": Outcome.SKIPPED,
}


def expectation_test(result: ExpectationResult) -> TestItem:
    """An expectation on the pipeline's outputs; a missed check of warning severity passes
    with its warning as a detail."""
    outcome = _EXPECTATION_OUTCOME[result.outcome]
    checked = result.actual if isinstance(result, QualityResult) else None
    warned = outcome is Outcome.PASSED and checked is not None and not checked.passed
    return TestItem(
        name=result.name,
        classname=result.step,
        kind="expectation",
        outcome=outcome,
        message=result.message,
        failure_type=result.kind if outcome is Outcome.FAILED else None,
        details=[result.message] if outcome is Outcome.FAILED or warned else [],
        expectation=result,
    )


def issue_line(issue: Issue) -> str:
    """One issue in one line: severity, rule, what, and the fix."""
    fix = f" (fix: {issue.hint})" if issue.hint else ""
    return f"{issue.severity.value} [{issue.rule}] {issue.description}{fix}"


# -- scripts ----------------------------------------------------------------------------------


def script_suite(
    result: ScriptTestResult, *, file: str | None = None, started: float | None = None
) -> Suite:
    """A script's test cases as a suite: a test per case."""
    tests = [case_test(case, result.script) for case in result.test_results]
    return Suite(
        name=result.script,
        kind="script",
        file=file,
        outcome=_suite_outcome(tests),
        duration_seconds=round(sum(c.duration_seconds for c in result.test_results), 3),
        tests=tests,
        cases=list(result.test_results),
        metrics={c.name: m for c in result.test_results if (m := case_metrics(c, result.script))},
    )


def case_test(case: TestCaseResult, script: str) -> TestItem:
    if case.interrupted:
        outcome = Outcome.INTERRUPTED
    else:
        outcome = Outcome.PASSED if case.passed else Outcome.FAILED
    lines = [f"{f.kind}: {f.message}" for f in case.failures]
    if not lines and case.error_message:
        lines = [case.error_message]
    lines += [f"warning, {f.kind}: {f.message}" for f in case.warnings]
    hints = list(case.hints) if outcome is Outcome.FAILED else []
    message = EXPECTED_FAILURE if case.failed_as_expected else case.error_message
    return TestItem(
        name=case.name,
        classname=script,
        kind="case",
        outcome=outcome,
        duration_seconds=case.duration_seconds,
        message=with_hints(message, hints) if message else None,
        failure_type=case.failures[0].kind if case.failures else None,
        details=[*lines, *(f"hint: {h}" for h in hints)],
        log_tail=_case_log_tail(case, script),
        hints=hints,
        run_dir=str(case.run_dir) if case.run_dir else None,
        expected_failure=case.expected_to_fail,
    )


def s3_suite(result: S3TestResult, *, file: str | None = None) -> Suite:
    """A script run on S3 data: a test per checked input, and one for the run."""
    tests = [_input_test(check, result.script) for check in result.inputs]
    tests.append(case_test(result.test, result.script))
    return Suite(
        name=result.script,
        kind="script",
        file=file,
        outcome=_suite_outcome(tests),
        duration_seconds=result.test.duration_seconds,
        tests=tests,
        cases=[result.test],
        inputs=result.inputs,
        metrics={result.test.name: result.performance_metrics}
        if result.performance_metrics
        else {},
    )


def _input_test(check: InputCheck, script: str) -> TestItem:
    errors = [i for i in check.issues if i.is_error]
    return TestItem(
        name=f"{check.source} -> {script}.{check.channel}",
        classname=script,
        kind="input",
        outcome=Outcome.FAILED if errors else Outcome.PASSED,
        message=issue_line(errors[0]) if errors else None,
        failure_type=errors[0].rule if errors else None,
        details=[issue_line(i) for i in check.issues],
    )


# -- what the HTML shows ------------------------------------------------------------------------


def output_samples(step: StepResult, limit: int) -> dict[str, list[dict[str, Any]]]:
    """The first ``limit`` rows of each output of ``step`` that holds a table."""
    samples: dict[str, list[dict[str, Any]]] = {}
    for output in step.outputs:
        if limit <= 0 or output.profile is None or not output.profile.datasets:
            continue
        rows = table_sample(Path(output.path), limit)
        if rows:
            samples[output.name] = rows
    return samples


def table_sample(folder: Path, limit: int) -> list[dict[str, Any]]:
    """The first rows of the table(s) under ``folder`` as JSON-ready dicts; none if unreadable."""

    try:
        table = read_head(folder, limit)
    except (CitError, OSError, ValueError):
        return []
    return [_json_ready(row) for row in table.to_pylist()]


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    def value(item: Any) -> Any:
        if item is None or isinstance(item, bool | int | str):
            return item
        if isinstance(item, float):
            return item if item == item and abs(item) != float("inf") else str(item)
        return str(item)

    return {str(key): value(item) for key, item in row.items()}


def step_metrics(step: StepResult) -> dict[str, Any]:
    """The metrics a step wrote (a metrics.json in its outputs), flattened."""

    if not step.outputs:
        return {}
    return read_metrics(Path(step.outputs[0].path).parent, DEFAULT_METRICS_FILE)


def _case_log_tail(case: TestCaseResult, script: str, lines: int = 40) -> list[str]:
    if case.run_dir is None:
        return []
    return tail_lines(case.run_dir / "steps" / script / "log.txt", lines)


# -- the report -------------------------------------------------------------------------------


def build_report(
    command: str,
    suites: list[Suite],
    *,
    started: float | None = None,
    interrupted: bool = False,
    bad_input: bool = False,
    steps_only: bool = False,
) -> Report:
    """The report of ``command`` over ``suites``: its outcome and exit code are the verdict on
    every item and suite (``verdict_of``); ``interrupted`` and ``bad_input`` as there."""
    outcomes = [s.outcome for s in suites] + [t.outcome for s in suites for t in s.tests]
    verdict = verdict_of(outcomes, interrupted=interrupted, bad_input=bad_input)
    duration = (
        time.time() - started if started is not None else sum(s.duration_seconds for s in suites)
    )
    return Report(
        cit_report=command,
        outcome=verdict.outcome,
        exit_code=verdict.exit_code,
        steps_only=steps_only,
        duration_seconds=round(duration, 3),
        suites=suites,
    )


def load_report(path: Path) -> Report:
    """A report read back from ``report.json``."""
    return Report.model_validate_json(path.read_text(encoding="utf-8"))


def report_schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json`` (what ``report.schema.json`` holds)."""
    schema = Report.model_json_schema()
    schema["title"] = f"cit report, schema version {SCHEMA_VERSION}"
    return schema


def shipped_schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
