"""Judging one run of a test case against its expectations, without running anything.

``evaluate(case, outcome)`` lists every expectation the run missed, as ``Failure``s with a
one-line reason, in this order: completion, metrics, outputs, ``min_predictions``,
``max_execution_time_seconds``, warnings.

- **Completion**: the script completed when it exited 0. A case with ``should_complete: false``
  passes when it did not; metrics, outputs and ``min_predictions`` are then not checked (there
  is nothing to check), while time and warnings still are. A run that should have completed
  and did not is still checked for everything, so every missed expectation is listed.
- **Outputs**: a pattern is matched against the files under the outputs root (one folder per
  output), as a relative path with ``*``/``?``/``[...]`` within one part and ``**`` for any
  number of parts; a pattern without ``/`` matches at any depth. A pattern is met when it
  names a file, or a folder holding at least one file.
- **Metrics** are read from the case's ``metrics_file``, by default the shallowest (then
  alphabetically first) file named ``metrics.json``. It holds a JSON object, flat or nested:
  a metric is named by its key or by a dotted path (``binary_classification_metrics.auc``),
  an object ``{"value": x}`` stands for ``x`` (SageMaker's model-quality style), and a name
  that is not a full path matches the one path that ends with it (``auc`` finds
  ``metrics.auc``). Booleans and text are not numbers.
- **Warnings**: a pattern is looked for in each log line, as a substring or, written
  ``/.../``, as a regular expression.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from ..container_files import is_real_dir, read_bounded, regular_files, walk
from ..data.capture import capture_output
from ..data.compatibility import check_output
from ..data.metrics import DEFAULT_METRICS_FILE, MetricExpectation, number_text
from ..data.profiles import Distribution, OutputProfile
from ..data.schemas import DataSchema
from ..engines.base import Isolation as Isolation  # where it lived in 0.1
from ..issues import Issue
from ..run.results import Status
from .cases import ALL_OUTPUTS, TestCase, log_pattern

FailureKind = Literal["metric", "output", "schema", "behavior", "warning", "data_quality"]
LISTED_FILES = 10
"""Output files named in a message before the rest are counted."""
LISTED_METRICS = 20
METRICS_LIMIT = 16 * 2**20
"""The largest metrics file that is read."""


class Failure(BaseModel):
    """One expectation a run missed: what was expected, what was seen, and why in one line."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    expectation: str
    actual: str | None = None
    message: str
    sample: list[dict[str, Any]] = Field(default_factory=list)
    """Some of the rows that failed, for a data-quality check."""
    distribution: Distribution | None = None
    """What a drift check compared, bin by bin (the HTML report draws it)."""
    bound: MetricExpectation | None = None
    """The bound a metric failure missed (the HTML report draws it on the metric's bar)."""


class CaseOutcome(BaseModel):
    """What one run of a case produced."""

    model_config = ConfigDict(frozen=True)

    exit_code: int | None
    status: str = ""
    reason: str | None = None
    """Why the run did not succeed, as the step's result says it (a timeout, a memory limit)."""
    message: str | None = None
    """What the script wrote to /opt/ml/output/failure or message."""
    duration_seconds: float = 0.0
    log_lines: list[str] = Field(default_factory=list)
    outputs_dir: Path
    prediction_rows: int | None = None
    profiles: dict[str, OutputProfile] = Field(default_factory=dict)
    """Captured schemas of the outputs, by name; an output missing here is captured when a
    schema expectation needs it."""
    findings: list[Issue] = Field(default_factory=list)
    """What the step left that cit had to secure (links out of its outputs and such)."""

    @property
    def completed(self) -> bool:
        return self.exit_code == 0


def evaluate(case: TestCase, outcome: CaseOutcome) -> list[Failure]:
    """Every expectation of ``case`` that ``outcome`` misses, each with its reason."""
    failures = _completion(case, outcome)
    if outcome.completed or case.should_complete:
        files = output_files(outcome.outputs_dir)
        failures += _metrics(case, outcome.outputs_dir, files)
        failures += _outputs(case, files)
        failures += _schemas(case, outcome)
        failures += _predictions(case, outcome)
    failures += _duration(case, outcome)
    failures += _warnings(case, outcome)
    failures += _left_behind(outcome)
    return failures


