"""``cit test-all``: everything an integration-test configuration asks for, in one command.

Each of ``test_scenarios`` is a data-flow test of its pipeline (every step, every edge), with
its test data, timeout cap and optional upload of the outputs to an isolated S3 prefix; each of
``script_tests`` runs its cases like ``cit test-script``; ``data_quality_checks`` run on every
table output of the scenarios' steps that succeeded (``global_quality``). Every part of the
configuration is checked (files, steps, inputs, cases, check references, images, buckets)
before anything runs (``test_all_plan``).

Scenarios run one after another, then the script tests; one that fails does not stop the
others, and Ctrl-C (``cancel``) stops the one running and marks the rest interrupted. The
result is one ``report_model.Suite`` per scenario and per script test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..aws.s3 import test_environment
from ..dataflow.tester import test_flow
from ..engines.base import Isolation
from ..errors import CitError
from ..pipeline.model import Pipeline
from ..report.model import (
    Outcome,
    Report,
    Suite,
    TestItem,
    TestKind,
    build_report,
    overall,
    pipeline_suite,
    script_suite,
)
from ..run.context import RunContext
from ..run.observer import RunObserver
from ..run.pipeline_run import FollowDownload, fetch_inputs, s3_fetcher, s3_inputs
from ..run.results import RunResult, Status
from ..run.rundir import read_manifest
from ..run.secrets import with_host_secrets
from ..run.settings import RunSettings
from ..scripttest.case_checks import ScriptTestResult
from ..scripttest.runner import default_engine, interrupted, run_script_tests, with_case_secrets
from .config import ExecutionConfig, IntegrationTestConfig
from .plan import Plan, Scenario, ScriptTest, prepare
from .quality import quality_items
from .s3_manager import upload_run_outputs

if TYPE_CHECKING:
    from ..aws.s3 import Download
    from ..aws.s3_uris import S3Uri

__all__ = [
    "TestAllResult",
    "needs_containers",
    "run_all",
    "run_settings",
    "suite_line",
]

NOT_RUN = "not run: cit test-all was interrupted"
UPLOAD_TEST = "upload outputs"


@dataclass
class TestAllResult:
    """The suites of one ``cit test-all``, whether it was interrupted, and the errors that
    kept a part of it from running (an S3 fetch or upload)."""

    __test__ = False

    suites: list[Suite]
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 every test passed, 1 one did not, 2 something could not be run, 130 interrupted
        (``verdict.verdict_of``)."""
        return self.report(started=None).exit_code

    def report(self, started: float | None) -> Report:
        """The report of this ``cit test-all`` (``started``: when it started)."""
        return build_report(
            "test-all",
            self.suites,
            started=started,
            interrupted=self.interrupted,
            bad_input=bool(self.errors),
        )


def run_settings(settings: RunSettings, execution: ExecutionConfig) -> RunSettings:
    """``settings`` with the ``execution`` section applied: ``container_image`` as the default
    image, ``max_workers`` (1 without ``parallel_execution``), the log limit, ``pids_limit``."""
    workers = (execution.max_workers or settings.max_workers) if execution.parallel_execution else 1
    return replace(
        execution.limits_of(settings),
        image=execution.container_image or settings.image,
        max_workers=workers,
    )


def needs_containers(config: IntegrationTestConfig) -> bool:
    """Whether the configuration runs anything in containers (and so needs a Docker engine)."""
    container_scripts = config.execution.isolation_mode == "container" and config.script_tests
    return bool(config.test_scenarios or container_scripts)


