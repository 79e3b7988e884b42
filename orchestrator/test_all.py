"""``cit test-all``: everything an integration-test configuration asks for, in one command.

Each of ``test_scenarios`` is a data-flow test of its pipeline (every step, every edge), with
its test data, timeout cap and optional upload of the outputs to an isolated S3 prefix; each of
``script_tests`` runs its cases like ``cit test-script``; ``data_quality_checks`` run on every
table output of the scenarios' steps that succeeded. Every part of the configuration is
checked (files, steps, inputs, cases, check references, images, buckets) before anything runs.

Scenarios run one after another, then the script tests; one that fails does not stop the
others, and Ctrl-C (``cancel``) stops the one running and marks the rest interrupted. The
result is one ``report_model.Suite`` per scenario and per script test.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import (
    DataDriftDetection,
    ExecutionConfig,
    IntegrationTestConfig,
    MissingValueDetection,
    QualityCheckConfig,
    ReportingConfig,
    ScenarioConfig,
    ScriptTestConfig,
    StatisticalValidation,
)
from .dataflow import test_flow, with_test_data
from .engine import Engine
from .errors import CitError, InputError
from .expectations import Isolation, ScriptTestResult
from .input_files import FieldError
from .observer import RunObserver
from .pipeline import Pipeline, Step
from .quality import CheckResult, read_dataset, run_check
from .quality_checks import (
    CheckContext,
    CheckSpec,
    CheckUnavailable,
    DistributionDrift,
    MaxMissingRatio,
    Statistics,
)
from .report_model import (
    Outcome,
    Suite,
    TestItem,
    TestKind,
    overall,
    pipeline_suite,
    script_suite,
)
from .reports import check_report_target, write_run_reports
from .results import OutputSummary, RunResult, Status
from .rundir import read_manifest, write_text_atomic
from .script_test import (
    REGISTRY_FOLDER,
    check_cases,
    check_process_isolation,
    default_engine,
    interrupted,
    run_script_tests,
    script_step,
)
from .settings import RUNNER_IMAGE, RunSettings
from .testcases import TestCase, cases_from_data
from .workflow import (
    ImageBuilder,
    ensure_images,
    fetch_inputs,
    load_and_validate,
    s3_fetcher,
    s3_inputs,
)

if TYPE_CHECKING:
    from .report_model import Report
    from .reports import ReportFormat
    from .s3 import Download, S3Uri, TestEnvironment

__all__ = [
    "TestAllResult",
    "check_configured_reports",
    "needs_containers",
    "quality_items",
    "run_all",
    "run_settings",
    "suite_line",
    "write_configured_reports",
]

EXIT_INTERRUPTED = 130
NOT_RUN = "not run: cit test-all was interrupted"
UPLOAD_TEST = "upload outputs"
OUTPUT_FIELD = "reporting.output_directory"
ALIAS = "data_quality_checks"
"""The seed's name of a test case's ``data_quality_assertions``."""


@dataclass
class TestAllResult:
    """The suites of one ``cit test-all`` and its exit code: 0 every test passed, 1 one did
    not, 2 something could not be run (an S3 fetch or upload failed), 130 interrupted."""

    __test__ = False

    suites: list[Suite]
    exit_code: int


# -- the plan: everything checked before anything runs -------------------------------------


@dataclass(frozen=True)
class _Scenario:
    config: ScenarioConfig
    pipeline: Pipeline
    """With its test data in place and its steps' timeouts capped."""
    file: Path
    upload: S3Uri | None = None


@dataclass(frozen=True)
class _ScriptTest:
    name: str
    step: Step
    source: Path
    cases: list[TestCase]


@dataclass(frozen=True)
class _Plan:
    scenarios: list[_Scenario]
    script_tests: list[_ScriptTest]
    checks: list[QualityCheckConfig]
    references: dict[str, Any]
    """Each drift check's reference table, by the path the check gives."""


def run_settings(settings: RunSettings, execution: ExecutionConfig) -> RunSettings:
    """``settings`` with the ``execution`` section applied: ``container_image`` as the default
    image, ``max_workers`` (1 without ``parallel_execution``)."""
    workers = (execution.max_workers or settings.max_workers) if execution.parallel_execution else 1
    return replace(settings, image=execution.container_image or settings.image, max_workers=workers)