def _left_behind(outcome: CaseOutcome) -> list[Failure]:
    """Error-level findings of the run: every case expects its outputs to stay in their
    folders."""
    return [
        Failure(
            kind="output",
            expectation="outputs stay inside their folders",
            actual=issue.rule,
            message=f"[{issue.rule}] {issue.description}",
        )
        for issue in outcome.findings
        if issue.is_error
    ]


# Output schemas -----------------------------------------------------------------------------


def _schemas(case: TestCase, outcome: CaseOutcome) -> list[Failure]:
    """Error-level issues of each output against its expected schema."""
    failures = []
    named = set(case.expected_schema) - {ALL_OUTPUTS}
    for output, schema in _schema_targets(case, outcome.outputs_dir):
        profile = outcome.profiles.get(output) or capture_output(
            output, outcome.outputs_dir / output
        )
        if output not in named and not profile.datasets:
            continue  # '*' means the outputs that hold tables, not a metrics file or a model
        for issue in check_output(profile, schema):
            if issue.is_error:
                expectation = f"expected_schema: {output} ({schema.source or 'inline'})"
                message = f"output '{output}': {issue.description} [{issue.rule}]"
                failures.append(
                    Failure(
                        kind="schema", expectation=expectation, actual=issue.rule, message=message
                    )
                )
    return failures


def _schema_targets(case: TestCase, outputs_dir: Path) -> list[tuple[str, DataSchema]]:
    """(output, schema) pairs: named outputs, and every output with files for ``*``."""
    targets = [(o, s) for o, s in case.expected_schema.items() if o != ALL_OUTPUTS]
    every = case.expected_schema.get(ALL_OUTPUTS)
    if every is not None:
        named = {o for o, _ in targets}
        folders = sorted(outputs_dir.iterdir()) if outputs_dir.is_dir() else []
        targets += [
            (f.name, every)
            for f in folders
            if f.name not in named and is_real_dir(f) and regular_files(f)
        ]
    return targets


# Behaviour ---------------------------------------------------------------------------------


def _completion(case: TestCase, outcome: CaseOutcome) -> list[Failure]:
    actual = "not finished" if outcome.exit_code is None else f"exit code {outcome.exit_code}"
    if outcome.status in _ENDINGS:
        actual = f"{outcome.status} ({actual})"
    if case.should_complete and not outcome.completed:
        message = f"should_complete: true but the script {how_it_ended(outcome)}"
        return [_behavior("should_complete: true", actual, message)]
    if not case.should_complete and outcome.completed:
        message = "should_complete: false but the script exited 0"
        return [_behavior("should_complete: false", actual, message)]
    return []


_ENDINGS = {
    Status.OOM.value: ("ran out of memory", "out of memory: "),
    Status.TIMEOUT.value: ("timed out", ""),
}
"""Statuses a run ends with that have a name of their own: (what the script did, the prefix of
its reason that says it again)."""


def how_it_ended(outcome: CaseOutcome) -> str:
    """A run that did not complete, in words: out of memory and timeouts by name, then the
    exit code and what the script wrote to its failure file."""
    code = f"exit code {outcome.exit_code}" if outcome.exit_code is not None else None
    if outcome.status in _ENDINGS:
        said, prefix = _ENDINGS[outcome.status]
        details = "; ".join(filter(None, [(outcome.reason or "").removeprefix(prefix), code]))
        return f"{said} ({details})" if details else said
    if outcome.exit_code is None:
        return f"did not finish ({outcome.reason or outcome.status or 'no exit code'})"
    written = f": {outcome.message.splitlines()[0]}" if outcome.message else ""
    return f"exited {outcome.exit_code}{written}"


def _predictions(case: TestCase, outcome: CaseOutcome) -> list[Failure]:
    minimum = case.expected_behavior.min_predictions
    if minimum is None:
        return []
    expectation = f"min_predictions: {minimum}"
    rows = outcome.prediction_rows
    if rows is None:
        message = f"min_predictions {minimum}: the predictions could not be counted"
        return [_behavior(expectation, None, message)]
    if rows < minimum:
        message = f"wrote {rows} predictions, fewer than min_predictions {minimum}"
        return [_behavior(expectation, str(rows), message)]
    return []


