"""Data flow along a pipeline's edges: which output feeds which input, and, after a run, what
flowed along each one and whether the consumer could use it. Pure: reads results, not Docker.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field, computed_field

from ..data.compatibility import check_output, schema_issues
from ..data.profiles import OutputProfile
from ..data.schemas import DataSchema
from ..data.snapshots import drift, load_snapshot, snapshot_file
from ..issues import Issue, RuleInfo, Severity, has_errors
from ..pipeline.model import Pipeline
from ..pipeline.wiring import Wire, declared_schemas, missing_sub_path, sourced
from ..run.results import RunResult, Status, StepResult
from .expectation_results import ExpectationResult, expectations_failed

PRODUCER_FAILED = "producer_failed"
CONSUMER_FAILED = "consumer_failed"
CONSUMER_NOT_RUN = "consumer_not_run"
SUB_PATH_MISSING = "sub_path_missing"
EDGE_RULES: dict[str, RuleInfo] = {
    PRODUCER_FAILED: RuleInfo(
        Severity.WARNING, "the producer did not succeed: nothing flowed, nothing was checked"
    ),
    CONSUMER_FAILED: RuleInfo(
        Severity.WARNING,
        "the consumer did not succeed on this data (the step fails, not the edge, unless the "
        "data broke a rule)",
    ),
    CONSUMER_NOT_RUN: RuleInfo(Severity.WARNING, "the consumer did not run"),
    SUB_PATH_MISSING: RuleInfo(
        Severity.ERROR,
        "the folder an input takes from inside another step's output was not there after "
        "that step ran (the consumer did not run)",
    ),
}
"""What an edge is marked with beside the compatibility rules: the outcome of the steps at
its ends. An edge fails only when its data broke a rule; a step that did not succeed is that
step's own failure."""
Snapshots = dict[tuple[str, str], tuple[Path, OutputProfile]]
"""Stored snapshots by (step, output): the golden file and what it holds."""


class EdgeResult(BaseModel):
    """What flowed along one wire and whether its consumer could use it."""

    edge: str
    producer: str
    output: str
    path: str | None = None
    """The folder inside ``output`` the consumer takes, when it takes only that folder."""
    consumer: str
    input: str
    producer_status: Status
    consumer_status: Status
    captured: OutputProfile | None = None
    """What flowed: the output's profile, or the part of it under ``path``."""
    expected: DataSchema | None = None
    """The consumer's declared input schema, from its contract."""
    promised: DataSchema | None = None
    """The producer's declared output schema, from its contract."""
    issues: list[Issue] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_compatible(self) -> bool:
        """The data broke no rule (a step that failed is that step's own failure)."""
        return not has_errors(self.issues)

    @property
    def checked(self) -> bool:
        """Data flowed along the edge and was checked (its producer succeeded)."""
        return self.captured is not None