def needs_containers(config: IntegrationTestConfig) -> bool:
    """Whether the configuration runs anything in containers (and so needs a Docker engine)."""
    container_scripts = config.execution.isolation_mode == "container" and config.script_tests
    return bool(config.test_scenarios or container_scripts)


def _prepare(
    config: IntegrationTestConfig,
    engine: Engine | None,
    settings: RunSettings,
    build_default: ImageBuilder | None,
) -> _Plan:
    """Check every part of the configuration; the first mistake is one ``InputError``."""
    source = config.source
    if not config.test_scenarios and not config.script_tests:
        raise InputError("has no test_scenarios and no script_tests: nothing to run", file=source)
    check_configured_reports(config.reporting, source)
    loaded: dict[Path, Pipeline] = {}
    scenarios = [_scenario(s, config, loaded) for s in config.test_scenarios]
    script_tests = [
        _script_test(name, test, config, loaded, scenarios, settings)
        for name, test in config.script_tests.items()
    ]
    checks = [c for c in config.data_quality_checks if c.enabled and _runs_a_check(c)]
    references = _check_quality_checks(config, scenarios)
    if engine is not None:
        _check_images(config, scenarios, script_tests, engine, settings, build_default)
    _check_buckets(config, scenarios)
    return _Plan(scenarios, script_tests, checks, references)


def _runs_a_check(check: QualityCheckConfig) -> bool:
    """schema_validation is what every data-flow test does already."""
    return isinstance(check, MissingValueDetection | StatisticalValidation | DataDriftDetection)


def _pipeline(file: Path, loaded: dict[Path, Pipeline], source: str | None, at: str) -> Pipeline:
    """The pipeline in ``file`` (read once); ``at`` is the field that names it."""
    file = file.resolve()
    if not file.is_file():
        raise InputError(f"no such pipeline file: {file}", file=source, field=at)
    if file not in loaded:
        loaded[file] = load_and_validate(file)
    return loaded[file]


def _scenario(
    scenario: ScenarioConfig, config: IntegrationTestConfig, loaded: dict[Path, Pipeline]
) -> _Scenario:
    at = f"test_scenarios.{scenario.name}"
    pipeline = _pipeline(scenario.dag_file, loaded, config.source, f"{at}.dag_file")
    if scenario.test_data_path is not None:
        data = _test_data(scenario.test_data_path, pipeline, config.source, f"{at}.test_data_path")
        pipeline = with_test_data(pipeline, data)
    minutes = scenario.timeout_minutes or config.execution.timeout_minutes
    return _Scenario(
        config=scenario,
        pipeline=_capped(pipeline, minutes),
        file=scenario.dag_file.resolve(),
        upload=_upload_target(scenario, config),
    )


def _test_data(folder: Path, pipeline: Pipeline, source: str | None, at: str) -> dict[str, Path]:
    """The entries of a test-data folder, each named ``<step>.<input>`` of ``pipeline``."""
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder}", file=source, field=at)
    inputs = [
        f"{step.name}.{channel}" for step in pipeline.steps.values() for channel in step.inputs
    ]
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.name not in inputs:
            raise InputError(
                f"'{entry.name}' in {folder} names no input of {pipeline.name}; name each file "
                f"or folder <step>.<input>: {', '.join(inputs)}",
                file=source,
                field=at,
            )
        found[entry.name] = entry
    if not found:
        raise InputError(
            f"{folder} holds no <step>.<input> entries to use; inputs: {', '.join(inputs)}",
            file=source,
            field=at,
        )
    return found


def _capped(pipeline: Pipeline, minutes: float | None) -> Pipeline:
    """``pipeline`` with no step allowed more than ``minutes``."""
    if minutes is None:
        return pipeline
    limit = minutes * 60
    steps = {name: _capped_step(step, limit) for name, step in pipeline.steps.items()}
    result = Pipeline(pipeline.name, base_dir=pipeline.base_dir)
    result.steps = steps
    result.source_file = pipeline.source_file
    return result


