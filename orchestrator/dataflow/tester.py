"""Data-flow testing: run a path (or the whole pipeline) and check every edge it crosses.

The Python API of ``cit test-flow``::

    tester = PipelineDataFlowTester("pipeline.py")
    result = tester.test_pipeline_path(["Preprocess", "Train"])
    print(result.is_compatible, result.connections_tested, result.failed_connections)
    for issue in result.issues:
        print(issue.description, issue.severity)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..data.snapshots import save_snapshot
from ..engines.base import Engine
from ..errors import InputError, RunDirectoryError
from ..files import write_json_atomic, write_problem
from ..issues import Issue
from ..pipeline.dag import PipelineDAG
from ..pipeline.model import LocalSource, Pipeline, StepInput
from ..pipeline.validate import validate_pipeline
from ..pipeline.wiring import steps_for_path, wires, wires_along
from ..run.context import RunContext
from ..run.observer import RunObserver
from ..run.pipeline_run import load_and_validate
from ..run.results import RunResult, Status
from ..run.settings import RunSettings
from ..scripttest.runner import default_engine
from .contract_check import check_declared_edges
from .edges import DataFlowTestResult, inspect_flow, load_snapshots
from .expectation_results import judge as judge_expectations

FLOW_REPORT = "flow.json"


def test_flow(
    pipeline: Pipeline,
    file: Path,
    context: RunContext,
    *,
    path: Sequence[str] | None = None,
    update_snapshots: bool = False,
) -> DataFlowTestResult:
    """Run the steps ``path`` needs (all steps without one) in the context's engine and check
    the edges it crosses. The result is also written to ``flow.json`` in the run directory."""
    tested = wires_along(pipeline, path, file) if path else wires(pipeline.steps)
    snapshots = {} if update_snapshots else load_snapshots(pipeline, file)
    run = context.run(steps_for_path(pipeline, path) if path else pipeline, file)
    result = inspect_flow(pipeline, run, tested, path=path, snapshots=snapshots)
    result.expectations = judge_expectations(pipeline, run)
    if update_snapshots and run.status is not Status.INTERRUPTED:
        result.snapshots_updated = save_snapshots(file, run)
    try:
        write_json_atomic(Path(run.run_dir) / FLOW_REPORT, result.model_dump(mode="json"))
    except OSError as exc:
        problem = write_problem(exc)
        raise RunDirectoryError(f"cannot record the run's data flow: {problem}") from None
    return result


def save_snapshots(file: Path, run: RunResult) -> list[str]:
    """Store the captured schema of every output of every step that succeeded."""
    return [
        str(save_snapshot(file, step.name, output.profile))
        for step in run.steps
        if step.status.ok
        for output in step.outputs
        if output.profile is not None
    ]


def with_test_data(pipeline: Pipeline, test_data: Mapping[str, str | Path]) -> Pipeline:
    """The pipeline with inputs replaced by local test data: ``{"Step.input": path}``."""
    steps = dict(pipeline.steps)
    for key, value in test_data.items():
        name, _, channel = key.partition(".")
        step = steps.get(name)
        if step is None or channel not in step.inputs:
            raise InputError(f"'{key}' names no input; use 'Step.input'", field="test data")
        data = Path(value).resolve()
        if not data.exists():
            raise InputError(f"no such file or folder: {data}", field=f"test data {key}")
        destination = step.inputs[channel].destination
        item = StepInput(source=LocalSource(path=data), destination=destination)
        steps[name] = step.model_copy(update={"inputs": {**step.inputs, channel: item}})
    return pipeline.with_steps(steps)


class PipelineDataFlowTester:
    """Tests data compatibility between connected scripts of a pipeline, in containers."""

    def __init__(
        self,
        dag: Pipeline | PipelineDAG | str | Path,
        test_data: Mapping[str, str | Path] | None = None,
        *,
        engine: Engine | None = None,
        settings: RunSettings | None = None,
        observer: RunObserver | None = None,
        update_snapshots: bool = False,
    ) -> None:
        self.pipeline, self.file = _pipeline_and_file(dag)
        if test_data:
            self.pipeline = with_test_data(self.pipeline, test_data)
        self.engine = engine
        self.settings = settings
        self.observer = observer
        self.update_snapshots = update_snapshots

    def test_pipeline_path(self, path: Sequence[str]) -> DataFlowTestResult:
        """Run the steps of ``path`` (and what they need) and check each edge along it."""
        return self._test(list(path))

    def test_full_pipeline(self) -> DataFlowTestResult:
        """Run every step and check every edge."""
        return self._test(None)

    def validate_data_contracts(self, source_script: str, target_script: str) -> list[Issue]:
        """Without running: the source's declared output schemas against the target's
        declared input schemas, for every wire between them."""
        between = wires_along(self.pipeline, [source_script, target_script], self.file)
        return check_declared_edges(self.pipeline, between)

    def _test(self, path: list[str] | None) -> DataFlowTestResult:

        context = RunContext(
            engine=self.engine or default_engine("container"),
            settings=self.settings or RunSettings(),
            observer=self.observer,
        )
        return test_flow(
            self.pipeline, self.file, context, path=path, update_snapshots=self.update_snapshots
        )


def _pipeline_and_file(dag: Pipeline | PipelineDAG | str | Path) -> tuple[Pipeline, Path]:
    if isinstance(dag, str | Path):
        file = Path(dag)
        return load_and_validate(file), file
    pipeline = dag.to_pipeline() if isinstance(dag, PipelineDAG) else dag
    # A pipeline built in memory has no file; its snapshots go where a file of its name would be.
    file = pipeline.source_file or pipeline.base_dir / f"{pipeline.name}.py"
    validate_pipeline(pipeline, file)
    return pipeline, file
