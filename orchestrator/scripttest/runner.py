"""Script unit testing: every test case runs one script in its own container, with the case's
inputs, environment and arguments, and is judged on everything the case expects.

With ``isolation="process"`` each case runs the script's ``main(input_paths, output_paths,
environ_vars, job_args)`` in a host Python process instead (``process_engine``): the same plan,
run directory, log and judgement, only the engine differs.

The step under test is a step of a pipeline (``--dag`` and its name) or a script file: its
contract, when given, decides its mounts and outputs; without one, the outputs are the
``/opt/ml/processing/output/<name>`` folders its source mentions. Each case is a one-step
pipeline run in its own run directory, so a case's outputs, log and manifest stay apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..data.contracts import ScriptContract, load_contract
from ..data.profiles import Distribution, OutputProfile
from ..data.quality import read_dataset, run_checks
from ..data.schemas import load_schema
from ..data.synthetic import check_spec, generate_dataset
from ..data.tables import ALLOWED, holds_table
from ..engines.base import Engine, Isolation
from ..engines.process_engine import (
    MAIN_SIGNATURE,
    ProcessEngine,
    ProcessJobError,
    job_arguments,
    require_main,
)
from ..errors import InputError
from ..files import FieldError
from ..pipeline.model import LocalSource, Pipeline, Step, StepInput, StepKind, build_step
from ..pipeline.sagemaker_definition import DefinitionOptions
from ..pipeline.source_scan import scan_script
from ..pipeline.validate import validate_pipeline
from ..run.context import REGISTRY_FOLDER as REGISTRY_FOLDER
from ..run.context import RunContext
from ..run.pipeline_run import S3Fetcher, fetched, load_and_validate, s3_fetcher
from ..run.results import RunResult, Status, StepResult
from ..run.secrets import with_host_secrets
from ..run.settings import RunSettings
from .case_checks import CaseOutcome, Failure, ScriptTestResult, TestCaseResult, judge
from .cases import ALL_OUTPUTS, InputSource, TestCase, cases_from_data
from .registry import TestDataRegistry

PROCESSING_OUTPUT = "/opt/ml/processing/output/"
PROCESSING_INPUT = "/opt/ml/processing/input/"
CODE_CHANNEL = "code"
"""/opt/ml/processing/input/code holds the script itself, not data."""
PREDICTIONS = "predictions"
"""The output whose rows ``min_predictions`` counts, when there is one."""

SyntheticMaker = Callable[[InputSource, Path], Path]
"""Writes a case's ``synthetic:`` input into a folder and returns where it is."""
QualityJudge = Callable[[TestCase, Path, dict[str, Path]], tuple[list[Failure], list[Failure]]]
"""The data-quality failures and warnings of a case: (case, outputs folder, inputs by channel)."""


def resolve_step(
    script: str,
    *,
    dag: Path | None = None,
    contract: Path | None = None,
    definition: DefinitionOptions | None = None,
) -> tuple[Step, Path]:
    """The step under test and the file it comes from: a step of ``dag`` named ``script`` (a
    definition's parameters and code folder from ``definition``), or the script file
    ``script`` as a processing step (with ``contract`` if given)."""
    if dag is not None:
        pipeline = load_and_validate(dag, definition=definition)
        return pipeline_step(pipeline, script, dag), dag
    if definition:
        raise InputError(f"{definition.given()}: only with --dag (a SageMaker pipeline definition)")
    path = Path(script)
    if not path.is_file():
        raise InputError(
            f"'{script}' is not a script file; give a .py file, or --dag with a step name",
            field="--script",
        )
    return script_step(path, contract), path


def pipeline_step(pipeline: Pipeline, name: str, dag: Path) -> Step:
    """The step ``name`` of ``pipeline`` (read from ``dag``); its steps are listed if none."""
    if name not in pipeline.steps:
        message = f"no step named '{name}'; steps: {', '.join(pipeline.steps)}"
        raise InputError(message, file=dag, field="--script")
    step = pipeline.steps[name]
    if not step.kind.runs_container:
        scripts = [s.name for s in pipeline.steps.values() if s.kind.runs_container]
        raise InputError(
            f"'{name}' is a {step.kind.value} step: it runs no script to test; steps that do: "
            f"{', '.join(scripts) or 'none'}",
            file=dag,
            field="--script",
        )
    return step