class DataFlowTestResult(BaseModel):
    """Edges tested in one run: the answer to 'can each step use what the one before wrote?'"""

    pipeline: str
    pipeline_file: str
    run_id: str
    run_dir: str
    run_status: Status
    path: list[str] | None = None
    edges: list[EdgeResult] = Field(default_factory=list)
    output_issues: list[Issue] = Field(default_factory=list)
    """Outputs that no tested edge carries: their own declared schema and snapshot drift."""
    snapshots_updated: list[str] = Field(default_factory=list)
    expectations: list[ExpectationResult] = Field(default_factory=list)
    """The verdict on each expectation the pipeline declares on its outputs."""
    run: RunResult | None = Field(default=None, exclude=True, repr=False)
    """The run whose edges these are, as it finished (not written: ``manifest.json`` holds it)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_compatible(self) -> bool:
        return all(e.is_compatible for e in self.edges) and not has_errors(self.output_issues)

    @property
    def overall_compatibility(self) -> bool:
        return self.is_compatible

    @computed_field  # type: ignore[prop-decorator]
    @property
    def connections_tested(self) -> int:
        return len(self.edges)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed_connections(self) -> list[str]:
        return [e.edge for e in self.edges if not e.is_compatible]

    @property
    def failed_outputs(self) -> list[str]:
        """Outputs no tested edge carries that broke a rule ('Producer.output'), once each."""
        return list(dict.fromkeys(i.edge or i.step or "" for i in self.output_issues if i.is_error))

    @property
    def unchecked_connections(self) -> list[str]:
        """Edges along which nothing flowed: their producer did not succeed."""
        return [e.edge for e in self.edges if not e.checked]

    @property
    def issues(self) -> list[Issue]:
        return [i for e in self.edges for i in e.issues] + self.output_issues

    @property
    def exit_code(self) -> int:
        passed = self.is_compatible and not expectations_failed(self.expectations)
        return 0 if passed and self.run_status is Status.SUCCEEDED else 1


def load_snapshots(pipeline: Pipeline, pipeline_file: Path) -> Snapshots:
    """The stored snapshot of every output of the pipeline that has one. Read before a run, so
    that a damaged snapshot stops it before anything runs."""
    found: Snapshots = {}
    for step in pipeline.steps.values():
        for output in step.output_names:
            snapshot = load_snapshot(pipeline_file, step.name, output)
            if snapshot is not None:
                found[(step.name, output)] = (
                    snapshot_file(pipeline_file, step.name, output),
                    snapshot,
                )
    return found


def inspect_flow(
    pipeline: Pipeline,
    run: RunResult,
    tested: Sequence[Wire],
    *,
    path: Sequence[str] | None = None,
    snapshots: Snapshots | None = None,
) -> DataFlowTestResult:
    """Every tested wire checked against schemas, snapshots and the consumer's outcome; every
    other output of the run against its producer's declared schema and its snapshot."""
    drift_of = output_drift(run, snapshots or {})
    edges = [
        edge_result(w, pipeline, run, [] if w.path else drift_of.get((w.producer, w.output), []))
        for w in tested
    ]
    # A wire taking a folder inside an output carries only that folder: the whole output's
    # snapshot drift and its producer's schema are checked on the output itself.
    carried = {(w.producer, w.output) for w in tested if w.path is None}
    uncarried = [
        *(
            i.located(edge=".".join(key))
            for key, found in drift_of.items()
            if key not in carried
            for i in found
        ),
        *unchecked_promises(pipeline, run, carried),
    ]
    return DataFlowTestResult(
        pipeline=run.pipeline,
        pipeline_file=run.pipeline_file,
        run_id=run.run_id,
        run_dir=run.run_dir,
        run_status=run.status,
        path=list(path) if path else None,
        edges=edges,
        output_issues=uncarried,
        run=run,
    )


def profile_of(step: StepResult, output: str) -> OutputProfile | None:
    return next((o.profile for o in step.outputs if o.name == output), None)


def output_drift(run: RunResult, snapshots: Snapshots) -> dict[tuple[str, str], list[Issue]]:
    """Drift of every captured output against its snapshot, where one is stored."""
    found: dict[tuple[str, str], list[Issue]] = {}
    for step in run.steps:
        for output in step.outputs:
            stored = snapshots.get((step.name, output.name))
            if stored is not None and output.profile is not None:
                file, snapshot = stored
                found[(step.name, output.name)] = [
                    i.located(step=step.name, file=str(file))
                    for i in drift(snapshot, output.profile)
                ]
    return found


def unchecked_promises(
    pipeline: Pipeline, run: RunResult, carried: set[tuple[str, str]]
) -> list[Issue]:
    """Outputs no tested edge carries, checked against their producer's declared schema."""
    found: list[Issue] = []
    for step in run.steps:
        if step.excluded:
            continue
        contract = pipeline.steps[step.name].contract
        if contract is None or not step.status.ok:
            continue
        for output in step.outputs:
            promised = sourced(contract.output_schemas.get(output.name), contract)
            if (step.name, output.name) in carried or promised is None or output.profile is None:
                continue
            found.extend(
                i.located(step=step.name, edge=f"{step.name}.{output.name}", file=promised.source)
                for i in check_output(output.profile, promised)
            )
    return found


