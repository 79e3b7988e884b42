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
and what a training step can show are checked with the pipeline, before anything runs, and
judged after the run, by ``expectation_results``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict

from ..data.metrics import (
    DEFAULT_METRICS_FILE,
    MetricExpectation,
    parse_expected_metrics,
    relative_pattern,
)
from ..data.quality import check_from_data, check_shorthand
from ..data.quality_checks import CheckSpec
from ..files import FieldError, InputRecord, reject_unknown

if TYPE_CHECKING:
    pass

STEP_FIELDS = ("metrics", "metrics_file", "outputs", "data_quality")
"""What an entry of ``expectations`` may declare about its step."""
TRAINING_FILES = (
    "a training step's files reach cit packed in model.tar.gz and output.tar.gz; expect "
    "metrics and data quality of the step that reads them (e.g. the one that evaluates the model)"
)


class InvalidExpectation(FieldError):
    """A mistake in ``Pipeline.expect``: the field (``expectations.STEP...``) and why."""


# -- what is declared -------------------------------------------------------------------------


class _Declared(InputRecord):
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


def _check(data: Any, field: str) -> tuple[str, CheckSpec]:
    try:
        check = check_from_data(data)
    except FieldError as exc:
        raise FieldError(".".join(filter(None, [field, exc.field])), exc.message) from None
    shorthand = check_shorthand(data)
    params = f"{field}.{shorthand[0]}" if shorthand else field
    if check.output is not None:
        raise FieldError(f"{params}.output", "the key above names the output already")
    return params, check