def _capped_step(step: Step, seconds: float | None) -> Step:
    if seconds is None or step.timeout_seconds <= seconds:
        return step
    return step.model_copy(update={"timeout_seconds": seconds})


def _upload_target(scenario: ScenarioConfig, config: IntegrationTestConfig) -> S3Uri | None:
    """Where a scenario's outputs go: ``s3_bucket`` (else the default bucket) and prefix."""
    from .s3 import S3Uri

    bucket = scenario.s3_bucket
    if bucket is None and scenario.s3_prefix:
        bucket = config.s3_integration.default_bucket
        if bucket is None:
            raise InputError(
                "needs s3_bucket (or s3_integration.default_bucket) to upload to",
                file=config.source,
                field=f"test_scenarios.{scenario.name}.s3_prefix",
            )
    if bucket is None:
        return None
    prefix = f"{scenario.s3_prefix}/" if scenario.s3_prefix else ""
    return S3Uri.parse(f"s3://{bucket}/{prefix}")


def _check_buckets(config: IntegrationTestConfig, scenarios: list[_Scenario]) -> None:
    """Each upload bucket exists and may be listed, before anything runs."""
    from .errors import S3Error
    from .s3 import check_bucket

    settings = config.s3_integration.s3_settings()
    for scenario in scenarios:
        if scenario.upload is None:
            continue
        try:
            check_bucket(scenario.upload, settings)
        except S3Error as exc:
            at = f"test_scenarios.{scenario.config.name}.s3_bucket"
            raise InputError(str(exc), file=config.source, field=at) from None


def _check_images(
    config: IntegrationTestConfig,
    scenarios: list[_Scenario],
    script_tests: list[_ScriptTest],
    engine: Engine,
    settings: RunSettings,
    build_default: ImageBuilder | None,
) -> None:
    """Every image a container will run is local (the runner image is built if missing)."""
    image = config.execution.container_image
    if image and image != RUNNER_IMAGE and engine.image_id(image) is None:
        raise InputError(
            f"image '{image}' is not on the local engine; build it or load it "
            f"('docker load -i FILE'), or leave container_image out to use {RUNNER_IMAGE}",
            file=config.source,
            field="execution.container_image",
        )
    steps = [step for s in scenarios for step in s.pipeline.steps.values()]
    if config.execution.isolation_mode == "container":
        steps += [test.step for test in script_tests]
    ensure_images(sorted({s.image or settings.image for s in steps}), engine, build_default)


# -- script tests ------------------------------------------------------------------------------


def _script_test(
    name: str,
    test: ScriptTestConfig,
    config: IntegrationTestConfig,
    loaded: dict[Path, Pipeline],
    scenarios: list[_Scenario],
    settings: RunSettings,
) -> _ScriptTest:
    at = f"script_tests.{name}"
    step, source = _tested_step(name, test, config, loaded, scenarios)
    cap = config.execution.timeout_minutes
    step = _capped_step(step, cap * 60 if cap is not None else None)
    aliased = _aliased_cases(test.test_cases)
    raw = [_unaliased(case, at, index, config.source) for index, case in enumerate(test.test_cases)]
    try:
        cases = cases_from_data(raw, config.base_dir, source=config.source).test_cases
    except FieldError as exc:
        at_case = _alias_field(exc.field, aliased)
        raise InputError(exc.message, file=config.source, field=f"{at}.{at_case}") from None
    try:
        check_cases(step, cases, settings.cit_dir / REGISTRY_FOLDER)
        if config.execution.isolation_mode == "process":
            check_process_isolation(step, cases)
    except InputError as exc:
        raise _within(exc, config.source, at, aliased) from None
    return _ScriptTest(name=name, step=step, source=source, cases=cases)