@dataclass
class _Runner:
    """Runs the suites of a plan one by one, and keeps the errors that make the exit code 2."""

    config: IntegrationTestConfig
    plan: Plan
    context: RunContext
    """What the scenarios' runs share; the script tests' cases have their own observer."""
    case_observer: RunObserver | None
    errors: list[str] = field(default_factory=list)
    """CitErrors met while running (an S3 fetch or upload): exit code 2."""

    def scenario(self, scenario: Scenario) -> Suite:
        if self.context.cancelled:
            return _not_run(scenario)
        assert self.context.engine is not None
        try:
            pipeline = self._fetched(scenario.pipeline)
        except CitError as exc:
            return self._error_suite(scenario, "input", "fetch S3 inputs", exc)
        try:
            flow = test_flow(pipeline, scenario.file, self.context)
            run = read_manifest(Path(flow.run_dir))
        except CitError as exc:
            return self._error_suite(scenario, "step", "run", exc)
        suite = pipeline_suite(flow, run, max_sample_size=self.config.reporting.sample_size)
        tests = list(suite.tests)
        if run.status is not Status.INTERRUPTED:
            tests += self._after_run(scenario, run)
        outcome = overall(test.outcome for test in tests)
        return suite.model_copy(
            update={"name": scenario.config.name, "tests": tests, "outcome": outcome}
        )

    def _after_run(self, scenario: Scenario, run: RunResult) -> list[TestItem]:
        """The global data-quality checks on a scenario's outputs, then their upload."""
        size = self.config.reporting.sample_size
        plan = self.plan
        tests = quality_items(plan.checks, scenario.pipeline, run, plan.references, size)
        if scenario.upload is not None:
            tests.append(self._upload(scenario.upload, run))
        return tests

    def script_test(self, test: ScriptTest) -> Suite:
        isolation: Isolation = self.config.execution.isolation_mode
        if self.context.cancelled:
            result = ScriptTestResult(
                script=test.step.name, test_results=[interrupted(c, isolation) for c in test.cases]
            )
        else:
            engine = self.context.engine if isolation == "container" else default_engine("process")
            cases = replace(
                self.context,
                engine=engine,
                observer=self.case_observer or self.context.observer,
                isolation=isolation,
            )
            try:
                result = run_script_tests(test.step, test.cases, cases, source_file=test.source)
            except CitError as exc:
                return self._cases_error(test, exc)
        suite = script_suite(result, file=str(test.source))
        return suite.model_copy(update={"name": test.name})

    def _cases_error(self, test: ScriptTest, exc: CitError) -> Suite:
        """A script test whose cases could not run: its one test says why."""
        self.errors.append(str(exc))
        item = _error_item("cases", test.step.name, "case", exc)
        return Suite(
            name=test.name,
            kind="script",
            file=str(test.source),
            outcome=Outcome.ERROR,
            tests=[item],
        )

    def _fetched(self, pipeline: Pipeline) -> Pipeline:
        if not s3_inputs(pipeline):
            return pipeline
        assert self.context.fetch_s3 is not None
        return fetch_inputs(pipeline, self.context.fetch_s3)

    def _error_suite(self, scenario: Scenario, kind: TestKind, name: str, exc: CitError) -> Suite:
        """A scenario that could not run: its one test says why."""
        self.errors.append(str(exc))
        item = _error_item(name, scenario.pipeline.name, kind, exc)
        return Suite(
            name=scenario.config.name,
            kind="pipeline",
            file=str(scenario.file),
            outcome=Outcome.ERROR,
            tests=[item],
        )

    def _upload(self, target: S3Uri, run: RunResult) -> TestItem:
        """Every output of every step that succeeded, uploaded under a prefix of its own."""
        item, failed = upload_outputs(target, run, self.config)
        if failed:
            self.errors.append(item.message or "upload failed")
        return item


def upload_outputs(
    target: S3Uri, run: RunResult, config: IntegrationTestConfig
) -> tuple[TestItem, bool]:
    """Upload the outputs of the steps of ``run`` that succeeded into an isolated test prefix
    under ``target`` (removed at the end unless ``cleanup_after_test`` is false), as a test;
    and whether it failed."""

    s3 = config.s3_integration
    lines: list[str] = []
    started = time.monotonic()
    try:
        with test_environment(
            target.bucket,
            run.pipeline,
            s3.s3_settings(),
            cleanup=s3.cleanup_after_test,
            under=target.key,
        ) as env:
            for line in upload_run_outputs(env, run):
                lines.append(line)
    except CitError as exc:
        return _error_item(UPLOAD_TEST, run.pipeline, "step", exc, lines), True
    where = f"{len(env.uploads)} output(s) uploaded under {env.uri}"
    if s3.cleanup_after_test:
        where += f", then removed ({env.removed} object(s))"
    else:
        where += ", kept (cleanup_after_test: false)"
    item = TestItem(
        name=UPLOAD_TEST,
        classname=run.pipeline,
        kind="step",
        outcome=Outcome.PASSED,
        duration_seconds=round(time.monotonic() - started, 3),
        message=where,
        details=[*lines, where],
    )
    return item, False