def _duration(case: TestCase, outcome: CaseOutcome) -> list[Failure]:
    limit = case.expected_behavior.max_execution_time_seconds
    if limit is None or outcome.duration_seconds <= limit:
        return []
    ran = f"{outcome.duration_seconds:.1f}"
    if float(ran) <= limit:
        ran = f"{outcome.duration_seconds:.3f}"
    message = f"ran {ran} s, more than max_execution_time_seconds {number_text(limit)}"
    expectation = f"max_execution_time_seconds: {number_text(limit)}"
    return [_behavior(expectation, f"{ran} s", message)]


def _behavior(expectation: str, actual: str | None, message: str) -> Failure:
    return Failure(kind="behavior", expectation=expectation, actual=actual, message=message)


# Outputs -----------------------------------------------------------------------------------


def output_files(outputs_dir: Path) -> list[str]:
    """The regular files under ``outputs_dir`` as sorted relative paths with '/' (none if
    missing); links are not followed, nor counted as written."""
    return sorted(entry.rel for entry in walk(outputs_dir).files)


def matches(pattern: str, path: str, *, folders: bool = True) -> bool:
    """Whether ``pattern`` names the file ``path`` or, with ``folders``, a folder holding it."""
    parts = pattern.split("/") if "/" in pattern else ["**", pattern]
    return _parts_match(parts, path.split("/"), folders)


def _parts_match(pattern: list[str], path: list[str], folders: bool) -> bool:
    if not pattern:
        return folders or not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_parts_match(rest, path[i:], folders) for i in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], head) and _parts_match(rest, path[1:], folders)


def _outputs(case: TestCase, files: list[str]) -> list[Failure]:
    return [f for pattern in case.expected_outputs if (f := check_output_written(pattern, files))]


def check_output_written(pattern: str, files: list[str]) -> Failure | None:
    """The failure when no file of ``files`` (``output_files``) meets ``pattern``."""
    if any(matches(pattern, path) for path in files):
        return None
    message = f"expected output '{pattern}' was not written (outputs: {_listing(files)})"
    return Failure(kind="output", expectation=f"expected_outputs: {pattern}", message=message)


def _listing(files: list[str]) -> str:
    if not files:
        return "none"
    shown = ", ".join(files[:LISTED_FILES])
    more = len(files) - LISTED_FILES
    return f"{shown} and {more} more" if more > 0 else shown


# Metrics -----------------------------------------------------------------------------------


def metrics_file_for(pattern: str, files: list[str]) -> str | None:
    """The file holding the metrics: the shallowest match of ``pattern``, then by name."""
    found = [path for path in files if matches(pattern, path, folders=False)]
    return min(found, key=lambda path: (path.count("/"), path)) if found else None


def _metrics(case: TestCase, outputs_dir: Path, files: list[str]) -> list[Failure]:
    expected = list(case.expected_metrics.values())
    if not expected:
        return []
    name, flat = metrics_from(outputs_dir, case.metrics_pattern, files)
    if name is None or isinstance(flat, str):
        return [_metric_file_failure(expected, str(flat))]
    return [f for e in expected if (f := check_metric(e, flat, name)[1]) is not None]


def metrics_from(
    outputs_dir: Path, pattern: str, files: list[str]
) -> tuple[str | None, dict[str, Any] | str]:
    """The metrics file matching ``pattern`` among ``files`` (``output_files`` of
    ``outputs_dir``) and its flattened metrics, or the one-line reason there are none."""
    name = metrics_file_for(pattern, files)
    if name is None:
        return None, f"metrics file '{pattern}' was not written (outputs: {_listing(files)})"
    data = _read_metrics(outputs_dir, name)
    return name, data if isinstance(data, str) else flatten_metrics(data)


def case_metrics(result: TestCaseResult, step: str) -> dict[str, Any]:
    """The metrics ``step`` wrote in a case's run (the case's metrics file), flattened; none
    when the case did not run."""
    if result.run_dir is None:
        return {}
    outputs_dir = result.run_dir / "steps" / step / "outputs"
    return read_metrics(outputs_dir, result.metrics_file)


