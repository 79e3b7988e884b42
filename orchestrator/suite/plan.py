"""The plan of ``cit test-all``: every part of an integration-test configuration checked
before anything runs (files, steps, test data, inputs, cases, check references, images,
buckets), and what runs: each scenario's pipeline with its test data in place and its steps'
timeouts capped, and each script test's step and cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..aws.s3 import check_bucket
from ..aws.s3_uris import S3Uri
from ..dataflow.tester import with_test_data
from ..engines.base import Engine
from ..errors import InputError, PullError, S3Error
from ..files import FieldError
from ..pipeline.model import Pipeline, Step, with_expectations
from ..pipeline.sagemaker_definition import DefinitionOptions, definition_options
from ..pipeline.validate import check_expectations
from ..report.write import check_configured_reports
from ..run.pipeline_run import ImageBuilder, ensure_images, load_and_validate
from ..run.settings import RUNNER_IMAGE, RunSettings
from ..scripttest.cases import TestCase, cases_from_data
from ..scripttest.runner import REGISTRY_FOLDER, check_cases, check_process_isolation, script_step
from .config import IntegrationTestConfig, QualityCheckConfig, ScenarioConfig, ScriptTestConfig
from .quality import check_quality_checks, runs_a_check

if TYPE_CHECKING:
    from ..aws.s3_uris import S3Uri

__all__ = ["Plan", "Scenario", "ScriptTest", "prepare"]

ALIAS = "data_quality_checks"
"""The seed's name of a test case's ``data_quality_assertions``."""


@dataclass(frozen=True)
class Scenario:
    """A test scenario ready to run: its pipeline, the file it came from, where outputs go."""

    config: ScenarioConfig
    pipeline: Pipeline
    """With its test data in place and its steps' timeouts capped."""
    file: Path
    upload: S3Uri | None = None


@dataclass(frozen=True)
class ScriptTest:
    """A script test ready to run: the step under test, its source file and its cases."""

    name: str
    step: Step
    source: Path
    cases: list[TestCase]


@dataclass(frozen=True)
class Plan:
    """What ``cit test-all`` runs, every part of it checked."""

    scenarios: list[Scenario]
    script_tests: list[ScriptTest]
    checks: list[QualityCheckConfig]
    references: dict[str, Any]
    """Each drift check's reference table, by the path the check gives."""


def prepare(
    config: IntegrationTestConfig,
    engine: Engine | None,
    settings: RunSettings,
    build_default: ImageBuilder | None,
) -> Plan:
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
    checks = [c for c in config.data_quality_checks if c.enabled and runs_a_check(c)]
    references = check_quality_checks(config, [s.pipeline for s in scenarios])
    if engine is not None:
        _check_images(config, scenarios, script_tests, engine, settings, build_default)
    _check_buckets(config, scenarios)
    return Plan(scenarios, script_tests, checks, references)


def _pipeline(
    file: Path,
    loaded: dict[Path, Pipeline],
    source: str | None,
    at: str,
    definition: DefinitionOptions | None = None,
) -> Pipeline:
    """The pipeline in ``file`` (read once unless ``definition`` sets a SageMaker pipeline's
    parameters or code folder); ``at`` is the field that names it."""
    file = file.resolve()
    if not file.is_file():
        raise InputError(f"no such pipeline file: {file}", file=source, field=at)
    if definition:
        return load_and_validate(file, definition=definition)
    if file not in loaded:
        loaded[file] = load_and_validate(file)
    return loaded[file]


def _definition_options(
    scenario: ScenarioConfig, source: str | None, at: str
) -> DefinitionOptions:
    try:
        return definition_options(scenario.parameters, scenario.code_dir)
    except InputError as exc:
        field = f"{at}.code_dir" if exc.field == "--code-dir" else f"{at}.parameters"
        raise InputError(exc.detail, file=source, field=field) from None


