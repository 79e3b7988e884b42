"""The pytest plugin of cit (entry point ``pytest11``, on once cit is installed).

pytest collects, among the paths it is given:

- test-case files: YAML files named like ``cit_test_cases`` (default ``test_cases/*.yaml
  test_cases/*.yml``, matched from the right as ``python_files`` is) whose top level has
  ``test_cases:`` and ``script:``. An item per case, named by the case. The file's cases run
  once, when its first item runs; each item then passes or fails on its case.
- pipeline files listed by ``cit_pipelines`` (paths or globs relative to the rootdir; none by
  default). An item per step, per edge and per expectation on its outputs, named as in cit's
  reports (``preprocess``, ``preprocess.train -> train.train``, ``evaluate: auc_roc >= 0.8``).
  The pipeline runs once, when its first item runs.

A failed item's message is its problems, one line each, then its run directory. Runs are
written under ``cit_dir`` (default ``.cit`` in the rootdir); the engine is the Docker engine
(the runner image built when missing) unless a ``pytest_cit_engine`` hook gives one.

Fixtures: ``cit_run(pipeline, **options) -> RunOutcome``, ``cit_test_script(script,
test_cases, dag=None, contract=None) -> ScriptTestResult`` and ``cit_settings`` (the
``RunSettings`` they use: runs under ``tmp_path``). Relative paths given to them are read from
the rootdir. Every collected item is marked ``cit``.

The rest of cit is imported inside the hooks and fixtures that use it: pytest loads this plugin in
every session, also in one that runs no cit test, and the rest of the package takes ~0.4 s to
import.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import pytest

from ..errors import CitError, InputError
from ..terminal_text import visible

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from ..engines.base import Engine
    from ..pipeline.dag import PipelineDAG
    from ..pipeline.model import Pipeline
    from ..report.model import TestItem
    from ..run.settings import RunSettings
    from ..scripttest.case_checks import ScriptTestResult
    from ..scripttest.cases import TestCase
    from .unittest_suite import CaseTarget, CitRunner, Once, RunOutcome

CASES_INI = "cit_test_cases"
PIPELINES_INI = "cit_pipelines"
DIR_INI = "cit_dir"
DEFAULT_CASE_PATTERNS = ["test_cases/*.yaml", "test_cases/*.yml"]
CASE_SUFFIXES = (".yaml", ".yml", ".json")
MARKER = "cit"
"""The marker of every item the plugin collects: ``-m "not cit"`` leaves them out."""
LOG_LINES = 20
"""Lines of a failed item's log shown in its report section."""
_TOP_KEY = re.compile(r"^[\"']?(test_cases|script)[\"']?\s*:", re.MULTILINE)