def script_step(path: Path, contract: Path | None) -> Step:
    """A processing step running ``path``; its inputs and outputs from its contract, or from
    the ``/opt/ml/processing/...`` paths its source mentions. Each case gives the inputs'
    data; until then they point at the script's folder."""
    base = path.resolve().parent
    fields: dict[str, object] = {"script": path.resolve()}
    if contract is not None:
        fields["contract"] = contract.resolve()
        channels = list(load_contract(contract, path.name).expected_input_paths)
    else:
        fields["outputs"] = scanned_outputs(path)
        channels = scanned_channels(path, PROCESSING_INPUT, skip=(CODE_CHANNEL,))
    fields["inputs"] = dict.fromkeys(channels, str(base))
    try:
        return build_step(path.stem.replace(".", "-"), StepKind.PROCESSING, fields, base)
    except ValueError as exc:
        raise InputError(str(exc), file=contract or path) from None


def scanned_outputs(path: Path) -> list[str]:
    """The processing outputs a script's source writes to: /opt/ml/processing/output/<name>."""
    return scanned_channels(path, PROCESSING_OUTPUT)


def scanned_channels(path: Path, prefix: str, skip: Sequence[str] = ()) -> list[str]:
    """The <name>s of the ``prefix<name>`` paths a script's source mentions, in order."""
    names: list[str] = []
    for use in scan_script(path).paths:
        if use.path.startswith(prefix):
            name = use.path.removeprefix(prefix).split("/")[0]
            if name and name not in names and name not in skip:
                names.append(name)
    return names


def generate_synthetic(source: InputSource, folder: Path) -> Path:
    """A case's ``synthetic:`` input, generated from its schema into ``folder``."""

    spec = source.synthetic
    if spec is None:
        raise ValueError("not a synthetic input")
    schema = load_schema(spec.schema_file)
    return generate_dataset(schema, spec.rows, spec.seed, spec.format, folder)


def case_step(
    step: Step,
    case: TestCase,
    work: Path,
    make_synthetic: SyntheticMaker | None,
    registry_root: Path | None = None,
    fetch_s3: S3Fetcher | None = None,
) -> tuple[Step, dict[str, Path]]:
    """The step with the case's inputs, environment, arguments and hyperparameters; and the
    input paths by channel. Every input of the step must be given by the case; registered
    test data is looked up in the registry at ``registry_root``; S3 data is fetched with
    ``fetch_s3`` (default: ``s3_fetcher()``)."""
    check_channels(step, case)
    paths = {
        channel: _input_path(channel, source, case, work, make_synthetic, registry_root, fetch_s3)
        for channel, source in case.input_data.items()
    }
    inputs = {
        channel: StepInput(
            source=LocalSource(path=path, origin=case.input_data[channel].uri),
            destination=step.inputs[channel].destination if channel in step.inputs else None,
        )
        for channel, path in paths.items()
    }
    update = {
        "inputs": inputs,
        "env": {**step.env, **case.environment_vars},
        "secrets": case_secrets(step, case),
        "hyperparameters": {**step.hyperparameters, **case.hyperparameters},
        "depends_on": [],
    }
    if case.arguments:
        update["arguments"] = list(case.arguments)
    return step.model_copy(update=update), paths


def case_secrets(step: Step, case: TestCase) -> dict[str, str]:
    """The step's secrets but those the case gives a value of its own (a stand-in)."""
    return {k: v for k, v in step.secrets.items() if k not in case.environment_vars}


def with_case_secrets(
    settings: RunSettings, step: Step, cases: Sequence[TestCase], source_file: Path
) -> RunSettings:
    """``settings`` holding the host's values of the secrets the cases of ``step`` need."""
    needed = [step.model_copy(update={"secrets": case_secrets(step, c)}) for c in cases]
    return with_host_secrets(settings, needed, source_file)