def _tested_step(
    name: str,
    test: ScriptTestConfig,
    config: IntegrationTestConfig,
    loaded: dict[Path, Pipeline],
    scenarios: list[_Scenario],
) -> tuple[Step, Path]:
    """The step a script test names: a step of ``dag``, else of the only scenario pipeline
    with a step of that name, else a script file (from the configuration's folder)."""
    at = f"script_tests.{name}"
    target = test.script or name
    if test.dag is not None:
        pipeline = _pipeline(test.dag, loaded, config.source, f"{at}.dag")
        if target not in pipeline.steps:
            steps = ", ".join(pipeline.steps)
            message = f"no step named '{target}' in {test.dag}; steps: {steps}"
            raise InputError(message, file=config.source, field=at)
        return pipeline.steps[target], test.dag.resolve()
    files = list(dict.fromkeys(s.file for s in scenarios))
    holders = [file for file in files if target in loaded[file].steps]
    if len(holders) > 1:
        raise InputError(
            f"step '{target}' is in several scenarios' pipelines ({', '.join(map(str, holders))});"
            " say which with dag: FILE",
            file=config.source,
            field=at,
        )
    if holders:
        if test.contract is not None:
            raise InputError(
                f"goes with a script file; step '{target}' of {holders[0]} uses its own contract",
                file=config.source,
                field=f"{at}.contract",
            )
        return loaded[holders[0]].steps[target], holders[0]
    return _script_file(target, test, config, [loaded[file] for file in files], at)


def _script_file(
    target: str,
    test: ScriptTestConfig,
    config: IntegrationTestConfig,
    pipelines: list[Pipeline],
    at: str,
) -> tuple[Step, Path]:
    """A script file as the step under test (with its ``contract``, if given)."""
    path = Path(target).expanduser()
    path = path if path.is_absolute() else config.base_dir / path
    if not path.is_file():
        steps = sorted({step for pipeline in pipelines for step in pipeline.steps})
        known = f"steps of the scenarios: {', '.join(steps)}" if steps else "there are no scenarios"
        raise InputError(
            f"'{target}' is no step of a scenario's pipeline and no script file ({known}); "
            "give dag: with its pipeline, or script: with a .py file",
            file=config.source,
            field=at,
        )
    if test.contract is not None and not test.contract.is_file():
        message = f"no such contract file: {test.contract}"
        raise InputError(message, file=config.source, field=f"{at}.contract")
    return script_step(path, test.contract), path.resolve()


def _aliased_cases(cases: list[dict[str, Any]]) -> set[str]:
    """How errors name the cases that write ``data_quality_checks`` (their name or index)."""
    labels: set[str] = set()
    for index, case in enumerate(cases):
        if ALIAS in case:
            labels |= {str(index), str(case.get("name"))}
    return labels


def _unaliased(case: dict[str, Any], at: str, index: int, source: str | None) -> dict[str, Any]:
    """A case with the seed's ``data_quality_checks`` as ``data_quality_assertions``."""
    if ALIAS not in case:
        return case
    if "data_quality_assertions" in case:
        label = case.get("name", index)
        raise InputError(
            "give data_quality_checks or data_quality_assertions, not both (they are the same)",
            file=source,
            field=f"{at}.test_cases.{label}",
        )
    renamed = {k: v for k, v in case.items() if k != ALIAS}
    return {**renamed, "data_quality_assertions": case[ALIAS]}


def _alias_field(at: str, aliased: set[str]) -> str:
    """A case's field path in the words of the file: data_quality_checks where it used that."""
    parts = at.split(".")
    if parts[:1] == ["test_cases"] and parts[2:3] == ["data_quality_assertions"]:
        parts[2] = ALIAS if parts[1] in aliased else parts[2]
    return ".".join(parts)


def _within(exc: InputError, source: str | None, at: str, aliased: set[str]) -> InputError:
    """An error about a case (naming the configuration or no file) as one about its field
    under ``at``; errors naming another file (a schema, the script) stay as they are."""
    if exc.file not in (None, source):
        return exc
    lead = ": ".join(filter(None, [exc.file, exc.field]))
    message = str(exc).removeprefix(f"{lead}: ") if lead else str(exc)
    inner = _alias_field(exc.field, aliased) if exc.field else None
    return InputError(message, file=source, field=".".join(filter(None, [at, inner])))


# -- global data-quality checks ----------------------------------------------------------------


