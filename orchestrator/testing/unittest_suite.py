"""cit tests as unittest tests, and the running they share with the pytest plugin.

``IntegrationTestSuite.for_pipeline("pipeline.py")`` is a ``unittest.TestSuite`` with a test per
step, edge and expectation of the pipeline; ``IntegrationTestSuite.for_test_cases("cases.yaml")``
has a test per case of a test-case file that names its script (``script:``, with ``dag:`` for a
step of a pipeline). The pipeline, or the file's cases, run once, when the first of their tests
runs; each test then gives its own verdict. A test module hands them to unittest with
``load_tests``::

    from orchestrator.unittest_suite import IntegrationTestSuite

    def load_tests(loader, tests, pattern):
        tests.addTests(IntegrationTestSuite.for_pipeline("pipelines/fraud.py"))
        tests.addTests(IntegrationTestSuite.for_test_cases("test_cases/preprocess.yaml"))
        return tests

Inside a test of your own, an instance runs a pipeline or a script's cases and returns the
result::

    class PipelineIntegrationTests(unittest.TestCase):
        def setUp(self):
            self.integration_suite = IntegrationTestSuite()

        def test_fraud_detection_pipeline(self):
            result = self.integration_suite.test_pipeline("fraud_detection.py")
            self.assertTrue(result.all_tests_passed, result.problems)

Relative paths are read from the working directory; runs are written under ``.cit`` there.
"""

from __future__ import annotations

import sys
import threading
import time
import unittest
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from ..dataflow.tester import PipelineDataFlowTester, test_flow, with_test_data
from ..engines import docker_engine, image_build
from ..errors import InputError
from ..files import FieldError
from ..pipeline.expectations import named
from ..pipeline.sagemaker_definition import DefinitionOptions, definition_options
from ..pipeline.wiring import wires
from ..report.model import (
    Outcome,
    Report,
    Suite,
    TestItem,
    TestKind,
    build_report,
    case_test,
    pipeline_suite,
)
from ..run.context import RunContext
from ..run.pipeline_run import load_and_validate
from ..run.rundir import read_manifest
from ..run.settings import RunSettings
from ..scripttest.cases import cases_from_data, load_test_cases
from ..scripttest.runner import pipeline_step, resolve_step, run_script_tests, script_step
from ..terminal_text import visible

if TYPE_CHECKING:
    from ..dataflow.edges import DataFlowTestResult
    from ..engines.base import Engine
    from ..pipeline.dag import PipelineDAG
    from ..pipeline.model import Pipeline, Step
    from ..run.results import RunResult, Status, StepResult
    from ..scripttest.case_checks import ScriptTestResult
    from ..scripttest.cases import TestCase, TestCaseFile

__unittest = True
"""Leaves this module's frames out of unittest's failure tracebacks: a failure is its lines."""

LOG_LINES = 10
"""Lines of a failed step's log shown with its failure in unittest."""
T = TypeVar("T")
ImageBuilder = Callable[[str], None]


class CitTestFailure(AssertionError):
    """A step, edge or test case that did not pass: one line per problem."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class CitWarning(UserWarning):
    """A problem of warning severity in a test that passed (an edge's schema warning, a
    missed expectation of warning severity)."""


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOutcome:
    """A pipeline run with its edges checked: what ``cit_run`` and ``test_pipeline`` return."""

    flow: DataFlowTestResult
    run: RunResult
    report: Report

    @property
    def ok(self) -> bool:
        """Every step succeeded, every edge carried data its consumer could use and every
        expectation on the outputs was met."""
        return self.report.outcome is Outcome.PASSED

    @property
    def all_tests_passed(self) -> bool:
        return self.ok

    @property
    def status(self) -> Status:
        return self.run.status

    @property
    def steps(self) -> dict[str, StepResult]:
        """Each step's result by name."""
        return {step.name: step for step in self.run.steps}

    @property
    def run_dir(self) -> Path:
        return Path(self.run.run_dir)

    @property
    def suite(self) -> Suite:
        return self.report.suites[0]

    def __repr__(self) -> str:  # short, for pytest's assertion messages
        return (
            f"RunOutcome(pipeline={self.run.pipeline!r}, status={self.status.value!r}, "
            f"ok={self.ok}, run_dir={str(self.run_dir)!r})"
        )

    @property
    def problems(self) -> list[str]:
        """One line per problem of every step, edge or expectation that did not pass, for
        assert messages."""
        return [
            f"{test.name}: {line}"
            for test in pipeline_verdicts(self.suite).values()
            if test.outcome not in (Outcome.PASSED, Outcome.SKIPPED)
            for line in test.details or [test.message or test.outcome.value]
        ]