def _input_path(
    channel: str,
    source: InputSource,
    case: TestCase,
    work: Path,
    make_synthetic: SyntheticMaker | None,
    registry_root: Path | None = None,
    fetch_s3: S3Fetcher | None = None,
) -> Path:
    if source.path is not None:
        return Path(source.path)
    if source.uri is not None:
        return fetched(source.uri, fetch_s3 or s3_fetcher())
    key = source.registry_key
    if key is not None:

        registry = TestDataRegistry(registry_root or Path(".cit") / "registry")
        return registry.path(registry.get(*key))
    if make_synthetic is None:
        raise InputError(
            f"test case '{case.name}': synthetic input '{channel}' needs the data generator",
            field=f"test_cases.{case.name}.input_data.{channel}",
        )
    return make_synthetic(source, work / "inputs" / channel)


def check_cases(step: Step, cases: Sequence[TestCase], registry_root: Path) -> None:
    """What can be known wrong before anything runs: inputs the step lacks or the case does
    not give, registered data that is not there, synthetic data that cannot be made, outputs
    named by schemas or checks that the step does not have."""
    for case in cases:
        check_channels(step, case)
        check_job_fields(step, case)
        check_outputs_named(step, case)
        check_inputs_exist(case, registry_root)


def check_channels(step: Step, case: TestCase) -> None:
    """The case gives data for every input of the step, and for nothing else."""
    field = f"test_cases.{case.name}.input_data"
    missing = [c for c in step.inputs if c not in case.input_data]
    if missing:
        message = f"gives no data for input {', '.join(missing)} of '{step.name}'"
        raise InputError(message, file=case.source, field=field)
    unknown = [c for c in case.input_data if step.inputs and c not in step.inputs]
    if unknown:
        inputs = ", ".join(step.inputs)
        message = f"'{step.name}' has no input {', '.join(unknown)}; its inputs: {inputs}"
        raise InputError(message, file=case.source, field=field)


def check_job_fields(step: Step, case: TestCase) -> None:
    """A processing job takes arguments, a training job hyperparameters: a case giving the
    other kind would have them silently ignored."""
    if step.kind is StepKind.PROCESSING and case.hyperparameters:
        wrong, right = "hyperparameters", "arguments"
    elif step.kind is StepKind.TRAINING and case.arguments:
        wrong, right = "arguments", "hyperparameters"
    else:
        return
    message = f"'{step.name}' is a {step.kind.value} step: it takes {right}, not {wrong}"
    raise InputError(message, file=case.source, field=f"test_cases.{case.name}.{wrong}")


def check_outputs_named(step: Step, case: TestCase) -> None:
    outputs = step.output_names
    named = [
        *(("expected_schema", o) for o in case.expected_schema if o != ALL_OUTPUTS),
        *(("data_quality_assertions", c.output) for c in case.data_quality_assertions),
    ]
    for field, output in named:
        if output is not None and output not in outputs:
            message = f"'{step.name}' has no output '{output}'; its outputs: {', '.join(outputs)}"
            raise InputError(message, file=case.source, field=f"test_cases.{case.name}.{field}")


def check_inputs_exist(case: TestCase, registry_root: Path) -> None:
    """Registered data is there and synthetic data can be made. (S3 URIs were parsed when the
    case was read; their data is fetched when the case runs.)"""

    for channel, source in case.input_data.items():
        field = f"test_cases.{case.name}.input_data.{channel}"
        key = source.registry_key
        try:
            if key is not None:
                registry = TestDataRegistry(registry_root)
                registry.path(registry.get(*key))
            if source.synthetic is not None:

                spec = source.synthetic
                check_spec(load_schema(spec.schema_file), spec.rows, spec.format)
        except (InputError, ValueError) as exc:
            raise InputError(str(exc), file=case.source, field=field) from None