def _check_quality_checks(
    config: IntegrationTestConfig, scenarios: list[_Scenario]
) -> dict[str, Any]:
    """In each enabled check, every ``outputs`` entry names an output of a scenario's step and
    a drift reference is a readable table with the columns named. The references, by path."""
    checks = [
        (index, check)
        for index, check in enumerate(config.data_quality_checks)
        if check.enabled and _runs_a_check(check)
    ]
    if checks and not scenarios:
        raise InputError(
            "check the outputs of test_scenarios, and there are none",
            file=config.source,
            field="data_quality_checks",
        )
    outputs = sorted(
        {
            f"{step.name}.{o}"
            for s in scenarios
            for step in s.pipeline.steps.values()
            for o in step.output_names
        }
    )
    references: dict[str, Any] = {}
    for index, check in checks:
        at = f"data_quality_checks.{index}"
        unknown = [named for named in check.outputs if named not in outputs]
        if unknown:
            raise InputError(
                f"'{unknown[0]}' is no output of a scenario's step; outputs: {', '.join(outputs)}",
                file=config.source,
                field=f"{at}.outputs",
            )
        if isinstance(check, DataDriftDetection):
            references[str(check.reference)] = _reference(check, config.source, at)
    return references


def _reference(check: DataDriftDetection, source: str | None, at: str) -> Any:
    try:
        table = read_dataset(check.reference)
    except InputError as exc:
        raise InputError(f"cannot read it: {exc}", file=source, field=f"{at}.reference") from None
    missing = [c for c in check.columns or [] if c not in table.column_names]
    if missing:
        raise InputError(
            f"{check.reference} has no column {', '.join(missing)}; its columns: "
            f"{', '.join(table.column_names)}",
            file=source,
            field=f"{at}.columns",
        )
    return table


def _label(check: QualityCheckConfig) -> str:
    """What a check is called in a test's name: our check, and its column if it has one."""
    if isinstance(check, StatisticalValidation):
        return f"statistics({check.column})"
    if isinstance(check, DataDriftDetection):
        return "distribution_drift"
    return "max_missing_ratio"


def _specs(
    check: QualityCheckConfig, columns: Sequence[str], named: bool, references: Mapping[str, Any]
) -> list[CheckSpec]:
    """The checks ``check`` runs on a table with ``columns``: none when the table lacks the
    columns it names, unless its ``outputs`` name the table (``named``): then a missing column
    fails."""
    present = set(columns)
    common: dict[str, Any] = {"severity": check.severity}
    if isinstance(check, MissingValueDetection):
        if check.columns and not named and not set(check.columns) <= present:
            return []
        fields = {**common, "columns": check.columns, "max_ratio": check.max_missing_ratio}
        return [MaxMissingRatio.model_validate(fields)]
    if isinstance(check, StatisticalValidation):
        if check.column not in present and not named:
            return []
        fields = {**common, "column": check.column, "mean": check.mean, "std": check.std}
        return [Statistics.model_validate(fields)]
    if isinstance(check, DataDriftDetection):
        reference = references[str(check.reference)]
        wanted = check.columns or list(reference.column_names)
        chosen = wanted if named and check.columns else [c for c in wanted if c in present]
        drift = {**common, "reference": str(check.reference), "psi_max": check.threshold}
        drift["ks_max"] = check.ks_max
        return [DistributionDrift.model_validate({**drift, "column": c}) for c in chosen]
    return []


def _names_columns(check: QualityCheckConfig) -> bool:
    if isinstance(check, MissingValueDetection):
        return bool(check.columns)
    return isinstance(check, StatisticalValidation | DataDriftDetection)


def _lacking(check: QualityCheckConfig, where: str) -> str:
    """What ``where`` (an output, or "no table output") lacks for a check naming columns."""
    nothing = where.startswith("no ")
    if isinstance(check, StatisticalValidation):
        return f"{where} {'has' if nothing else 'has no'} column {check.column}"
    if isinstance(check, DataDriftDetection) and not check.columns:
        return f"{where} {'shares a' if nothing else 'shares no'} column with {check.reference}"
    columns = check.columns if isinstance(check, MissingValueDetection | DataDriftDetection) else []
    return f"{where} {'has' if nothing else 'lacks'} the columns {', '.join(columns or [])}"