class CitHooks:
    """Hooks a ``conftest.py`` may implement."""

    @pytest.hookspec(firstresult=True)
    def pytest_cit_engine(self, config: pytest.Config) -> Engine | None:
        """The engine cit's items and fixtures run in, e.g. a ``FakeEngine`` or a
        ``ProcessEngine``; None (no implementation) means the Docker engine."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(CitHooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        CASES_INI,
        "cit: glob patterns of test-case files to collect (those naming a 'script:')",
        type="args",
        default=DEFAULT_CASE_PATTERNS,
    )
    parser.addini(
        PIPELINES_INI,
        "cit: pipeline files to collect, an item per step, edge and expectation (paths or globs, "
        "relative to the rootdir)",
        type="args",
        default=[],
    )
    parser.addini(DIR_INI, "cit: where runs are written (relative to the rootdir)", default=".cit")


_STATE = pytest.StashKey["_CitState"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a cit test case, pipeline step or edge")
    config.stash[_STATE] = _CitState(config)


class _CitState:
    """The session's cit settings, runner and pipeline files."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.case_patterns: list[str] = list(config.getini(CASES_INI))
        self._pipelines: set[Path] | None = None
        self._runner: CitRunner | None = None

    @property
    def runner(self) -> CitRunner:
        if self._runner is None:
            from .unittest_suite import CitRunner

            self._runner = CitRunner(
                self.config.rootpath / str(self.config.getini(DIR_INI)),
                find_engine=lambda: self.config.hook.pytest_cit_engine(config=self.config),
                say=self.say,
            )
        return self._runner

    def is_pipeline(self, path: Path) -> bool:
        if self._pipelines is None:
            self._pipelines = _listed_files(self.config.getini(PIPELINES_INI), self.config.rootpath)
        return bool(self._pipelines) and path.resolve() in self._pipelines

    def is_case_file(self, path: Path) -> bool:
        if path.suffix.lower() not in CASE_SUFFIXES:
            return False
        return any(path.match(p) for p in self.case_patterns) and _names_its_script(path)

    def say(self, line: str) -> None:
        """A line on the terminal, past output capture (the runner image's build)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else nullcontext():
            reporter.write_line(line)


def _listed_files(patterns: Sequence[str], root: Path) -> set[Path]:
    """The files that paths or globs (relative to ``root``) name."""
    found: set[Path] = set()
    for pattern in patterns:
        base = Path(pattern).expanduser()
        if base.is_absolute():
            matches = [Path(m) for m in glob.glob(str(base), recursive=True)]
        else:
            matches = [root / m for m in glob.glob(pattern, root_dir=root, recursive=True)]
        found.update(m.resolve() for m in matches if m.is_file())
    return found


def _names_its_script(path: Path) -> bool:
    """Whether the file's top level has ``test_cases`` and ``script``; a file that cannot be
    parsed counts when both keys start a line (so that its error is shown)."""
    # deferred: only a YAML file that may be a test-case file is read
    from ..files import parse_yaml, read_text

    try:
        text = read_text(path, "YAML")
    except InputError:
        return False
    try:
        data = parse_yaml(text, path)
    except InputError:
        return {m.group(1) for m in _TOP_KEY.finditer(text)} == {"test_cases", "script"}
    return isinstance(data, dict) and "test_cases" in data and "script" in data


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = parent.config.stash[_STATE]
    if state.is_pipeline(file_path):
        return CitPipelineFile.from_parent(parent, path=file_path)
    if state.is_case_file(file_path):
        return CitCaseFile.from_parent(parent, path=file_path)
    return None


# -- collectors and items ---------------------------------------------------------------------


class CitCaseFile(pytest.File):
    """A test-case file that names its script: an item per case."""

    target: CaseTarget
    _results: Once[ScriptTestResult]

    def collect(self) -> Iterator[CitItem]:
        from .unittest_suite import Once, load_case_target

        try:
            self.target = load_case_target(self.path)
        except CitError as exc:
            raise self.CollectError(str(exc)) from None
        self._results = Once(self._run)
        for name in self.target.cases.names:
            yield CitItem.from_parent(self, name=name, kind="case")

    def _run(self) -> ScriptTestResult:
        """The cases selected in this session (all of the file's items that will run)."""
        chosen = {item.name for item in self.session.items if item.parent is self}
        return self.config.stash[_STATE].runner.run_cases(self.target, chosen)

    def verdict(self, name: str) -> TestItem:
        from .unittest_suite import case_verdict

        return case_verdict(self._results.get(), name)


class CitPipelineFile(pytest.File):
    """A pipeline file: an item per step, per edge and per expectation."""

    pipeline: Pipeline
    _outcome: Once[RunOutcome]

    def collect(self) -> Iterator[CitItem]:
        from ..run.pipeline_run import load_and_validate
        from .unittest_suite import Once, pipeline_tests

        try:
            self.pipeline = load_and_validate(self.path)
        except CitError as exc:
            raise self.CollectError(str(exc)) from None
        self._outcome = Once(self._run)
        for kind, name in pipeline_tests(self.pipeline):
            yield CitItem.from_parent(self, name=name, kind=kind)

    def _run(self) -> RunOutcome:
        return self.config.stash[_STATE].runner.run_pipeline(self.pipeline, self.path)

    def verdict(self, name: str) -> TestItem:
        from .unittest_suite import pipeline_verdict

        return pipeline_verdict(self._outcome.get(), name)


class CitItem(pytest.Item):
    """A test case, a step or an edge; its file runs once, the item gives its verdict."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.add_marker(MARKER)

    def runtest(self) -> None:
        from ..report.model import Outcome
        from .unittest_suite import check_verdict

        assert isinstance(self.parent, CitCaseFile | CitPipelineFile)
        test = self.parent.verdict(self.name)
        if test.log_tail and test.outcome in (Outcome.FAILED, Outcome.ERROR):
            tail = visible("\n".join(test.log_tail[-LOG_LINES:]))
            self.add_report_section("call", "cit log", tail)
        check_verdict(test, _skip)

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        """A failed verdict or a cit error as its lines, without a traceback of cit."""
        from .unittest_suite import CitTestFailure

        if isinstance(excinfo.value, CitTestFailure | CitError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.kind} {self.name}"


def _skip(reason: str) -> NoReturn:
    """Skip the item, reported at its file rather than at this line of cit."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


# -- fixtures ---------------------------------------------------------------------------------


class CitRun(Protocol):
    """The ``cit_run`` fixture."""

    def __call__(
        self,
        pipeline: str | Path | Pipeline | PipelineDAG,
        *,
        path: Sequence[str] | None = None,
        test_data: Mapping[str, str | Path] | None = None,
        image: str | None = None,
        max_workers: int | None = None,
        update_snapshots: bool = False,
        params: Mapping[str, str | int | float | bool] | None = None,
        code_dir: str | Path | None = None,
    ) -> RunOutcome: ...


class CitTestScript(Protocol):
    """The ``cit_test_script`` fixture."""

    def __call__(
        self,
        script: str | Path,
        test_cases: str | Path | Sequence[TestCase | dict[str, Any]],
        dag: str | Path | None = None,
        contract: str | Path | None = None,
    ) -> ScriptTestResult: ...


@pytest.fixture
def cit_settings(tmp_path: Path) -> RunSettings:
    """How ``cit_run`` and ``cit_test_script`` run: run directories under ``tmp_path``."""
    from ..run.settings import RunSettings

    return RunSettings(cit_dir=tmp_path / ".cit")


@pytest.fixture
def cit_run(request: pytest.FixtureRequest, cit_settings: RunSettings) -> CitRun:
    """Run a pipeline (a file, relative to the rootdir, or a ``Pipeline``/``PipelineDAG``) in
    containers and check its edges: ``cit_run("pipeline.py").ok``. Options: ``path`` (steps
    along one path), ``test_data`` (``{"Step.input": path}``), ``image``, ``max_workers``,
    ``update_snapshots``; for a SageMaker pipeline, ``params`` and ``code_dir``."""
    from .unittest_suite import run_pipeline_with

    config = request.config

    def run(pipeline: str | Path | Pipeline | PipelineDAG, **options: Any) -> RunOutcome:
        runner = config.stash[_STATE].runner
        return run_pipeline_with(
            runner, pipeline, cit_settings, base_dir=config.rootpath, **options
        )

    return run


@pytest.fixture
def cit_test_script(request: pytest.FixtureRequest, cit_settings: RunSettings) -> CitTestScript:
    """Run a script's test cases: ``cit_test_script("preprocess", "test_cases/p.yaml",
    dag="pipeline.py").ok``. ``script`` is a step of ``dag`` or a script file; ``test_cases``
    a file or cases as in one; paths relative to the rootdir."""

    from .unittest_suite import run_script_with

    config = request.config

    def run(
        script: str | Path,
        test_cases: str | Path | Sequence[TestCase | dict[str, Any]],
        dag: str | Path | None = None,
        contract: str | Path | None = None,
    ) -> ScriptTestResult:
        runner = config.stash[_STATE].runner
        settings = replace(cit_settings, max_workers=1)
        return run_script_with(
            runner, script, test_cases, settings, dag, contract, base_dir=config.rootpath
        )

    return run