def read_metrics(outputs_dir: Path, pattern: str) -> dict[str, Any]:
    """The flattened metrics of the file matching ``pattern`` under ``outputs_dir``; empty
    when there is none or it is not a JSON object."""
    _, flat = metrics_from(outputs_dir, pattern, output_files(outputs_dir))
    return flat if isinstance(flat, dict) else {}


def _metric_file_failure(expected: list[MetricExpectation], message: str) -> Failure:
    expectation = ", ".join(e.describe() for e in expected)
    return Failure(kind="metric", expectation=expectation, message=message)


def _read_metrics(outputs_dir: Path, name: str) -> dict[str, Any] | str:
    """The metrics object of the file ``name`` under ``outputs_dir``, or the one-line reason
    it cannot be used; read through no link and no further than ``METRICS_LIMIT``."""
    try:
        raw, cut = read_bounded(outputs_dir / name, METRICS_LIMIT, root=outputs_dir)
        if cut:
            limit = METRICS_LIMIT // 2**20
            return f"metrics file '{name}' is larger than {limit} MiB; it is not read"
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        return f"metrics file '{name}' cannot be read: {exc.strerror}"
    except UnicodeDecodeError:
        return f"metrics file '{name}' is not UTF-8 text"
    except json.JSONDecodeError as exc:
        return f"metrics file '{name}' is not valid JSON: {exc.msg} (line {exc.lineno})"
    if not isinstance(data, dict):
        return f"metrics file '{name}' holds a JSON {_json_kind(data)}, not an object of metrics"
    return data


def _json_kind(value: Any) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def flatten_metrics(data: dict[str, Any]) -> dict[str, Any]:
    """Dotted names of every value in a metrics object; ``{"value": x}`` stands for ``x``."""
    return dict(_leaves(data, ""))