def _error_item(
    name: str, classname: str, kind: TestKind, exc: CitError, details: Sequence[str] = ()
) -> TestItem:
    return TestItem(
        name=name,
        classname=classname,
        kind=kind,
        outcome=Outcome.ERROR,
        message=str(exc),
        failure_type=type(exc).__name__,
        details=[*details, str(exc)],
    )


def _not_run(scenario: Scenario) -> Suite:
    """A scenario that Ctrl-C kept from starting."""
    tests = [
        TestItem(name=name, classname=name, kind="step", outcome=Outcome.SKIPPED, message=NOT_RUN)
        for name in scenario.pipeline.steps
    ]
    return Suite(
        name=scenario.config.name,
        kind="pipeline",
        file=str(scenario.file),
        outcome=Outcome.INTERRUPTED,
        tests=tests,
    )


def run_all(
    config: IntegrationTestConfig,
    context: RunContext,
    *,
    case_observer: RunObserver | None = None,
    on_suite: Callable[[Suite], None] | None = None,
    on_download: Callable[[Download], None] | None = None,
    follow_download: FollowDownload | None = None,
) -> TestAllResult:
    """Check the whole configuration, then run its scenarios and script tests, one suite each.

    The context's engine runs the containers; without one, the Docker engine is connected
    when the configuration needs containers (``needs_containers``). Its settings get the
    ``execution`` section applied (``run_settings``). Its observer follows the scenarios' runs
    and ``case_observer`` (default: the context's) the script tests' cases; ``on_suite`` is
    told of each suite as it ends and ``on_download`` of each S3 download (made with the
    ``s3_integration`` settings, unless the context has a fetcher of its own), which
    ``follow_download`` shows while it runs. Mistakes in the configuration are
    ``InputError``s raised before anything runs."""
    cancel = context.cancel or threading.Event()
    settings = run_settings(context.settings, config.execution)
    engine = context.engine
    if engine is None and needs_containers(config):
        engine = default_engine("container")
    plan = prepare(config, engine, settings, context.build_default)

    def fetch(uri: str) -> Path:
        """An S3 download with the configuration's settings, read when one is needed."""
        settings = config.s3_integration.s3_settings()
        return s3_fetcher(settings, report=on_download, follow=follow_download)(uri)

    context = replace(
        context,
        engine=engine,
        settings=with_secrets(settings, plan),
        cancel=cancel,
        fetch_s3=context.fetch_s3 or fetch,
    )
    runner = _Runner(config, plan, context, case_observer)
    suites: list[Suite] = []

    def done(suite: Suite) -> None:
        suites.append(suite)
        if on_suite is not None:
            on_suite(suite)

    for scenario in plan.scenarios:
        done(runner.scenario(scenario))
    for test in plan.script_tests:
        done(runner.script_test(test))
    return TestAllResult(suites=suites, interrupted=cancel.is_set(), errors=runner.errors)


def with_secrets(settings: RunSettings, plan: Plan) -> RunSettings:
    """``settings`` holding every secret the plan's scenarios and script tests need, read
    from the host environment before anything runs."""
    for scenario in plan.scenarios:
        settings = with_host_secrets(settings, scenario.pipeline.steps.values(), scenario.file)
    for test in plan.script_tests:
        settings = with_case_secrets(settings, test.step, test.cases, test.source)
    return settings


def suite_line(suite: Suite) -> str:
    """One line about a suite: "pipeline tabular: passed (6 passed, 1 skipped)"."""
    counts: dict[str, int] = {}
    for test in suite.tests:
        counts[test.outcome.value] = counts.get(test.outcome.value, 0) + 1
    parts = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    return f"{suite.kind} {suite.name}: {suite.outcome.value} ({parts or 'no tests'})"