def check_data_quality(
    case: TestCase, outputs_dir: Path, inputs: dict[str, Path]
) -> tuple[list[Failure], list[Failure]]:
    """The case's data-quality checks, each over the tables it applies to (its ``output``, or
    the 'predictions' output, or else every output holding a table), against the case's only
    tabular input: the failures, and the missed checks of warning severity."""
    if not case.data_quality_assertions:
        return [], []
    try:
        input_table = only_input_table(inputs)
    except InputError as exc:
        return [_quality_failure("data_quality_assertions", f"cannot read the input: {exc}")], []
    failures: list[Failure] = []
    warnings: list[Failure] = []
    for spec in case.data_quality_assertions:
        targets = check_targets(spec.output, outputs_dir)
        if not targets:
            failures.append(_quality_failure(spec.check, f"{spec.check}: {no_table(spec.output)}"))
        for target in targets:
            try:
                table = read_dataset(target)
            except InputError as exc:
                failures.append(_quality_failure(spec.check, f"cannot read {target.name}: {exc}"))
                continue
            (result,) = run_checks([spec], table, input_table=input_table, base_dir=case.base_dir)
            if result.passed:
                continue
            missed = _quality_failure(
                result.check,
                f"{result.check} on {target.name}: {result.message}",
                result.sample,
                result.distribution,
            )
            (failures if result.is_failure else warnings).append(missed)
    return failures, warnings


def no_table(output: str | None) -> str:
    """Why a data-quality check found nothing to read."""
    if output is None:
        return "no output holds a table to check (name one with 'output')"
    return f"output '{output}' holds no table ({ALLOWED}; a .json only as an array of objects)"


def check_targets(output: str | None, outputs_dir: Path) -> list[Path]:
    """The output folders a check reads: the one it names, else 'predictions', else every
    output holding a table."""
    if output is not None:
        folder = outputs_dir / output
        return [folder] if holds_table(folder) else []
    named = outputs_dir / PREDICTIONS
    if holds_table(named):
        return [named]
    folders = sorted(outputs_dir.iterdir()) if outputs_dir.is_dir() else []
    return [folder for folder in folders if holds_table(folder)]


def only_input_table(inputs: dict[str, Path]) -> Any:
    """The table of the case's only input that holds one (None when none or several do)."""
    tabular = [path for path in inputs.values() if holds_table(path)]
    return read_dataset(tabular[0]) if len(tabular) == 1 else None


def _quality_failure(
    check: str,
    message: str,
    sample: list[dict[str, Any]] | None = None,
    distribution: Distribution | None = None,
) -> Failure:
    return Failure(
        kind="data_quality",
        expectation=check,
        actual=None,
        message=message,
        sample=sample or [],
        distribution=distribution,
    )


def run_case(
    step: Step,
    case: TestCase,
    context: RunContext,
    *,
    source_file: Path,
    make_synthetic: SyntheticMaker | None = generate_synthetic,
    check_quality: QualityJudge | None = check_data_quality,
) -> TestCaseResult:
    """Run one case in the context's engine and its own run directory (``<run_id>-<case>``
    with the context's run id, a new id without it), and judge it; its S3 inputs are fetched
    first (the context's ``fetch_s3``, default: ``s3_fetcher()``)."""
    work = context.settings.cit_dir / "cases" / step.name / case.name
    tested, input_paths = case_step(
        step, case, work, make_synthetic, context.registry, context.fetch_s3
    )
    pipeline = Pipeline(f"{step.name}-{case.name}", base_dir=source_file.resolve().parent)
    pipeline.add(tested)
    validate_pipeline(pipeline, source_file)
    run_id = case_run_id(context.run_id, case) if context.run_id else None
    run = context.run(pipeline, source_file, run_id=run_id)
    isolation = context.isolation
    if run.status is Status.INTERRUPTED:
        return interrupted(case, isolation, Path(run.run_dir))
    outcome = case_outcome(run, tested.name)
    result = judge(case, outcome, isolation, run_dir=Path(run.run_dir))
    result = result.model_copy(update={"hints": run.step(tested.name).hints})
    if check_quality is not None and outcome.completed:
        failures, warnings = check_quality(case, outcome.outputs_dir, input_paths)
        failures = [*result.failures, *failures]
        result = result.model_copy(
            update={
                "failures": failures,
                "warnings": warnings,
                "error_message": failures[0].message if failures else None,
                "quality_checks_run": len(case.data_quality_assertions),
            }
        )
    return result


