"""Expectations on the whole pipeline: what the outputs of a real run must show.

A pipeline (and a ``cit test-all`` scenario) declares them per step, in the words of a test
case (``testcases``)::

    expectations:
      evaluate:
        metrics: {auc_roc: ">= 0.8", accuracy: 0.75}   # as expected_metrics
        metrics_file: metrics/metrics.json              # default: the shallowest metrics.json
        outputs: ["predictions/*.csv"]                  # as expected_outputs
        data_quality:                                   # output -> checks of orchestrator.quality
          predictions:
            - no_nan_predictions
            - {row_count: {equals: preprocess.test}}
      preprocess:
        data_quality:
          train: [{row_count: {at_least: 3x preprocess.test}}]

In Python: ``pipeline.expect(evaluate, metrics={"auc_roc": ">= 0.8"}, ...)``. A dataset a check
reads beside its table (``reference``, a row count's ``equals``/``at_least``/``at_most``) is
``step.output`` when it starts with a step of the pipeline, else a file or folder relative to
the file that declares the expectation.

The shape is checked when the file is read (``parse_expectations``); steps, outputs, datasets
and what a training step can show are checked with the pipeline (``check_expectations``), all
before anything runs. After the run, ``judge`` gives one result per expectation, read with the
test cases' own readers: passed, failed with why, or skipped when its step (or a step whose
output it compares with) did not succeed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import InputError, PipelineError
from .expectations import (
    LISTED_FILES,
    check_metric,
    check_output_written,
    matches,
    metrics_from,
    output_files,
)
from .input_files import FieldError, reject_unknown
from .quality import CheckResult, check_from_data, check_shorthand, read_dataset, run_check
from .quality_checks import CheckContext, CheckSpec, CheckUnavailable
from .results import RunResult, Status
from .sagemaker_contract import StepPaths
from .testcases import (
    DEFAULT_METRICS_FILE,
    MetricExpectation,
    number_text,
    parse_expected_metrics,
    relative_pattern,
)

if TYPE_CHECKING:
    from .pipeline import Pipeline

STEP_FIELDS = ("metrics", "metrics_file", "outputs", "data_quality")
"""What an entry of ``expectations`` may declare about its step."""
TRAINING_FILES = (
    "a training step's files reach cit packed in model.tar.gz and output.tar.gz; expect "
    "metrics and data quality of the step that reads them (e.g. the one that evaluates the model)"
)


class InvalidExpectation(FieldError):
    """A mistake in ``Pipeline.expect``: the field (``expectations.STEP...``) and why."""


# -- what is declared -------------------------------------------------------------------------


class _Declared(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: str
    at: str
    """Where the step's entry is declared: ``expectations.evaluate``."""
    field: str
    """Where this expectation is declared: ``expectations.evaluate.metrics.auc_roc``."""


class ExpectedMetric(_Declared):
    """A bound on a metric of the step's metrics file."""

    kind: Literal["metric"] = "metric"
    expected: MetricExpectation
    metrics_file: str | None = None

    @property
    def pattern(self) -> str:
        return self.metrics_file or DEFAULT_METRICS_FILE

    @property
    def label(self) -> str:
        return f"{self.step}: {self.expected.describe()}"


class ExpectedOutput(_Declared):
    """A file (or folder holding one) the step must write: a pattern under its outputs."""

    kind: Literal["output"] = "output"
    pattern: str

    @property
    def label(self) -> str:
        return f"{self.step}: output {self.pattern}"


class ExpectedQuality(_Declared):
    """A data-quality check on the table of one output of the step."""

    kind: Literal["data_quality"] = "data_quality"
    output: str
    check: CheckSpec
    base_dir: Path
    """Where the check's datasets that are files are read from."""

    @property
    def label(self) -> str:
        return f"{self.step}.{self.output}: {check_label(self.check)}"


Expectation = ExpectedMetric | ExpectedOutput | ExpectedQuality


def check_label(check: CheckSpec) -> str:
    """A check and the parameters it was given: ``row_count {equals: preprocess.test}``."""
    given = check.model_dump(mode="json", exclude_defaults=True, exclude={"check", "output"})
    if not given:
        return check.name
    shown = ", ".join(
        f"{k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in given.items()
    )
    return f"{check.name} {{{shown}}}"