def edge_result(wire: Wire, pipeline: Pipeline, run: RunResult, drifted: list[Issue]) -> EdgeResult:
    producer, consumer = run.step(wire.producer), run.step(wire.consumer)
    expected, promised = declared_schemas(wire, pipeline)
    captured = profile_of(producer, wire.output) if producer.status.ok else None
    missing = _missing_sub_path(wire, captured)
    if missing is not None:
        captured, issues = None, [missing]
    else:
        if captured is not None and wire.path:
            captured = captured.inside(wire.path)
        issues = data_issues(wire, captured, expected, promised, producer) + drifted
        issues.extend(_consumer_issues(consumer, wire, issues))
    return EdgeResult(
        edge=str(wire),
        producer=wire.producer,
        output=wire.output,
        path=wire.path,
        consumer=wire.consumer,
        input=wire.input,
        producer_status=producer.status,
        consumer_status=consumer.status,
        captured=captured,
        expected=expected,
        promised=promised,
        issues=[i.located(edge=str(wire)) for i in issues],
    )


def _missing_sub_path(wire: Wire, captured: OutputProfile | None) -> Issue | None:
    """The folder ``wire`` takes was not in its producer's output (the consumer did not run)."""
    if wire.path is None or captured is None or captured.has_folder(wire.path):
        return None
    return Issue(
        rule=SUB_PATH_MISSING,
        severity=EDGE_RULES[SUB_PATH_MISSING].severity,
        description=missing_sub_path(wire, _top_of(captured)),
        step=wire.consumer,
    )


def _top_of(profile: OutputProfile) -> list[str]:
    """What the top of a captured output holds: its folders ('test/') and files."""
    files = [f for d in profile.datasets for f in d.files] + [a.path for a in profile.artifacts]
    folders = [f"{f}/" for f in profile.layout if "/" not in f]
    return sorted(folders + [f for f in files if "/" not in f])


def data_issues(
    wire: Wire,
    captured: OutputProfile | None,
    expected: DataSchema | None,
    promised: DataSchema | None,
    producer: StepResult,
) -> list[Issue]:
    if captured is None:
        return [_producer_failed(wire, producer)]
    return schema_issues(
        captured, expected, promised, consumer=wire.consumer, producer=wire.producer
    )


def _producer_failed(wire: Wire, producer: StepResult) -> Issue:
    reason = producer.reason or producer.status.value
    return Issue(
        rule=PRODUCER_FAILED,
        severity=EDGE_RULES[PRODUCER_FAILED].severity,
        description=f"'{wire.producer}' did not succeed ({reason}); nothing flowed to "
        f"'{wire.consumer}', so this edge was not checked",
        step=wire.producer,
    )


def _consumer_issues(consumer: StepResult, wire: Wire, data: list[Issue]) -> list[Issue]:
    """The consumer's outcome on this edge. It failing is the edge's fault only when the
    data broke a rule, and then those rules' errors say so."""
    if consumer.status.broke:
        detail = "; ".join(filter(None, [consumer.reason, consumer.message]))
        suspect = (
            "the data broke the rule(s) reported here: the likely cause"
            if has_errors(data)
            else "the data broke no rule: see the step's own failure"
        )
        return [
            Issue(
                rule=CONSUMER_FAILED,
                severity=EDGE_RULES[CONSUMER_FAILED].severity,
                description=f"'{wire.consumer}' did not succeed on {wire.source} "
                f"({detail or consumer.status.value}); {suspect}",
                hint=f"see its log: {consumer.log_file}" if consumer.log_file else None,
                step=wire.consumer,
            )
        ]
    if consumer.status is not Status.SUCCEEDED:
        return [
            Issue(
                rule=CONSUMER_NOT_RUN,
                severity=EDGE_RULES[CONSUMER_NOT_RUN].severity,
                description=f"'{wire.consumer}' did not run: {consumer.reason or 'skipped'}",
                step=wire.consumer,
            )
        ]
    return []