def _scenario(
    scenario: ScenarioConfig, config: IntegrationTestConfig, loaded: dict[Path, Pipeline]
) -> Scenario:
    at = f"test_scenarios.{scenario.name}"
    options = _definition_options(scenario, config.source, at)
    pipeline = _pipeline(scenario.dag_file, loaded, config.source, f"{at}.dag_file", options)
    if scenario.test_data_path is not None:
        data = _test_data(scenario.test_data_path, pipeline, config.source, f"{at}.test_data_path")
        pipeline = with_test_data(pipeline, data)
    check_expectations(scenario.expectations, pipeline, config.source)
    pipeline = with_expectations(pipeline, scenario.expectations)
    minutes = scenario.timeout_minutes or config.execution.timeout_minutes
    return Scenario(
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
    return pipeline.with_steps(
        {name: _capped_step(step, limit) for name, step in pipeline.steps.items()}
    )


def _capped_step(step: Step, seconds: float | None) -> Step:
    if seconds is None or step.timeout_seconds <= seconds:
        return step
    return step.model_copy(update={"timeout_seconds": seconds})


def _upload_target(scenario: ScenarioConfig, config: IntegrationTestConfig) -> S3Uri | None:
    """Where a scenario's outputs go: ``s3_bucket`` (else the default bucket) and prefix."""

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


def _check_buckets(config: IntegrationTestConfig, scenarios: list[Scenario]) -> None:
    """Each upload bucket exists and may be listed, before anything runs."""

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
    scenarios: list[Scenario],
    script_tests: list[ScriptTest],
    engine: Engine,
    settings: RunSettings,
    build_default: ImageBuilder | None,
) -> None:
    """Every image a container will run is local (the runner image is built if missing)."""
    image = config.execution.container_image
    if image and image != RUNNER_IMAGE and engine.image_id(image) is None:
        try:
            engine.pull(image)
        except PullError as exc:
            raise InputError(
                f"image '{image}' is not on the local engine and cannot be pulled "
                f"({exc.reason}); build it or load it ('docker load -i FILE'), or leave "
                f"container_image out to use {RUNNER_IMAGE}",
                file=config.source,
                field="execution.container_image",
            ) from None
    steps = [step for s in scenarios for step in s.pipeline.steps.values()]
    if config.execution.isolation_mode == "container":
        steps += [test.step for test in script_tests]
    images = sorted({s.image or settings.image for s in steps})
    for scenario in scenarios:
        named = [s for s in scenario.pipeline.steps.values() if s.image]
        ensure_images(
            sorted({s.image for s in named if s.image}),
            engine,
            build_default,
            named,
            source=scenario.pipeline.source_file,
        )
    ensure_images(images, engine, build_default, steps)


# -- script tests ------------------------------------------------------------------------------


def _script_test(
    name: str,
    test: ScriptTestConfig,
    config: IntegrationTestConfig,
    loaded: dict[Path, Pipeline],
    scenarios: list[Scenario],
    settings: RunSettings,
) -> ScriptTest:
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
    return ScriptTest(name=name, step=step, source=source, cases=cases)


def _tested_step(
    name: str,
    test: ScriptTestConfig,
    config: IntegrationTestConfig,
    loaded: dict[Path, Pipeline],
    scenarios: list[Scenario],
) -> tuple[Step, Path]:
    """The step a script test names: a step of ``dag``, else of the only scenario pipeline
    with a step of that name, else a script file (from the configuration's folder)."""
    at = f"script_tests.{name}"
    target = test.script or name
    if test.dag is not None:
        return _dag_step(target, test.dag, config, loaded, at)
    files = list(dict.fromkeys(s.file for s in scenarios))
    holders = [file for file in files if target in loaded[file].steps]
    if holders:
        return _scenario_step(target, holders, test, config, loaded, at)
    return _script_file(target, test, config, [loaded[file] for file in files], at)


def _dag_step(
    target: str, dag: Path, config: IntegrationTestConfig, loaded: dict[Path, Pipeline], at: str
) -> tuple[Step, Path]:
    """The step ``target`` of the pipeline in ``dag``."""
    pipeline = _pipeline(dag, loaded, config.source, f"{at}.dag")
    if target not in pipeline.steps:
        steps = ", ".join(pipeline.steps)
        message = f"no step named '{target}' in {dag}; steps: {steps}"
        raise InputError(message, file=config.source, field=at)
    return pipeline.steps[target], dag.resolve()


def _scenario_step(
    target: str,
    holders: list[Path],
    test: ScriptTestConfig,
    config: IntegrationTestConfig,
    loaded: dict[Path, Pipeline],
    at: str,
) -> tuple[Step, Path]:
    """The step ``target`` of the one scenario pipeline (of the files ``holders``) that has it."""
    if len(holders) > 1:
        raise InputError(
            f"step '{target}' is in several scenarios' pipelines ({', '.join(map(str, holders))});"
            " say which with dag: FILE",
            file=config.source,
            field=at,
        )
    if test.contract is not None:
        raise InputError(
            f"goes with a script file; step '{target}' of {holders[0]} uses its own contract",
            file=config.source,
            field=f"{at}.contract",
        )
    return loaded[holders[0]].steps[target], holders[0]


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