def interrupted(
    case: TestCase, isolation: Isolation, run_dir: Path | None = None
) -> TestCaseResult:
    """The result of a case stopped by Ctrl-C (or never started because of it)."""
    return TestCaseResult(
        name=case.name,
        run_status=Status.INTERRUPTED,
        error_message="interrupted",
        isolation=isolation,
        run_dir=run_dir,
        metrics_file=case.metrics_pattern,
    )


def case_outcome(run: RunResult, step_name: str) -> CaseOutcome:
    """What the case's run produced, as the expectations read it."""
    step = run.step(step_name)
    return CaseOutcome(
        exit_code=step.exit_code,
        status=step.status.value,
        reason=step.reason,
        message=step.message,
        duration_seconds=step.duration_seconds or 0.0,
        log_lines=_log_lines(step),
        outputs_dir=Path(run.run_dir) / "steps" / step_name / "outputs",
        prediction_rows=prediction_rows(step),
        findings=step.findings,
    )


def _log_lines(step: StepResult) -> list[str]:
    if step.log_file is None:
        return list(step.log_tail)
    try:
        return Path(step.log_file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return list(step.log_tail)


def prediction_rows(step: StepResult) -> int | None:
    """Rows of the step's predictions: its output named 'predictions', else its only tabular
    output; None when that is not one readable table."""
    profiles = [o.profile for o in step.outputs if o.profile is not None]
    named = [p for p in profiles if p.output == PREDICTIONS]
    tabular = [p for p in profiles if p.datasets]
    chosen = named or (tabular if len(tabular) == 1 else [])
    return _rows(chosen[0]) if chosen else None


def _rows(profile: OutputProfile) -> int | None:
    if not profile.datasets or any(d.rows is None or d.error for d in profile.datasets):
        return None
    return sum(d.rows or 0 for d in profile.datasets)


def run_script_tests(
    step: Step,
    cases: Sequence[TestCase],
    context: RunContext,
    *,
    source_file: Path,
    make_synthetic: SyntheticMaker | None = generate_synthetic,
    check_quality: QualityJudge | None = check_data_quality,
) -> ScriptTestResult:
    """Every case, one after the other, each in its own container; stops early on cancel.

    The context's ``isolation`` is recorded in every result and, without an engine, picks it:
    the Docker engine for "container", a ``ProcessEngine`` for "process". A script that
    process isolation cannot call is refused before any case runs. With the context's
    ``run_id`` (the command's), each case's run is ``<run_id>-<case name>``."""
    settings = with_case_secrets(context.settings, step, cases, source_file)
    context = replace(context, settings=settings)
    check_cases(step, cases, context.registry)
    if context.isolation == "process":
        check_process_isolation(step, cases)
    context = replace(context, engine=context.engine or default_engine(context.isolation))
    results: list[TestCaseResult] = []
    for case in cases:
        if context.cancelled:
            results.append(interrupted(case, context.isolation))
            continue
        results.append(
            run_case(
                step,
                case,
                context,
                source_file=source_file,
                make_synthetic=make_synthetic,
                check_quality=check_quality,
            )
        )
    return ScriptTestResult(script=step.name, test_results=results)


def case_run_id(command_run_id: str, case: TestCase) -> str:
    """The run id of a case run by a command: the command's, then the case's name, so the
    case's run directory sits beside the command's and is told apart by its name."""
    return f"{command_run_id}-{case.name}"


def check_process_isolation(step: Step, cases: Sequence[TestCase]) -> None:
    """Refuse, in one line, a step whose script has no ``main`` to call, or a case whose job
    arguments cannot become ``job_args``."""

    if step.script is None:
        raise InputError(
            f"step '{step.name}' runs no script of its own; process isolation needs one with "
            f"{MAIN_SIGNATURE} — run it in a container (the default)"
        )
    require_main(step.script)
    if step.kind is not StepKind.PROCESSING:
        return
    for case in cases:
        try:
            job_arguments(case.arguments or step.arguments)
        except ProcessJobError as exc:
            raise InputError(str(exc), field=f"test_cases.{case.name}.arguments") from None


ALL_CHECKS = "all"
NO_CHECKS = "none"
GENERAL_CHECKS: tuple[str, ...] = ("row_count", "max_missing_ratio")
PREDICTION_CHECKS: tuple[str, ...] = (
    "predictions_in_range_0_1",
    "no_nan_predictions",
    "consistent_prediction_count",
)


def quick_checks(step: Step, written: str | Sequence[str] | None) -> list[str]:
    """The checks of ``--quality-checks``: names, 'none', or 'all' (the default: at least one
    row and at most 5 % missing values in each output table, and, for a step with a
    'predictions' output, the prediction checks). A training step writes archives, no
    tables: 'all' is no check for it."""
    if written is None:
        written = ALL_CHECKS
    if isinstance(written, str) and written.strip() == NO_CHECKS:
        return []
    if isinstance(written, str) and written.strip() != ALL_CHECKS:
        written = [name.strip() for name in written.split(",") if name.strip()]
    if isinstance(written, str):
        if step.kind is StepKind.TRAINING:
            return []
        predictions = PREDICTIONS in step.output_names
        return [*GENERAL_CHECKS, *(PREDICTION_CHECKS if predictions else ())]
    return list(written)


def quick_case(
    step: Step,
    input_data: str | Path | Mapping[str, str | Path],
    *,
    expected_output_schema: Path | None = None,
    quality_checks: str | Sequence[str] | None = None,
    name: str = "quick-check",
) -> TestCase:
    """One case without a test-case file: the step on ``input_data`` (a path or s3:// URI for
    a step with one input, or channel -> either), its outputs against a schema, and
    data-quality checks."""
    if isinstance(input_data, Mapping):
        inputs = {channel: str(path) for channel, path in input_data.items()}
        unknown = [c for c in inputs if step.inputs and c not in step.inputs]
        if unknown:
            raise InputError(
                f"unknown channel {', '.join(unknown)}; inputs: {', '.join(step.inputs)}",
                field="--input-data",
            )
    elif len(step.inputs) == 1:
        inputs = {next(iter(step.inputs)): str(input_data)}
    elif not step.inputs:
        inputs = {"data": str(input_data)}
    else:
        channels = ", ".join(step.inputs)
        raise InputError(
            f"'{step.name}' has inputs {channels}; give each as --input-data CHANNEL=PATH",
            field="--input-data",
        )
    fields: dict[str, object] = {
        "name": name,
        "input_data": inputs,
        "data_quality_assertions": quick_checks(step, quality_checks),
    }
    if expected_output_schema is not None:
        fields["expected_schema"] = str(expected_output_schema)
    try:
        (case,) = cases_from_data([fields], Path.cwd()).test_cases
    except FieldError as exc:
        option = _option_of(exc.field)
        last = exc.field.rsplit(".", 1)[-1]
        about_check = last.isdigit() or last in ("check", "path")
        detail = exc.message if about_check or last == ALL_OUTPUTS else f"{last}: {exc.message}"
        if option == "--quality-checks" and not about_check:
            detail += "; checks with parameters go in a test-case file"
        raise InputError(detail, field=option) from None
    return case


def _option_of(field: str) -> str:
    """The command-line option a field of the quick case came from."""
    for part, option in (
        ("input_data", "--input-data"),
        ("expected_schema", "--expected-output-schema"),
        ("data_quality_assertions", "--quality-checks"),
    ):
        if part in field:
            return option
    return field


def entry_point_of(contract_file: Path, contract: ScriptContract) -> Path:
    """Where a contract's script is: next to the contract, else in a ``scripts`` folder beside
    the contract's folder (contracts/x.yaml -> scripts/x.py)."""
    here = contract_file.parent / contract.entry_point
    beside = contract_file.parent.parent / "scripts" / contract.entry_point
    return beside if not here.is_file() and beside.is_file() else here


def default_engine(isolation: Isolation) -> Engine:
    """A ``ProcessEngine`` for process isolation; else the Docker engine (connected now)."""
    if isolation == "process":

        return ProcessEngine()
    from ..engines.docker_engine import connect  # deferred: docker SDK only when no engine given

    return connect()
