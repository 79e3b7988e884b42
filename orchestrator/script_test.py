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

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .contracts import load_contract
from .engine import Engine
from .errors import InputError
from .expectations import (
    CaseOutcome,
    Failure,
    Isolation,
    ScriptTestResult,
    TestCaseResult,
    judge,
)
from .input_files import FieldError
from .observer import RunObserver
from .pipeline import LocalSource, Pipeline, Step, StepInput, StepKind, build_step
from .profiles import OutputProfile
from .quality import read_dataset, run_checks, table_format
from .results import RunResult, StepResult
from .settings import RunSettings
from .source_scan import scan_script
from .testcases import InputSource, TestCase, cases_from_data, load_test_cases
from .validate import validate_pipeline
from .workflow import ImageBuilder, load_and_validate, run_loaded

PROCESSING_OUTPUT = "/opt/ml/processing/output/"
REGISTRY_FOLDER = "registry"
"""Registered test data lives in ``<cit dir>/registry`` (``TestDataRegistry``'s default)."""
PREDICTIONS = "predictions"
"""The output whose rows ``min_predictions`` counts, when there is one."""

SyntheticMaker = Callable[[InputSource, Path], Path]
"""Writes a case's ``synthetic:`` input into a folder and returns where it is."""
QualityJudge = Callable[[TestCase, Path, dict[str, Path]], list[Failure]]
"""The data-quality failures of a case: (case, outputs folder, input paths by channel)."""


def resolve_step(
    script: str, *, dag: Path | None = None, contract: Path | None = None
) -> tuple[Step, Path]:
    """The step under test and the file it comes from: a step of ``dag`` named ``script``, or
    the script file ``script`` as a processing step (with ``contract`` if given)."""
    if dag is not None:
        pipeline = load_and_validate(dag)
        if script not in pipeline.steps:
            steps = ", ".join(pipeline.steps)
            message = f"no step named '{script}'; steps: {steps}"
            raise InputError(message, file=dag, field="--script")
        return pipeline.steps[script], dag
    path = Path(script)
    if not path.is_file():
        raise InputError(
            f"'{script}' is not a script file; give a .py file, or --dag with a step name",
            field="--script",
        )
    return script_step(path, contract), path


def script_step(path: Path, contract: Path | None) -> Step:
    """A processing step running ``path``; outputs from its contract or from its source."""
    fields: dict[str, object] = {"script": path.resolve()}
    if contract is not None:
        fields["contract"] = contract.resolve()
    else:
        fields["outputs"] = scanned_outputs(path)
    base = path.resolve().parent
    try:
        return build_step(path.stem.replace(".", "-"), StepKind.PROCESSING, fields, base)
    except ValueError as exc:
        raise InputError(str(exc), file=contract or path) from None


def scanned_outputs(path: Path) -> list[str]:
    """The processing outputs a script's source writes to: /opt/ml/processing/output/<name>."""
    names = []
    for use in scan_script(path).paths:
        if use.path.startswith(PROCESSING_OUTPUT):
            name = use.path.removeprefix(PROCESSING_OUTPUT).split("/")[0]
            if name and name not in names:
                names.append(name)
    return names


def generate_synthetic(source: InputSource, folder: Path) -> Path:
    """A case's ``synthetic:`` input, generated from its schema into ``folder``."""
    from .schemas import load_schema
    from .synthetic import generate_dataset

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
) -> tuple[Step, dict[str, Path]]:
    """The step with the case's inputs, environment, arguments and hyperparameters; and the
    input paths by channel. Every input of the step must be given by the case; registered
    test data is looked up in the registry at ``registry_root``."""
    missing = [c for c in step.inputs if c not in case.input_data]
    if missing:
        raise InputError(
            f"test case '{case.name}' gives no input_data for {', '.join(missing)} of "
            f"'{step.name}'",
            field=f"test_cases.{case.name}.input_data",
        )
    paths = {
        channel: _input_path(channel, source, case, work, make_synthetic, registry_root)
        for channel, source in case.input_data.items()
    }
    inputs = {
        channel: StepInput(
            source=LocalSource(path=path),
            destination=step.inputs[channel].destination if channel in step.inputs else None,
        )
        for channel, path in paths.items()
    }
    update = {
        "inputs": inputs,
        "env": {**step.env, **case.environment_vars},
        "hyperparameters": {**step.hyperparameters, **case.hyperparameters},
        "depends_on": [],
    }
    if case.arguments:
        update["arguments"] = list(case.arguments)
    return step.model_copy(update=update), paths