def quality_items(
    checks: Sequence[QualityCheckConfig],
    pipeline: Pipeline,
    run: RunResult,
    references: Mapping[str, Any],
    sample_size: int = 5,
) -> list[TestItem]:
    """The global checks on the table outputs of the steps of ``run`` that succeeded: a
    "quality" test per check and output it applies to. A check naming columns that no
    output has (unless its ``outputs`` say where) fails, so that a typo does not pass."""
    tables = _Tables(run)
    items: list[TestItem] = []
    for check in checks:
        found = [
            item
            for step, output, named in _targets(check, pipeline, tables)
            if (item := _checked(check, step, output, named, tables, references, sample_size))
        ]
        if not found and not check.outputs and run.ok and _names_columns(check):
            problem = _lacking(check, "no table output") + "; say where with outputs: [step.output]"
            name = f"{_label(check)} on {run.pipeline}"
            found = [_quality_failure(name, run.pipeline, check, problem)]
        items += found
    return items


class _Tables:
    """The table outputs of the steps that succeeded, each read once."""

    def __init__(self, run: RunResult) -> None:
        self.succeeded = {step.name for step in run.steps if step.status.ok}
        self.paths = {
            (step.name, output.name): Path(output.path)
            for step in run.steps
            if step.status.ok
            for output in step.outputs
            if output.profile is not None and output.profile.datasets
        }
        self.read: dict[tuple[str, str], Any] = {}

    def table(self, step: str, output: str) -> Any:
        key = (step, output)
        if key not in self.read:
            self.read[key] = read_dataset(self.paths[key])
        return self.read[key]


def _targets(
    check: QualityCheckConfig, pipeline: Pipeline, tables: _Tables
) -> Iterator[tuple[str, str, bool]]:
    """(step, output, named by the check) for each output the check may apply to."""
    if not check.outputs:
        for step, output in tables.paths:
            yield step, output, False
        return
    for named in check.outputs:
        step, _, output = named.partition(".")
        known = step in pipeline.steps and output in pipeline.steps[step].output_names
        if known and step in tables.succeeded:  # a step that failed has its own test
            yield step, output, True


def _checked(
    check: QualityCheckConfig,
    step: str,
    output: str,
    named: bool,
    tables: _Tables,
    references: Mapping[str, Any],
    sample_size: int,
) -> TestItem | None:
    """The check on one output; None when it does not apply there."""
    name = f"{_label(check)} on {step}.{output}"
    if (step, output) not in tables.paths:
        return _quality_failure(name, step, check, f"{step}.{output} holds no table to check")
    started = time.monotonic()
    try:
        table = tables.table(step, output)
    except InputError as exc:
        return _quality_failure(name, step, check, f"cannot read {step}.{output}: {exc}")
    specs = _specs(check, table.column_names, named, references)
    if not specs:
        lacking = _lacking(check, f"{step}.{output}")
        return _quality_failure(name, step, check, lacking) if named else None
    context = CheckContext(table, None, _reference_loader(references))
    results = [run_check(spec, context) for spec in specs]
    return _quality_item(name, step, results, time.monotonic() - started, sample_size)


def _reference_loader(references: Mapping[str, Any]) -> Callable[[str], Any]:
    def load(path: str) -> Any:
        if path not in references:
            raise CheckUnavailable(f"reference {path} was not read")
        return references[path]

    return load


def _quality_item(
    name: str, step: str, results: list[CheckResult], seconds: float, sample_size: int
) -> TestItem:
    failed = [r for r in results if r.is_failure]
    warned = [r for r in results if not r.passed and not r.is_failure]
    details: list[str] = []
    for result in results:
        verdict = "passed" if result.passed else ("failed" if result.is_failure else "warning")
        details.append(f"{verdict}: {result.message}")
        rows = zip(result.sample_rows[:sample_size], result.sample, strict=False)
        details += [f"  row {i}: {json.dumps(row, default=str)}" for i, row in rows]
    message = None
    if failed:
        message = failed[0].message
    elif warned:
        message = f"warning: {warned[0].message}"
    return TestItem(
        name=name,
        classname=step,
        kind="quality",
        outcome=Outcome.FAILED if failed else Outcome.PASSED,
        duration_seconds=round(seconds, 3),
        message=message,
        failure_type=failed[0].check if failed else None,
        details=details,
        distributions=[r.distribution for r in results if r.distribution is not None],
    )


