"""Judging a pipeline's expectations (``pipeline_expectations``): checked against the pipeline
before anything runs, and, after the run, one result per expectation read with the test
cases' own readers: passed, failed with why, or skipped when its step (or a step whose output
it compares with) did not succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..data.metrics import MetricExpectation, number_text
from ..data.quality import CheckResult, read_dataset, run_check
from ..data.quality_checks import CheckContext, CheckSpec, CheckUnavailable
from ..errors import InputError
from ..pipeline.expectations import (
    Expectation,
    ExpectedMetric,
    ExpectedOutput,
    ExpectedQuality,
    named,
)
from ..pipeline.validate import output_reference
from ..run.results import RunResult, Status
from ..run.sagemaker_job import StepPaths
from ..scripttest.case_checks import (
    LISTED_FILES,
    check_metric,
    check_output_written,
    matches,
    metrics_from,
    output_files,
)

if TYPE_CHECKING:
    from ..pipeline.model import Pipeline


# -- checking declarations against the pipeline -----------------------------------------------


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