def _input_path(
    channel: str,
    source: InputSource,
    case: TestCase,
    work: Path,
    make_synthetic: SyntheticMaker | None,
    registry_root: Path | None = None,
) -> Path:
    if source.path is not None:
        return Path(source.path)
    key = source.registry_key
    if key is not None:
        from .registry import TestDataRegistry

        registry = TestDataRegistry(registry_root or Path(".cit") / "registry")
        return registry.path(registry.get(*key))
    if make_synthetic is None:
        raise InputError(
            f"test case '{case.name}': synthetic input '{channel}' needs the data generator",
            field=f"test_cases.{case.name}.input_data.{channel}",
        )
    return make_synthetic(source, work / "inputs" / channel)


def check_registry_inputs(cases: Sequence[TestCase], registry_root: Path) -> None:
    """Every registered input the cases name exists, checked before any case runs."""
    from .registry import TestDataRegistry

    registry = TestDataRegistry(registry_root)
    for case in cases:
        for source in case.input_data.values():
            key = source.registry_key
            if key is not None:
                registry.path(registry.get(*key))


def check_data_quality(
    case: TestCase, outputs_dir: Path, inputs: dict[str, Path]
) -> list[Failure]:
    """The case's data-quality checks over the table its script wrote (the 'predictions'
    output, else its only tabular output); the input table is the case's only input, if one."""
    if not case.data_quality_assertions:
        return []
    target = checked_output(outputs_dir)
    if target is None:
        return [
            Failure(
                kind="data_quality",
                expectation="data_quality_assertions",
                actual=None,
                message="no output to check: the script wrote no 'predictions' output and "
                "not exactly one output holding a table",
            )
        ]
    try:
        table = read_dataset(target)
        input_table = read_dataset(next(iter(inputs.values()))) if len(inputs) == 1 else None
    except InputError as exc:
        return [_quality_failure("data_quality_assertions", f"cannot read the data: {exc}")]
    results = run_checks(
        case.data_quality_assertions, table, input_table=input_table, base_dir=case.base_dir
    )
    return [
        _quality_failure(r.check, f"{r.check} on {target.name}: {r.message}", r.sample)
        for r in results
        if r.is_failure
    ]


def _quality_failure(
    check: str, message: str, sample: list[dict[str, Any]] | None = None
) -> Failure:
    return Failure(
        kind="data_quality", expectation=check, actual=None, message=message, sample=sample or []
    )


def checked_output(outputs_dir: Path) -> Path | None:
    """The output folder data-quality checks look at."""
    named = outputs_dir / PREDICTIONS
    if named.is_dir():
        return named
    tables = [
        folder
        for folder in sorted(outputs_dir.iterdir() if outputs_dir.is_dir() else [])
        if folder.is_dir() and any(table_format(f) for f in folder.rglob("*") if f.is_file())
    ]
    return tables[0] if len(tables) == 1 else None