def _quality_failure(
    name: str, classname: str, check: QualityCheckConfig, problem: str
) -> TestItem:
    return TestItem(
        name=name,
        classname=classname,
        kind="quality",
        outcome=Outcome.FAILED,
        message=problem,
        failure_type=_label(check).split("(")[0],
        details=[problem],
    )


# -- running -----------------------------------------------------------------------------------


@dataclass
class _Runner:
    config: IntegrationTestConfig
    plan: _Plan
    engine: Engine | None
    settings: RunSettings
    observer: RunObserver | None
    case_observer: RunObserver | None
    build_default: ImageBuilder | None
    cancel: threading.Event
    on_download: Callable[[Download], None] | None
    errors: list[str] = field(default_factory=list)
    """CitErrors met while running (an S3 fetch or upload): exit code 2."""

    def scenario(self, scenario: _Scenario) -> Suite:
        if self.cancel.is_set():
            return _not_run(scenario)
        assert self.engine is not None
        try:
            pipeline = self._fetched(scenario.pipeline)
        except CitError as exc:
            return self._error_suite(scenario, "input", "fetch S3 inputs", exc)
        try:
            flow = test_flow(
                pipeline,
                scenario.file,
                self.engine,
                settings=self.settings,
                observer=self.observer,
                build_default=self.build_default,
                cancel=self.cancel,
            )
            run = read_manifest(Path(flow.run_dir))
        except CitError as exc:
            return self._error_suite(scenario, "step", "run", exc)
        suite = pipeline_suite(flow, run, max_sample_size=self.config.reporting.sample_size)
        tests = list(suite.tests)
        if run.status is not Status.INTERRUPTED:
            size = self.config.reporting.sample_size
            plan = self.plan
            tests += quality_items(plan.checks, scenario.pipeline, run, plan.references, size)
            if scenario.upload is not None:
                tests.append(self._upload(scenario.upload, run))
        outcome = overall(test.outcome for test in tests)
        return suite.model_copy(
            update={"name": scenario.config.name, "tests": tests, "outcome": outcome}
        )

    def script_test(self, test: _ScriptTest) -> Suite:
        isolation: Isolation = self.config.execution.isolation_mode
        if self.cancel.is_set():
            result = ScriptTestResult(
                script=test.step.name, test_results=[interrupted(c, isolation) for c in test.cases]
            )
        else:
            engine = self.engine if isolation == "container" else default_engine("process")
            try:
                result = run_script_tests(
                    test.step,
                    test.cases,
                    engine,
                    source_file=test.source,
                    settings=self.settings,
                    observer=self.case_observer or self.observer,
                    build_default=self.build_default,
                    cancel=self.cancel,
                    isolation=isolation,
                    registry_root=self.settings.cit_dir / REGISTRY_FOLDER,
                    fetch_s3=self._fetcher(),
                )
            except CitError as exc:
                self.errors.append(str(exc))
                item = _error_item("cases", test.step.name, "case", exc)
                return Suite(
                    name=test.name,
                    kind="script",
                    file=str(test.source),
                    outcome=Outcome.ERROR,
                    tests=[item],
                )
        suite = script_suite(result, file=str(test.source))
        return suite.model_copy(update={"name": test.name})

    def _fetcher(self) -> Callable[[str], Path]:
        return s3_fetcher(self.config.s3_integration.s3_settings(), report=self.on_download)

    def _fetched(self, pipeline: Pipeline) -> Pipeline:
        if not s3_inputs(pipeline):
            return pipeline
        return fetch_inputs(pipeline, self._fetcher())

    def _error_suite(self, scenario: _Scenario, kind: TestKind, name: str, exc: CitError) -> Suite:
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
    from .s3 import test_environment

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
            for step in (s for s in run.steps if s.status.ok):
                lines += [_uploaded(env, step.name, output) for output in step.outputs]
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


def _uploaded(env: TestEnvironment, step: str, output: OutputSummary) -> str:
    """Upload one output; the line that says where it went."""
    from .console import human_size

    done = env.upload(Path(output.path), step, output.name)
    files = "1 file" if done.files == 1 else f"{done.files} files"
    return f"uploaded {step}/{output.name}: {files}, {human_size(done.bytes)} -> {done.uri}"


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


