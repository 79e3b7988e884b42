"""The global data-quality checks of ``cit test-all`` (``data_quality_checks``): checked against
the scenarios' pipelines before anything runs, then run on every table output of the steps that
succeeded, one "quality" test per check and output.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..data.quality import CheckResult, read_dataset, run_check
from ..data.quality_checks import (
    CheckContext,
    CheckSpec,
    CheckUnavailable,
    DistributionDrift,
    MaxMissingRatio,
    Statistics,
)
from ..errors import InputError
from ..pipeline.model import Pipeline
from ..report.model import Outcome, TestItem
from ..run.results import RunResult
from .config import (
    DataDriftDetection,
    IntegrationTestConfig,
    MissingValueDetection,
    QualityCheckConfig,
    StatisticalValidation,
)

__all__ = ["check_quality_checks", "quality_items", "runs_a_check"]


def runs_a_check(check: QualityCheckConfig) -> bool:
    """Whether ``check`` runs here: schema_validation is what every data-flow test does already."""
    return isinstance(check, MissingValueDetection | StatisticalValidation | DataDriftDetection)


def check_quality_checks(
    config: IntegrationTestConfig, pipelines: Sequence[Pipeline]
) -> dict[str, Any]:
    """In each enabled check, every ``outputs`` entry names an output of a step of the scenarios'
    ``pipelines`` and a drift reference is a readable table with the columns named. The
    references, by path."""
    checks = [
        (index, check)
        for index, check in enumerate(config.data_quality_checks)
        if check.enabled and runs_a_check(check)
    ]
    if checks and not pipelines:
        raise InputError(
            "check the outputs of test_scenarios, and there are none",
            file=config.source,
            field="data_quality_checks",
        )
    outputs = _outputs(pipelines)
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


def _outputs(pipelines: Sequence[Pipeline]) -> list[str]:
    """Every ``step.output`` of ``pipelines``, sorted."""
    return sorted(
        {
            f"{step.name}.{o}"
            for pipeline in pipelines
            for step in pipeline.steps.values()
            for o in step.output_names
        }
    )


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