def run_case(
    step: Step,
    case: TestCase,
    engine: Engine,
    *,
    source_file: Path,
    settings: RunSettings,
    make_synthetic: SyntheticMaker | None = generate_synthetic,
    check_quality: QualityJudge | None = check_data_quality,
    observer: RunObserver | None = None,
    build_default: ImageBuilder | None = None,
    cancel: threading.Event | None = None,
    isolation: Isolation = "container",
) -> TestCaseResult:
    """Run one case in its own container (or process) and run directory, and judge it."""
    work = settings.cit_dir / "cases" / step.name / case.name
    registry_root = settings.cit_dir / REGISTRY_FOLDER
    tested, input_paths = case_step(step, case, work, make_synthetic, registry_root)
    pipeline = Pipeline(f"{step.name}-{case.name}", base_dir=source_file.resolve().parent)
    pipeline.add(tested)
    validate_pipeline(pipeline, source_file)
    run = run_loaded(
        pipeline,
        source_file,
        engine,
        settings=settings,
        observer=observer,
        build_default=build_default,
        cancel=cancel,
    )
    outcome = case_outcome(run, tested.name)
    result = judge(case, outcome, isolation, run_dir=Path(run.run_dir))
    if check_quality is not None and outcome.completed:
        extra = check_quality(case, outcome.outputs_dir, input_paths)
        if extra:
            failures = [*result.failures, *extra]
            result = result.model_copy(
                update={"failures": failures, "error_message": failures[0].message}
            )
    return result


def case_outcome(run: RunResult, step_name: str) -> CaseOutcome:
    """What the case's run produced, as the expectations read it."""
    step = run.step(step_name)
    return CaseOutcome(
        exit_code=step.exit_code,
        status=step.status.value,
        duration_seconds=step.duration_seconds or 0.0,
        log_lines=_log_lines(step),
        outputs_dir=Path(run.run_dir) / "steps" / step_name / "outputs",
        prediction_rows=prediction_rows(step),
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
    engine: Engine | None = None,
    *,
    source_file: Path,
    settings: RunSettings | None = None,
    make_synthetic: SyntheticMaker | None = generate_synthetic,
    check_quality: QualityJudge | None = check_data_quality,
    observer: RunObserver | None = None,
    build_default: ImageBuilder | None = None,
    cancel: threading.Event | None = None,
    isolation: Isolation = "container",
) -> ScriptTestResult:
    """Every case, one after the other, each in its own container; stops early on cancel.

    ``isolation`` is recorded in every result and, without ``engine``, picks it: the Docker
    engine for "container", a ``ProcessEngine`` for "process". A script that process isolation
    cannot call is refused before any case runs."""
    settings = settings or RunSettings()
    check_registry_inputs(cases, settings.cit_dir / REGISTRY_FOLDER)
    if isolation == "process":
        check_process_isolation(step, cases)
    engine = engine or default_engine(isolation)
    results: list[TestCaseResult] = []
    for case in cases:
        if cancel is not None and cancel.is_set():
            results.append(TestCaseResult(name=case.name, error_message="interrupted"))
            continue
        results.append(
            run_case(
                step,
                case,
                engine,
                source_file=source_file,
                settings=settings,
                make_synthetic=make_synthetic,
                check_quality=check_quality,
                observer=observer,
                build_default=build_default,
                cancel=cancel,
                isolation=isolation,
            )
        )
    return ScriptTestResult(script=step.name, test_results=results)


def check_process_isolation(step: Step, cases: Sequence[TestCase]) -> None:
    """Refuse, in one line, a step whose script has no ``main`` to call, or a case whose job
    arguments cannot become ``job_args``."""
    from .process_engine import MAIN_SIGNATURE, ProcessJobError, job_arguments, require_main

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
GENERAL_CHECKS: tuple[str, ...] = ("row_count", "max_missing_ratio")
PREDICTION_CHECKS: tuple[str, ...] = (
    "predictions_in_range_0_1",
    "no_nan_predictions",
    "consistent_prediction_count",
)


def quick_checks(step: Step, written: str | Sequence[str]) -> list[str]:
    """The checks of ``--quality-checks``: names, or 'all' (at least one row and at most 5 %
    missing values in each column, and, for a step with a 'predictions' output, the
    prediction checks)."""
    if isinstance(written, str) and written.strip() != ALL_CHECKS:
        written = [name.strip() for name in written.split(",") if name.strip()]
    if isinstance(written, str):
        predictions = PREDICTIONS in step.output_names
        return [*GENERAL_CHECKS, *(PREDICTION_CHECKS if predictions else ())]
    return list(written)