def _leaves(data: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "value" in value:
            yield name, value["value"]
        elif isinstance(value, dict):
            yield from _leaves(value, f"{name}.")
        else:
            yield name, value


def find_metric(flat: Mapping[str, Any], metric: str) -> list[str]:
    """The dotted names ``metric`` may mean: itself, else every name ending in ``.metric``."""
    if metric in flat:
        return [metric]
    return [name for name in flat if name.endswith(f".{metric}")]


def check_metric(
    expected: MetricExpectation, flat: dict[str, Any], file: str
) -> tuple[float | None, Failure | None]:
    """The value ``expected`` names in the flattened metrics of ``file`` (None when it is no
    number), and the failure when it misses the bound."""
    metric = expected.metric
    found = find_metric(flat, metric)
    if len(found) != 1:
        return None, _metric_failure(expected, None, _not_found(metric, found, flat, file))
    value = flat[found[0]]
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = json.dumps(value)
        message = f"metric '{metric}' in {file} is {shown}, not a number"
        return None, _metric_failure(expected, shown, message)
    if expected.holds(float(value)):
        return float(value), None
    shown = number_text(float(value))
    message = f"{metric} is {shown}, expected {expected.bound}"
    return float(value), _metric_failure(expected, shown, message)


def _not_found(metric: str, found: list[str], flat: dict[str, Any], file: str) -> str:
    if found:
        return (
            f"metric '{metric}' is ambiguous in {file} (it matches: {', '.join(found)}); "
            "give its dotted name"
        )
    names = list(flat)
    shown = ", ".join(names[:LISTED_METRICS]) or "nothing"
    more = f" and {len(names) - LISTED_METRICS} more" if len(names) > LISTED_METRICS else ""
    return f"metric '{metric}' not in {file} (it has: {shown}{more})"


def _metric_failure(expected: MetricExpectation, actual: str | None, message: str) -> Failure:
    return Failure(
        kind="metric",
        expectation=expected.describe(),
        actual=actual,
        message=message,
        bound=expected,
    )


# Warnings ----------------------------------------------------------------------------------


def _warnings(case: TestCase, outcome: CaseOutcome) -> list[Failure]:
    failures = []
    for written in case.warnings_expected:
        if not _in_log(written, outcome.log_lines):
            failures.append(
                Failure(
                    kind="warning",
                    expectation=f"warnings_expected: {written}",
                    message=f"expected warning '{written}' not in the log",
                )
            )
    return failures


def _in_log(written: str, lines: list[str]) -> bool:
    regex = log_pattern(written)
    if regex is None:
        return any(written in line for line in lines)
    return any(regex.search(line) for line in lines)


# Results -----------------------------------------------------------------------------------


class TestCaseResult(BaseModel):
    """The verdict on one case. ``error_message`` defaults to the first failure's message;
    a case that could not run at all has an ``error_message`` and no failures. A case that
    Ctrl-C stopped (or kept from starting) has the run status ``interrupted``."""

    __test__: ClassVar[bool] = False
    model_config = ConfigDict(frozen=True)

    name: str
    failures: list[Failure] = Field(default_factory=list)
    warnings: list[Failure] = Field(default_factory=list)
    """Expectations of warning severity that were missed: reported, not failed."""
    error_message: str | None = None
    duration_seconds: float = 0.0
    isolation: Isolation = "container"
    run_dir: Path | None = None
    quality_checks_run: int = 0
    """Data-quality checks that ran: none when the script did not complete."""
    expected_metrics: list[str] = Field(default_factory=list)
    """The case's metric thresholds, met or not, as written ("auc >= 0.8")."""
    metric_expectations: list[MetricExpectation] = Field(default_factory=list)
    """The same thresholds as bounds, for the report's charts."""
    metrics_file: str = DEFAULT_METRICS_FILE
    """The output file that holds the case's metrics (``TestCase.metrics_pattern``)."""
    hints: list[str] = Field(default_factory=list)
    """What points at the cause when the script did not succeed (its step's ``hints``)."""
    run_status: Status | None = None
    """How the case's run ended (its step's status); ``interrupted`` for a case stopped or
    never started because of Ctrl-C; None for a result that names no run."""
    expected_to_fail: bool = False
    """The case says ``should_complete: false``: passing, it failed as expected."""

    @model_validator(mode="before")
    @classmethod
    def _first_failure(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("error_message") is None and data.get("failures"):
            first = data["failures"][0]
            message = first.message if isinstance(first, Failure) else first.get("message")
            return {**data, "error_message": message}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return not self.interrupted and not self.failures and self.error_message is None

    @property
    def interrupted(self) -> bool:
        """Ctrl-C stopped the case, or kept it from starting."""
        return self.run_status is Status.INTERRUPTED

    @property
    def failed_as_expected(self) -> bool:
        """The script was to fail, and did (every other expectation met)."""
        return self.passed and self.expected_to_fail


def judge(
    case: TestCase,
    outcome: CaseOutcome,
    isolation: Isolation = "container",
    run_dir: Path | None = None,
) -> TestCaseResult:
    """The result of ``case`` for ``outcome``: its failures, duration and where it ran."""
    return TestCaseResult(
        name=case.name,
        failures=evaluate(case, outcome),
        duration_seconds=outcome.duration_seconds,
        isolation=isolation,
        run_dir=run_dir,
        expected_metrics=[e.describe() for e in case.expected_metrics.values()],
        metric_expectations=list(case.expected_metrics.values()),
        metrics_file=case.metrics_pattern,
        run_status=_status(outcome.status),
        expected_to_fail=not case.should_complete,
    )


def _status(written: str) -> Status | None:
    """The run status a case outcome names; None for none or one cit does not know."""
    try:
        return Status(written)
    except ValueError:
        return None


class ScriptTestResult(BaseModel):
    """The verdicts on every case of one script; ``passed`` counts the cases that passed."""

    model_config = ConfigDict(frozen=True)

    script: str
    test_results: list[TestCaseResult] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return len(self.test_results)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.test_results)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> int:
        return self.total - self.passed

    @property
    def ok(self) -> bool:
        """Every case passed."""
        return self.passed == self.total

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def result(self, name: str) -> TestCaseResult:
        for result in self.test_results:
            if result.name == name:
                return result
        raise KeyError(name)