def named(expectations: Sequence[Expectation]) -> Iterator[tuple[str, Expectation]]:
    """Each expectation with its name in the reports: its label, numbered when repeated."""
    seen: dict[str, int] = {}
    for expectation in expectations:
        label = expectation.label
        seen[label] = seen.get(label, 0) + 1
        yield (label if seen[label] == 1 else f"{label} ({seen[label]})"), expectation


# -- reading declarations ---------------------------------------------------------------------


def parse_expectations(
    data: Any, base_dir: Path, prefix: str = "expectations"
) -> list[Expectation]:
    """The expectations of a mapping step -> {metrics, metrics_file, outputs, data_quality}
    (YAML or JSON); files named by checks are relative to ``base_dir``. A mistake is a
    ``FieldError`` whose field starts with ``prefix``."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise FieldError(prefix, f"must map step names to {{{', '.join(STEP_FIELDS)}}}")
    found: list[Expectation] = []
    for step, fields in data.items():
        at = f"{prefix}.{step}"
        if not isinstance(fields, dict):
            raise FieldError(at, f"must be a mapping of {', '.join(STEP_FIELDS)}")
        reject_unknown(fields, STEP_FIELDS, f"{at}.")
        found += step_expectations(str(step), base_dir, at, **fields)
    return found


def step_expectations(
    step: str,
    base_dir: Path,
    at: str,
    *,
    metrics: Any = None,
    metrics_file: Any = None,
    outputs: Any = None,
    data_quality: Any = None,
) -> list[Expectation]:
    """The expectations of one step as declared at ``at`` (Python values welcome: a
    ``MetricExpectation``, a ``CheckSpec``, a step's ``.output(...)`` as a dataset)."""
    if not (metrics or outputs or data_quality):
        raise FieldError(at, f"declares nothing; give {', '.join(STEP_FIELDS)}")
    file = _metrics_file(metrics_file, f"{at}.metrics_file")
    if file is not None and not metrics:
        raise FieldError(f"{at}.metrics_file", "says where metrics are read; give metrics too")
    found: list[Expectation] = [
        ExpectedMetric(
            step=step, at=at, field=f"{at}.metrics.{name}", expected=bound, metrics_file=file
        )
        for name, bound in _metrics(metrics, f"{at}.metrics").items()
    ]
    found += [
        ExpectedOutput(step=step, at=at, field=f"{at}.outputs.{i}", pattern=pattern)
        for i, pattern in enumerate(_patterns(outputs, f"{at}.outputs"))
    ]
    for output, checks in _quality(data_quality, f"{at}.data_quality").items():
        found += [
            ExpectedQuality(
                step=step, at=at, field=field, output=output, check=check, base_dir=base_dir
            )
            for field, check in checks
        ]
    return found


def _metrics_file(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, "must be a file path under the step's outputs, e.g. metrics.json")
    try:
        return relative_pattern(value)
    except ValueError as exc:
        raise FieldError(field, str(exc)) from None


def _metrics(value: Any, field: str) -> dict[str, MetricExpectation]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(field, "must map metric names to bounds, e.g. {auc_roc: '>= 0.8'}")
    try:
        return parse_expected_metrics(value)
    except FieldError as exc:
        raise FieldError(f"{field}.{exc.field}", exc.message) from None


def _patterns(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    listed = [value] if isinstance(value, str) else value
    if not isinstance(listed, list | tuple):
        raise FieldError(field, "must be a list of file names or globs, e.g. ['predictions/*.csv']")
    patterns = []
    for index, item in enumerate(listed):
        if not isinstance(item, str):
            raise FieldError(f"{field}.{index}", "must be a file name or glob")
        try:
            patterns.append(relative_pattern(item))
        except ValueError as exc:
            raise FieldError(f"{field}.{index}", str(exc)) from None
    return patterns


def _quality(value: Any, field: str) -> dict[str, list[tuple[str, CheckSpec]]]:
    """Output -> its checks, each with the field of its parameters."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(field, "must map output names to lists of checks")
    checks: dict[str, list[tuple[str, CheckSpec]]] = {}
    for output, listed in value.items():
        at = f"{field}.{output}"
        if not isinstance(listed, list | tuple):
            raise FieldError(at, "must be a list of checks, e.g. [no_nan_predictions]")
        checks[str(output)] = [_check(item, f"{at}.{i}") for i, item in enumerate(listed)]
    return checks


def _check(item: Any, field: str) -> tuple[str, CheckSpec]:
    data = _plain(item)
    try:
        check = check_from_data(data)
    except FieldError as exc:
        raise FieldError(".".join(filter(None, [field, exc.field])), exc.message) from None
    shorthand = check_shorthand(data)
    params = f"{field}.{shorthand[0]}" if shorthand else field
    if check.output is not None:
        raise FieldError(f"{params}.output", "the key above names the output already")
    return params, check


def _plain(value: Any) -> Any:
    """``value`` with every step output (``prep.output("test")``) written as its text."""
    from .pipeline import StepOutput

    if isinstance(value, StepOutput):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# -- checking declarations against the pipeline -----------------------------------------------


def check_expectations(
    expectations: Sequence[Expectation], pipeline: Pipeline, file: Path | str | None
) -> None:
    """Every expectation names a step of ``pipeline``, an output it has, datasets that exist,
    and nothing a training step cannot show; else a ``PipelineError`` naming ``file`` and the
    field."""
    for expectation in expectations:
        problem = _problem(expectation, pipeline)
        if problem is not None:
            field, message = problem
            raise PipelineError(message, file=file, field=field)


def _problem(expectation: Expectation, pipeline: Pipeline) -> tuple[str, str] | None:
    step = pipeline.steps.get(expectation.step)
    if step is None:
        return expectation.at, _no_step(expectation.step, pipeline)
    training = step.kind == "training"
    if isinstance(expectation, ExpectedMetric) and training:
        return f"{expectation.at}.metrics", TRAINING_FILES
    if not isinstance(expectation, ExpectedQuality):
        return None
    where = f"{expectation.at}.data_quality.{expectation.output}"
    if training:
        return f"{expectation.at}.data_quality", TRAINING_FILES
    if expectation.output not in step.output_names:
        outputs = ", ".join(step.output_names) or "none"
        return where, f"'{step.name}' has no output '{expectation.output}'; its outputs: {outputs}"
    for key, reference in expectation.check.datasets():
        message = _dataset_problem(reference, pipeline, expectation.base_dir)
        if message is not None:
            return f"{expectation.field}.{key}", message
    return None


def _no_step(name: str, pipeline: Pipeline) -> str:
    close = difflib.get_close_matches(name, list(pipeline.steps), n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return f"no step named '{name}'{guess}; steps: {', '.join(pipeline.steps)}"


def _dataset_problem(reference: str, pipeline: Pipeline, base_dir: Path) -> str | None:
    target = output_reference(reference, pipeline)
    if target is not None:
        step = pipeline.steps[target[0]]
        if step.kind == "training":
            return f"'{reference}' is a training step's archive, not a table; {TRAINING_FILES}"
        if target[1] not in step.output_names:
            outputs = ", ".join(step.output_names) or "none"
            return f"'{step.name}' has no output '{target[1]}'; its outputs: {outputs}"
        return None
    path = (base_dir / reference).expanduser()
    if path.exists():
        return None
    return (
        f"'{reference}' is neither step.output of a step ({', '.join(pipeline.steps)}) nor a "
        f"file or folder: no such file or folder {path}"
    )


def output_reference(reference: str, pipeline: Pipeline) -> tuple[str, str] | None:
    """(step, output) of a dataset written ``step.output`` whose step is in ``pipeline``."""
    step, dot, output = reference.partition(".")
    return (step, output) if dot and step in pipeline.steps else None


def with_expectations(pipeline: Pipeline, more: Sequence[Expectation]) -> Pipeline:
    """``pipeline`` also holding ``more`` expectations (a scenario's)."""
    if not more:
        return pipeline
    result = pipeline.with_steps(pipeline.steps)
    result.expectations = [*pipeline.expectations, *more]
    return result


# -- the verdicts -----------------------------------------------------------------------------

ExpectationOutcome = Literal["passed", "failed", "skipped"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    """As in the reports: ``evaluate: auc_roc >= 0.8``."""
    step: str
    outcome: ExpectationOutcome
    message: str
    """Why it failed or was skipped, or what was found, in one line."""
    declared_at: str
    """The field that declares it: ``expectations.evaluate.metrics.auc_roc``."""


class MetricResult(_Result):
    """A metric against its bound: ``expected`` the bound, ``actual`` the value read."""

    kind: Literal["metric"] = "metric"
    expected: MetricExpectation
    actual: float | None = None
    """None when the metric is missing or no number."""
    metrics_file: str | None = None
    """The file read, relative to the step's outputs."""


class OutputResult(_Result):
    """A pattern the step's outputs must meet: ``actual`` the files that meet it."""

    kind: Literal["output"] = "output"
    expected: str
    actual: list[str] = Field(default_factory=list)
    """The first files that match (at most ten)."""


class QualityResult(_Result):
    """A check on an output: ``expected`` the check as declared, ``actual`` what it measured."""

    kind: Literal["data_quality"] = "data_quality"
    output: str
    expected: dict[str, Any]
    actual: CheckResult | None = None


ExpectationResult = Annotated[
    MetricResult | OutputResult | QualityResult, Field(discriminator="kind")
]


def expectations_failed(results: Sequence[MetricResult | OutputResult | QualityResult]) -> bool:
    """Whether an expectation failed: it makes the command's exit code 1."""
    return any(result.outcome == "failed" for result in results)


def judge(pipeline: Pipeline, run: RunResult) -> list[MetricResult | OutputResult | QualityResult]:
    """The verdict on each expectation of ``pipeline`` after ``run``, from the step output
    folders of the run."""
    outputs = _RunOutputs(pipeline, run)
    return [_judged(name, e, outputs) for name, e in named(pipeline.expectations)]


def _judged(
    name: str, expectation: Expectation, outputs: _RunOutputs
) -> MetricResult | OutputResult | QualityResult:
    common = {"name": name, "step": expectation.step, "declared_at": expectation.field}
    skipped = outputs.not_judged(expectation)
    if isinstance(expectation, ExpectedMetric):
        return _metric(expectation, outputs, {**common, "expected": expectation.expected}, skipped)
    if isinstance(expectation, ExpectedOutput):
        return _output(expectation, outputs, {**common, "expected": expectation.pattern}, skipped)
    declared = _declared(expectation.check)
    fields = {**common, "output": expectation.output, "expected": declared}
    return _quality_check(expectation, outputs, fields, skipped)


def _metric(
    expectation: ExpectedMetric, outputs: _RunOutputs, fields: dict[str, Any], skipped: str | None
) -> MetricResult:
    if skipped:
        return MetricResult(**fields, outcome="skipped", message=skipped)
    expected = expectation.expected
    file, flat = outputs.metrics(expectation.step, expectation.pattern)
    fields["metrics_file"] = file
    if file is None or isinstance(flat, str):
        return MetricResult(**fields, outcome="failed", message=str(flat))
    value, failure = check_metric(expected, flat, file)
    fields["actual"] = value
    if failure is not None:
        return MetricResult(**fields, outcome="failed", message=failure.message)
    found = f"{expected.metric} is {number_text(value or 0.0)} in {file}"
    return MetricResult(**fields, outcome="passed", message=f"{found}, expected {expected.bound}")


def _output(
    expectation: ExpectedOutput, outputs: _RunOutputs, fields: dict[str, Any], skipped: str | None
) -> OutputResult:
    if skipped:
        return OutputResult(**fields, outcome="skipped", message=skipped)
    files = outputs.files(expectation.step)
    failure = check_output_written(expectation.pattern, files)
    if failure is not None:
        return OutputResult(**fields, outcome="failed", message=failure.message)
    found = [path for path in files if matches(expectation.pattern, path)]
    more = f" and {len(found) - LISTED_FILES} more" if len(found) > LISTED_FILES else ""
    shown = ", ".join(found[:LISTED_FILES]) + more
    message = f"'{expectation.pattern}' written: {shown}"
    return OutputResult(**fields, outcome="passed", message=message, actual=found[:LISTED_FILES])


def _quality_check(
    expectation: ExpectedQuality, outputs: _RunOutputs, fields: dict[str, Any], skipped: str | None
) -> QualityResult:
    if skipped:
        return QualityResult(**fields, outcome="skipped", message=skipped)
    step, output, check = expectation.step, expectation.output, expectation.check
    try:
        table = outputs.table(step, output)
    except InputError as exc:
        message = f"{check.name}: cannot read {step}.{output}: {exc}"
        return QualityResult(**fields, outcome="failed", message=message)
    result = run_check(check, CheckContext(table, None, outputs.loader(expectation.base_dir)))
    message = f"{check.name}: {result.message}"
    if result.passed:
        return QualityResult(**fields, outcome="passed", message=message, actual=result)
    if result.is_failure:
        return QualityResult(**fields, outcome="failed", message=message, actual=result)
    warned = f"warning: {message}"
    return QualityResult(**fields, outcome="passed", message=warned, actual=result)


def _declared(check: CheckSpec) -> dict[str, Any]:
    """The check as declared: its name and the parameters given."""
    given = check.model_dump(mode="json", exclude_defaults=True, exclude={"check", "output"})
    return {"check": check.name, **given}


class _RunOutputs:
    """The step output folders of one run, each file list, metrics file and table read once."""

    def __init__(self, pipeline: Pipeline, run: RunResult) -> None:
        self.pipeline = pipeline
        self.run_dir = Path(run.run_dir)
        self.status = {step.name: step.status for step in run.steps}
        self._files: dict[str, list[str]] = {}
        self._metrics: dict[tuple[str, str], tuple[str | None, dict[str, Any] | str]] = {}
        self._tables: dict[tuple[str, str], Any] = {}
        self._references: dict[Path, Any] = {}

    def not_judged(self, expectation: Expectation) -> str | None:
        """Why the expectation is skipped: its step, or a step it compares with, did not
        succeed; None when it is judged."""
        steps = [expectation.step]
        if isinstance(expectation, ExpectedQuality):
            steps += [
                target[0]
                for _, reference in expectation.check.datasets()
                if (target := output_reference(reference, self.pipeline)) is not None
            ]
        for step in steps:
            status = self.status.get(step)
            whose = "" if step == expectation.step else ", whose output it compares with,"
            if status is None:
                return f"not judged: '{step}'{whose} was not part of this run"
            if status is not Status.SUCCEEDED:
                return f"not judged: '{step}'{whose} did not succeed ({status.value})"
        return None

    def outputs_dir(self, step: str) -> Path:
        return StepPaths(self.run_dir / "steps" / step).outputs_dir

    def files(self, step: str) -> list[str]:
        if step not in self._files:
            self._files[step] = output_files(self.outputs_dir(step))
        return self._files[step]

    def metrics(self, step: str, pattern: str) -> tuple[str | None, dict[str, Any] | str]:
        key = (step, pattern)
        if key not in self._metrics:
            self._metrics[key] = metrics_from(self.outputs_dir(step), pattern, self.files(step))
        return self._metrics[key]

    def table(self, step: str, output: str) -> Any:
        """The table of an output; an ``InputError`` says why there is none."""
        key = (step, output)
        if key not in self._tables:
            try:
                self._tables[key] = read_dataset(self.outputs_dir(step) / output)
            except InputError as exc:
                self._tables[key] = exc
        found = self._tables[key]
        if isinstance(found, InputError):
            raise found
        return found

    def loader(self, base_dir: Path) -> Callable[[str], Any]:
        """Reads a check's dataset: ``step.output`` of this run, else a file under ``base_dir``."""

        def load(reference: str) -> Any:
            target = output_reference(reference, self.pipeline)
            try:
                if target is not None:
                    return self.table(*target)
                return self._reference(base_dir / reference)
            except InputError as exc:
                raise CheckUnavailable(f"{reference}: {exc}") from None

        return load

    def _reference(self, path: Path) -> Any:
        if path not in self._references:
            self._references[path] = read_dataset(path)
        return self._references[path]