def quick_case(
    step: Step,
    input_data: Path | Mapping[str, Path],
    *,
    expected_output_schema: Path | None = None,
    quality_checks: str | Sequence[str] = ALL_CHECKS,
    name: str = "quick-check",
) -> TestCase:
    """One case without a test-case file: the step on ``input_data`` (a path for a step with
    one input, or channel -> path), its outputs against a schema, and data-quality checks."""
    if isinstance(input_data, Mapping):
        inputs = {channel: str(path) for channel, path in input_data.items()}
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
        about_check = last.isdigit() or last == "check"
        detail = exc.message if about_check else f"{last}: {exc.message}"
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


class ScriptUnitTester:
    """Tests one script against test cases, each case in its own container (or, with
    ``isolation="process"``, in a host process calling its ``main``).

    ``ScriptUnitTester("contracts/evaluate.yaml").test_script_functionality("cases.yaml")``;
    the script is the contract's ``entry_point`` next to the contract, unless ``script`` names
    it. Test cases are a file, or ``TestCase``s / mappings as in a file (paths relative to the
    working directory).
    """

    __test__ = False

    def __init__(
        self,
        contract: str | Path,
        *,
        script: str | Path | None = None,
        engine: Engine | None = None,
        settings: RunSettings | None = None,
        observer: RunObserver | None = None,
        isolation: Isolation = "container",
    ) -> None:
        contract_file = Path(contract)
        loaded = load_contract(contract_file)
        path = Path(script) if script is not None else contract_file.parent / loaded.entry_point
        if not path.is_file():
            raise InputError(
                f"no script at {path}; give script= (the contract's entry_point is "
                f"{loaded.entry_point})",
                file=contract_file,
                field="entry_point",
            )
        self.step = script_step(path, contract_file)
        self.source_file = path
        self.engine = engine
        self.settings = settings
        self.observer = observer
        self.isolation: Isolation = isolation

    def test_data_quality(
        self,
        input_data: str | Path | Mapping[str, str | Path],
        expected_output_schema: str | Path | None = None,
        quality_checks: str | Sequence[str] = ALL_CHECKS,
    ) -> TestCaseResult:
        """Run the script once on ``input_data`` and check what it wrote: against the schema,
        and with the data-quality checks ('all', or their names)."""
        data = (
            {channel: Path(path) for channel, path in input_data.items()}
            if isinstance(input_data, Mapping)
            else Path(input_data)
        )
        schema = Path(expected_output_schema) if expected_output_schema is not None else None
        case = quick_case(
            self.step, data, expected_output_schema=schema, quality_checks=quality_checks
        )
        result = run_script_tests(
            self.step,
            [case],
            self.engine,
            source_file=self.source_file,
            settings=self.settings,
            observer=self.observer,
            isolation=self.isolation,
        )
        return result.test_results[0]

    def test_script_functionality(
        self, test_cases: str | Path | Sequence[TestCase | dict[str, object]]
    ) -> ScriptTestResult:
        """Run every case; the result has ``passed``, ``total`` and ``test_results``."""
        if isinstance(test_cases, str | Path):
            cases = load_test_cases(Path(test_cases)).test_cases
        else:
            try:
                cases = cases_from_data(list(test_cases), Path.cwd()).test_cases
            except FieldError as exc:
                raise InputError(exc.message, field=exc.field or None) from None
        return run_script_tests(
            self.step,
            cases,
            self.engine,
            source_file=self.source_file,
            settings=self.settings,
            observer=self.observer,
            isolation=self.isolation,
        )


def default_engine(isolation: Isolation) -> Engine:
    """A ``ProcessEngine`` for process isolation; else the Docker engine (connected now)."""
    if isolation == "process":
        from .process_engine import ProcessEngine

        return ProcessEngine()
    from .docker_engine import connect

    return connect()