@dataclass(frozen=True)
class CaseTarget:
    """A test-case file that names its script, with the step it tests."""

    cases: TestCaseFile
    step: Step
    source: Path
    """The file the step comes from: the pipeline, or the script itself."""


# -- running ----------------------------------------------------------------------------------


class CitRunner:
    """Runs pipelines and test cases for the pytest plugin and for unittest: one engine for all
    of them, connected on first use (the Docker engine unless ``find_engine`` gives one), the
    runner image built when that engine lacks it, run directories under ``cit_dir``."""

    def __init__(
        self,
        cit_dir: Path,
        *,
        find_engine: Callable[[], Engine | None] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.cit_dir = cit_dir
        self._find_engine = find_engine or (lambda: None)
        self._say = say or _to_stderr
        self._engine: Engine | None = None
        self._build: ImageBuilder | None = None
        self._failed: Exception | None = None
        self._lock = threading.Lock()

    def engine(self) -> Engine:
        """The engine, connected once; a failure to connect is raised again on every call."""
        with self._lock:
            if self._failed is not None:
                raise self._failed
            if self._engine is None:
                try:
                    self._engine = self._connect()
                except Exception as exc:
                    self._failed = exc
                    raise
            return self._engine

    def _connect(self) -> Engine:
        given = self._find_engine()
        if given is not None:
            return given

        docker = docker_engine.connect()
        self._build = self._image_builder(docker)
        return docker

    def _image_builder(self, docker: Any) -> ImageBuilder:
        """Build the runner image as ``cit run`` does, its progress shown line by line."""

        def build(tag: str) -> None:
            self._say(f"building runner image {tag} (once; later runs reuse it)")
            tools = docker.image_tools()
            image_build.build_runner_image(tools, tag=tag, on_line=lambda x: self._say(f"  {x}"))

        return build

    def settings(self, **changes: Any) -> RunSettings:
        return RunSettings(cit_dir=self.cit_dir, **changes)

    def run_pipeline(
        self,
        pipeline: Pipeline,
        file: Path,
        *,
        settings: RunSettings | None = None,
        path: Sequence[str] | None = None,
        update_snapshots: bool = False,
    ) -> RunOutcome:
        """Run the pipeline (the steps ``path`` needs, all without one) and check its edges."""

        engine, started, cancel = self.engine(), time.time(), threading.Event()
        context = RunContext(
            engine=engine,
            settings=settings or self.settings(),
            build_default=self._build,
            cancel=cancel,
        )
        flow = test_flow(pipeline, file, context, path=path, update_snapshots=update_snapshots)
        _stop_if(cancel)
        run = read_manifest(Path(flow.run_dir))
        report = build_report("test-flow", [pipeline_suite(flow, run)], started=started)
        return RunOutcome(flow=flow, run=run, report=report)

    def run_cases(
        self,
        target: CaseTarget,
        names: Collection[str] | None = None,
        *,
        settings: RunSettings | None = None,
    ) -> ScriptTestResult:
        """The cases of ``target`` named in ``names`` (all without), one after the other."""
        chosen = [c for c in target.cases.test_cases if names is None or c.name in names]
        return self.run_script(target.step, chosen, target.source, settings=settings)

    def run_script(
        self,
        step: Step,
        cases: Sequence[TestCase],
        source: Path,
        *,
        settings: RunSettings | None = None,
    ) -> ScriptTestResult:

        engine, cancel = self.engine(), threading.Event()
        context = RunContext(
            engine=engine,
            settings=settings or self.settings(max_workers=1),
            build_default=self._build,
            cancel=cancel,
        )
        result = run_script_tests(step, cases, context, source_file=source)
        _stop_if(cancel)
        return result


def _stop_if(cancel: threading.Event) -> None:
    """Ctrl-C stopped the run (and the executor tidied up): stop the whole test session."""
    if cancel.is_set():
        raise KeyboardInterrupt


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- what is tested ---------------------------------------------------------------------------


def load_pipeline_file(
    pipeline: str | Path | Pipeline | PipelineDAG, definition: DefinitionOptions | None = None
) -> tuple[Pipeline, Path]:
    """A pipeline and its file: read from a file (a SageMaker pipeline's parameters and code
    folder from ``definition``), or an object (validated; its file is where a file of its name
    would be, for snapshots)."""

    if definition and isinstance(pipeline, str | Path):
        return load_and_validate(Path(pipeline), definition=definition), Path(pipeline)
    tester = PipelineDataFlowTester(pipeline)
    return tester.pipeline, tester.file


def pipeline_tests(pipeline: Pipeline) -> list[tuple[TestKind, str]]:
    """What a pipeline's run is judged on, as named in its report: each step, each edge, then
    each expectation on its outputs."""

    steps: list[tuple[TestKind, str]] = [("step", name) for name in pipeline.steps]
    edges: list[tuple[TestKind, str]] = [("edge", str(wire)) for wire in wires(pipeline.steps)]
    expected: list[tuple[TestKind, str]] = [
        ("expectation", name) for name, _ in named(pipeline.expectations)
    ]
    return steps + edges + expected


def load_case_target(path: Path) -> CaseTarget:
    """A test-case file that says which script it tests, and that step; ``InputError`` when
    the file names none, or names a step its pipeline does not have."""

    cases = load_test_cases(path)
    if cases.script is None:
        raise InputError(
            "names no script; add 'script: STEP' with 'dag: PIPELINE', or 'script: FILE.py'",
            file=path,
        )
    if cases.dag is None:
        source = Path(cases.script)
        return CaseTarget(cases, script_step(source, cases.contract), source)
    pipeline = load_and_validate(cases.dag)
    if cases.script not in pipeline.steps:
        steps = ", ".join(pipeline.steps)
        message = f"no step named '{cases.script}' in {cases.dag}; steps: {steps}"
        raise InputError(message, file=path, field="script")
    return CaseTarget(cases, pipeline_step(pipeline, cases.script, cases.dag), cases.dag)


# -- verdicts ---------------------------------------------------------------------------------


def pipeline_verdicts(suite: Suite) -> dict[str, TestItem]:
    """The verdict on each step, edge and expectation of a pipeline suite, by name. A problem
    of an output no edge carries (its declared schema, snapshot drift) is a problem of the step
    that wrote it."""
    edges = {edge.edge for edge in suite.edges}
    steps = {step.name for step in suite.run.steps} if suite.run else set()
    verdicts: dict[str, TestItem] = {}
    extra: dict[str, list[TestItem]] = {}
    for test in suite.tests:
        own = test.kind == "expectation" or (test.kind == "step" and test.name in steps)
        if own or test.name in edges:
            verdicts[test.name] = test
        else:
            extra.setdefault(test.classname, []).append(test)
    for step, tests in extra.items():
        if step in verdicts:
            verdicts[step] = _with_output_tests(verdicts[step], tests)
    return verdicts


def _with_output_tests(step: TestItem, tests: list[TestItem]) -> TestItem:
    details = step.details + [line for test in tests for line in test.details]
    failed = next((t for t in tests if t.outcome is Outcome.FAILED), None)
    if failed is None or step.outcome is not Outcome.PASSED:
        return step.model_copy(update={"details": details})
    update = {
        "outcome": Outcome.FAILED,
        "message": failed.message,
        "failure_type": failed.failure_type,
        "details": details,
    }
    return step.model_copy(update=update)


def pipeline_verdict(outcome: RunOutcome, name: str) -> TestItem:
    """The verdict on the step or edge ``name`` of a run."""
    found = pipeline_verdicts(outcome.suite).get(name)
    if found is not None:
        return found.model_copy(update={"run_dir": found.run_dir or str(outcome.run_dir)})
    return _not_judged(name, "step", f"the run of {outcome.run.pipeline} did not judge '{name}'")


def case_verdict(result: ScriptTestResult, name: str) -> TestItem:
    """The verdict on the case ``name`` of a script's results."""

    for case in result.test_results:
        if case.name == name:
            return case_test(case, result.script)
    return _not_judged(name, "case", f"the case '{name}' did not run")


def _not_judged(name: str, kind: TestKind, message: str) -> TestItem:
    return TestItem(name=name, classname=name, kind=kind, outcome=Outcome.ERROR, message=message)


def failure_lines(test: TestItem, log_lines: int = 0) -> list[str]:
    """A verdict that did not pass, one line per problem, then where its run is (and, with
    ``log_lines``, the end of its log), control characters made visible."""
    lines = list(test.details) or [test.message or test.outcome.value]
    if test.run_dir:
        lines.append(f"run directory: {test.run_dir}")
    if log_lines and test.log_tail:
        lines += ["log (last lines):", *(f"  {line}" for line in test.log_tail[-log_lines:])]
    return [visible(line) for line in lines]  # shown on a terminal


def check_verdict(test: TestItem, skip: Callable[[str], NoReturn], log_lines: int = 0) -> None:
    """Pass, fail (``CitTestFailure``), skip (``skip``) or stop, as the verdict says; a passed
    test's warnings become ``CitWarning``s."""
    if test.outcome is Outcome.INTERRUPTED:
        raise KeyboardInterrupt
    if test.outcome is Outcome.SKIPPED:
        skip(test.message or "not run")
    if test.outcome in (Outcome.FAILED, Outcome.ERROR):
        raise CitTestFailure(failure_lines(test, log_lines))
    for line in test.details:
        warnings.warn(f"{test.name}: {line}", CitWarning, stacklevel=2)


class Once(Generic[T]):
    """A value computed on first use and kept, an exception too (raised again each time)."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = False

    def get(self) -> T:
        if not self._done:
            try:
                self._value = self._compute()
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                self._error = exc
            self._done = True
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


# -- unittest ---------------------------------------------------------------------------------


class _CitTest(unittest.TestCase):
    """One step, edge or test case as a unittest test."""

    __test__ = False  # built by IntegrationTestSuite; pytest collects cit files itself

    def __init__(self, label: str, verdict: Callable[[], TestItem]) -> None:
        super().__init__("runTest")
        self._label = label
        self._verdict = verdict

    def runTest(self) -> None:
        check_verdict(self._verdict(), _skip_test, LOG_LINES)

    def id(self) -> str:
        return self._label

    def __str__(self) -> str:
        return self._label

    def __repr__(self) -> str:
        return f"<cit test {self._label}>"

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def shortDescription(self) -> None:
        return None


def _skip_test(reason: str) -> NoReturn:
    raise unittest.SkipTest(reason)


class IntegrationTestSuite(unittest.TestSuite):
    """A unittest suite of cit tests: ``for_pipeline`` (a test per step, edge and expectation) and
    ``for_test_cases`` (a test per case); an instance also runs a pipeline (``test_pipeline``)
    or a script's cases (``test_script``) and returns the result.

    ``engine`` is the engine to run in (default: the Docker engine, connected on first use,
    the runner image built when missing); ``cit_dir`` where runs are written."""

    def __init__(
        self,
        tests: Iterable[unittest.TestCase | unittest.TestSuite] = (),
        *,
        engine: Engine | None = None,
        cit_dir: str | Path = ".cit",
    ) -> None:
        super().__init__(tests)
        self.runner = CitRunner(Path(cit_dir), find_engine=lambda: engine)

    @classmethod
    def for_pipeline(
        cls,
        pipeline: str | Path | Pipeline | PipelineDAG,
        *,
        engine: Engine | None = None,
        cit_dir: str | Path = ".cit",
    ) -> IntegrationTestSuite:
        """A test per step, edge and expectation of ``pipeline``; the first that runs runs the
        pipeline."""
        suite = cls(engine=engine, cit_dir=cit_dir)
        loaded, file = load_pipeline_file(pipeline)
        run = Once(lambda: suite.runner.run_pipeline(loaded, file))
        for _kind, name in pipeline_tests(loaded):
            label = f"{file.name}::{name}"
            suite.addTest(_CitTest(label, _verdict_of(run, pipeline_verdict, name)))
        return suite

    @classmethod
    def for_test_cases(
        cls,
        test_cases: str | Path,
        *,
        engine: Engine | None = None,
        cit_dir: str | Path = ".cit",
    ) -> IntegrationTestSuite:
        """A test per case of a test-case file that names its script; the first that runs
        runs them all."""
        suite = cls(engine=engine, cit_dir=cit_dir)
        target = load_case_target(Path(test_cases))
        results = Once(lambda: suite.runner.run_cases(target))
        for name in target.cases.names:
            label = f"{Path(test_cases).name}::{name}"
            suite.addTest(_CitTest(label, _verdict_of(results, case_verdict, name)))
        return suite

    def test_pipeline(
        self,
        pipeline: str | Path | Pipeline | PipelineDAG,
        *,
        path: Sequence[str] | None = None,
        test_data: Mapping[str, str | Path] | None = None,
        image: str | None = None,
        max_workers: int | None = None,
        update_snapshots: bool = False,
    ) -> RunOutcome:
        """Run ``pipeline`` (the steps ``path`` needs, all without one) and check its edges;
        ``test_data`` replaces inputs (``{"Step.input": path}``)."""
        return run_pipeline_with(
            self.runner,
            pipeline,
            self.runner.settings(),
            path=path,
            test_data=test_data,
            image=image,
            max_workers=max_workers,
            update_snapshots=update_snapshots,
        )

    def test_script(
        self,
        script: str | Path,
        test_cases: str | Path | Sequence[TestCase | dict[str, Any]],
        dag: str | Path | None = None,
        contract: str | Path | None = None,
    ) -> ScriptTestResult:
        """Run the cases of ``script`` (a step of ``dag``, or a script file)."""
        return run_script_with(
            self.runner, script, test_cases, self.runner.settings(max_workers=1), dag, contract
        )


def _verdict_of(
    once: Once[T], judge: Callable[[T, str], TestItem], name: str
) -> Callable[[], TestItem]:
    return lambda: judge(once.get(), name)


# -- the API both front ends offer ------------------------------------------------------------


def run_pipeline_with(
    runner: CitRunner,
    pipeline: str | Path | Pipeline | PipelineDAG,
    settings: RunSettings,
    *,
    path: Sequence[str] | None = None,
    test_data: Mapping[str, str | Path] | None = None,
    image: str | None = None,
    max_workers: int | None = None,
    update_snapshots: bool = False,
    base_dir: Path | None = None,
    params: Mapping[str, str | int | float | bool] | None = None,
    code_dir: str | Path | None = None,
) -> RunOutcome:
    """``pipeline`` run by ``runner`` with ``settings`` changed by the options given; relative
    paths (the pipeline's file, ``test_data``, ``code_dir``) are read from ``base_dir``
    (default: the working directory). ``params`` and ``code_dir`` are a SageMaker pipeline's
    (as ``--param`` and ``--code-dir``)."""

    base = base_dir or Path.cwd()
    folder = _at(base, code_dir) if code_dir is not None else None
    definition = definition_options(params, folder)
    loaded, file = load_pipeline_file(_at(base, pipeline), definition)
    if test_data:
        loaded = with_test_data(loaded, {key: _at(base, p) for key, p in test_data.items()})
    changes: dict[str, Any] = {}
    if image is not None:
        changes["image"] = image
    if max_workers is not None:
        changes["max_workers"] = max_workers
    return runner.run_pipeline(
        loaded,
        file,
        settings=replace(settings, **changes),
        path=list(path) if path else None,
        update_snapshots=update_snapshots,
    )


def run_script_with(
    runner: CitRunner,
    script: str | Path,
    test_cases: str | Path | Sequence[TestCase | dict[str, Any]],
    settings: RunSettings,
    dag: str | Path | None = None,
    contract: str | Path | None = None,
    base_dir: Path | None = None,
) -> ScriptTestResult:
    """The cases (a file, or cases as in a file) of ``script``: a step of ``dag``, or a
    script file (with ``contract`` if given). Relative paths, those of cases given as data
    too, are read from ``base_dir`` (default: the working directory)."""

    base = base_dir or Path.cwd()
    step, source = resolve_step(
        str(script) if dag is not None else str(_at(base, script)),
        dag=_at(base, dag) if dag is not None else None,
        contract=_at(base, contract) if contract is not None else None,
    )
    if isinstance(test_cases, str | Path):
        cases = load_test_cases(_at(base, test_cases)).test_cases
    else:
        try:
            cases = cases_from_data(list(test_cases), base).test_cases
        except FieldError as exc:
            raise InputError(exc.message, field=exc.field or None) from None
    return runner.run_script(step, cases, source, settings=settings)


def _at(base: Path, written: str | Path | T) -> Path | T:
    """A path written relative to ``base``; anything else (a pipeline object) as it is."""
    if isinstance(written, str | Path):
        path = Path(written).expanduser()
        return path if path.is_absolute() else base / path
    return written