def _not_run(scenario: _Scenario) -> Suite:
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
    engine: Engine | None,
    *,
    settings: RunSettings,
    observer: RunObserver | None = None,
    case_observer: RunObserver | None = None,
    build_default: ImageBuilder | None = None,
    cancel: threading.Event | None = None,
    on_suite: Callable[[Suite], None] | None = None,
    on_download: Callable[[Download], None] | None = None,
) -> TestAllResult:
    """Check the whole configuration, then run its scenarios and script tests, one suite each.

    ``engine`` runs the containers; without one, the Docker engine is connected when the
    configuration needs containers (``needs_containers``). ``settings`` get the ``execution``
    section applied (``run_settings``). ``observer`` follows the scenarios' runs and
    ``case_observer`` (default: ``observer``) the script tests' cases; ``on_suite`` is told of
    each suite as it ends and ``on_download`` of each S3 download. Mistakes in the
    configuration are ``InputError``s raised before anything runs."""
    cancel = cancel or threading.Event()
    settings = run_settings(settings, config.execution)
    if engine is None and needs_containers(config):
        engine = default_engine("container")
    plan = _prepare(config, engine, settings, build_default)
    runner = _Runner(
        config, plan, engine, settings, observer, case_observer, build_default, cancel, on_download
    )
    suites: list[Suite] = []

    def done(suite: Suite) -> None:
        suites.append(suite)
        if on_suite is not None:
            on_suite(suite)

    for scenario in plan.scenarios:
        done(runner.scenario(scenario))
    for test in plan.script_tests:
        done(runner.script_test(test))
    return TestAllResult(suites=suites, exit_code=_exit_code(suites, runner.errors, cancel))


def _exit_code(suites: list[Suite], errors: list[str], cancel: threading.Event) -> int:
    if cancel.is_set():
        return EXIT_INTERRUPTED
    if errors:
        return 2
    return 0 if overall(suite.outcome for suite in suites) is Outcome.PASSED else 1


def suite_line(suite: Suite) -> str:
    """One line about a suite: "pipeline tabular: passed (6 passed, 1 skipped)"."""
    counts: dict[str, int] = {}
    for test in suite.tests:
        counts[test.outcome.value] = counts.get(test.outcome.value, 0) + 1
    parts = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    return f"{suite.kind} {suite.name}: {suite.outcome.value} ({parts or 'no tests'})"


# -- reports -----------------------------------------------------------------------------------


def check_configured_reports(reporting: ReportingConfig, source: str | None = None) -> None:
    """An ``InputError`` (naming the configuration file ``source``) unless every report can be
    copied into ``output_directory`` without writing over a file cit did not write."""
    from .reports import FILE_NAMES

    folder = reporting.output_directory
    if folder is None:
        return
    formats: list[ReportFormat] = ["json", *reporting.formats]
    for fmt in dict.fromkeys(formats):
        try:
            check_report_target(folder / FILE_NAMES[fmt], OUTPUT_FIELD)
        except InputError as exc:
            message = str(exc).removeprefix(f"{OUTPUT_FIELD}: ")
            raise InputError(message, file=source, field=OUTPUT_FIELD) from None


def write_configured_reports(
    report: Report, run_dir: Path, reporting: ReportingConfig, source: str | None = None
) -> list[Path]:
    """Write ``report`` into ``run_dir`` in ``reporting.formats`` (report.json always), then
    copy each file into ``reporting.output_directory`` when one is set; the paths written.

    A copy is written whole or not at all, and never over a file that cit did not write
    (an ``InputError`` naming the configuration file ``source`` and the field)."""
    formats = tuple(reporting.formats)
    written = write_run_reports(report, run_dir, formats, plots=reporting.include_plots)
    check_configured_reports(reporting, source)  # the run directory's copy is kept either way
    folder = reporting.output_directory
    if folder is None:
        return written
    copies = []
    for path in written:
        target = folder / path.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(target, path.read_text(encoding="utf-8"))
        except OSError as exc:
            problem = f"cannot write {target}: {exc.strerror or exc}"
            raise InputError(problem, file=source, field=OUTPUT_FIELD) from None
        copies.append(target)
    return [*written, *copies]
