"""An input that takes a folder inside another step's output (``prep.processed_data/train``):
how it is written, refused, mounted, checked before the consumer starts, and profiled."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, Pipeline, PipelineDAG, RunSettings, Status
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.dataflow import tester as dataflow
from orchestrator.dataflow.edges import SUB_PATH_MISSING, DataFlowTestResult
from orchestrator.dataflow.tester import FLOW_REPORT
from orchestrator.engines.base import ContainerOutcome, LogSink
from orchestrator.engines.spec import STEP_LABEL, ContainerSpec
from orchestrator.errors import InputError, PipelineError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import InvalidStep, StepOutput
from orchestrator.pipeline.wiring import wires
from orchestrator.report.console import print_flow
from orchestrator.report.model import shipped_schema
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.scripttest.registry import TestDataRegistry

from ..runs import run_dirs
from .conftest import write

SPLIT = """
name: split
steps:
  prep: {kind: processing, script: scripts/prep.py, outputs: [processed_data],
         inputs: {raw: data}}
  train: {kind: training, script: scripts/train.py,
          inputs: {train: {step: prep, output: processed_data, path: train}}}
  evaluate: {kind: processing, script: scripts/evaluate.py, outputs: [metrics],
             inputs: {test: {step: prep, output: processed_data, path: test/}}}
"""
OUT = "/opt/ml/processing/output/processed_data"
TRAIN_ROWS = "id,label\n1,0\n2,1\n3,0\n"
TEST_ROWS = "id,label\n4,1\n5,0\n"
TRAIN_EDGE = "prep.processed_data/train -> train.train"
TEST_EDGE = "prep.processed_data/test -> evaluate.test"


def settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit",
        max_workers=2,
        cpus_available=2,
        memory_available=8 * 2**30,
        user=None,
    )


def engine(**writes: str) -> FakeEngine:
    """prep writes ``writes`` (paths inside processed_data → content)."""
    behaviour = FakeBehaviour(writes={f"{OUT}/{rel}": text for rel, text in writes.items()})
    return FakeEngine({"prep": behaviour}, images={RUNNER_IMAGE: "sha256:runner"})


def split_writes() -> dict[str, str]:
    return {
        "train/data.csv": TRAIN_ROWS,
        "test/data.csv": TEST_ROWS,
        "val/data.csv": TEST_ROWS,
        "summary.json": "{}",
    }


def flow(file: Path, fake: FakeEngine) -> DataFlowTestResult:
    return dataflow.test_flow(
        load_and_validate(file), file, RunContext(engine=fake, settings=settings(file.parent))
    )


def mounted(fake: FakeEngine, step: str, target: str) -> Path:
    """The host folder ``step``'s container saw at ``target``."""
    spec = next(s for s in fake.specs if s.labels[STEP_LABEL] == step)
    return Path(next(m.source for m in spec.mounts if m.target == target))


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- writing it -------------------------------------------------------------------------------


def test_python_form_names_the_folder_inside_the_output(project: Path) -> None:
    pipeline = Pipeline("p", base_dir=project)
    prep = pipeline.processing("prep", script="scripts/prep.py", outputs=["processed_data"])
    ref = prep.output("processed_data", "train/")
    assert ref == StepOutput(step="prep", output="processed_data", path="train")
    assert str(ref) == "prep.processed_data/train"
    assert str(prep.output("processed_data")) == "prep.processed_data"
    pipeline.training("train", script="scripts/train.py", inputs={"train": ref})
    assert [str(w) for w in wires(pipeline.steps)] == [TRAIN_EDGE]
    assert str(prep.output("processed_data", "splits//train")) == (
        "prep.processed_data/splits/train"
    )


def test_yaml_form_parses(project: Path) -> None:
    pipeline = load_pipeline(write(project, "split.yaml", SPLIT))
    source = pipeline.steps["evaluate"].inputs["test"].source
    assert source == StepOutput(step="prep", output="processed_data", path="test")
    assert [str(w) for w in wires(pipeline.steps)] == [TRAIN_EDGE, TEST_EDGE]


def test_dag_edge_takes_a_path(project: Path) -> None:
    dag = PipelineDAG("d", base_dir=project)
    dag.add_node("prep", script="scripts/prep.py", outputs=["processed_data"])
    dag.add_node("train", kind="training", script="scripts/train.py")
    dag.add_edge("prep", "train", output="processed_data", input="train", path="train")
    pipeline = dag.to_pipeline()
    assert [str(w) for w in wires(pipeline.steps)] == [TRAIN_EDGE]
    with pytest.raises(ValueError, match="path='train' needs output="):
        dag.add_edge("prep", "train", path="train")
    with pytest.raises(ValueError, match=r"'\.\./x': a sub-path is a folder inside the output"):
        dag.add_edge("prep", "train", output="processed_data", input="t2", path="../x")


@pytest.mark.parametrize("bad", ["../train", "/train", "a/../b", "./a", "", "/"])
def test_python_refuses_a_bad_path(project: Path, bad: str) -> None:
    prep = Pipeline("p", base_dir=project).processing(
        "prep", script="scripts/prep.py", outputs=["processed_data"]
    )
    with pytest.raises(InvalidStep, match="a sub-path is a folder inside the output") as caught:
        prep.output("processed_data", bad)
    assert caught.value.field == "steps.prep.output('processed_data').path"


def test_a_bad_path_in_a_python_file_is_an_input_error(project: Path) -> None:
    file = write(
        project,
        "p.py",
        """
        from orchestrator import Pipeline
        pipeline = Pipeline("p")
        prep = pipeline.processing("prep", script="scripts/prep.py", outputs=["processed_data"])
        pipeline.training("t", script="scripts/train.py",
                          inputs={"train": prep.output("processed_data", "../etc")})
        """,
    )
    with pytest.raises(InputError, match=r"'\.\./etc': a sub-path") as caught:
        load_pipeline(file)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("bad", ["../train", "/abs", "a/./b", "5", "[a]"])
def test_yaml_refuses_a_bad_path(project: Path, bad: str) -> None:
    text = SPLIT.replace("path: train}", f"path: {bad}}}")
    with pytest.raises(InputError, match="a sub-path is a folder inside the output") as caught:
        load_pipeline(write(project, "split.yaml", text))
    assert caught.value.field == "steps.train.inputs.train.path"
    assert caught.value.exit_code == 2


def test_yaml_unknown_input_key_names_the_allowed_ones(project: Path) -> None:
    text = SPLIT.replace("path: train}", "subpath: train}")
    with pytest.raises(InputError, match="allowed: path, step, output, destination"):
        load_pipeline(write(project, "split.yaml", text))


@pytest.mark.parametrize("output", ["model", "output_data"])
def test_a_training_archive_takes_no_path(project: Path, output: str) -> None:
    text = SPLIT + (
        f"  score: {{kind: processing, script: scripts/evaluate.py,\n"
        f"          inputs: {{m: {{step: train, output: {output}, path: xgb}}}}}}\n"
    )
    with pytest.raises(PipelineError, match="is one archive") as caught:
        load_and_validate(write(project, "split.yaml", text))
    assert caught.value.field == "steps.score.inputs.m.path"
    assert f"take the whole output (train.{output})" in str(caught.value)
    assert caught.value.exit_code == 2


# --- running it -------------------------------------------------------------------------------


def test_each_consumer_sees_only_its_folder_and_its_edge_profiles_it(project: Path) -> None:
    fake = engine(**split_writes())
    result = flow(write(project, "split.yaml", SPLIT), fake)
    assert result.run_status is Status.SUCCEEDED and result.exit_code == 0

    train = mounted(fake, "train", "/opt/ml/input/data/train")
    test = mounted(fake, "evaluate", "/opt/ml/processing/input/test")
    assert train.as_posix().endswith("steps/prep/outputs/processed_data/train")
    assert test.as_posix().endswith("steps/prep/outputs/processed_data/test")
    assert files_in(train) == ["data.csv"] and (train / "data.csv").read_text() == TRAIN_ROWS
    assert files_in(test) == ["data.csv"] and (test / "data.csv").read_text() == TEST_ROWS

    by_edge = {e.edge: e for e in result.edges}
    assert list(by_edge) == [TRAIN_EDGE, TEST_EDGE]
    for edge, rows in ((TRAIN_EDGE, 3), (TEST_EDGE, 2)):
        captured = by_edge[edge].captured
        assert captured is not None and by_edge[edge].issues == []
        assert captured.files == 1 and captured.layout == [] and captured.artifacts == []
        dataset = captured.dataset("")
        assert dataset is not None and dataset.rows == rows and dataset.files == ["data.csv"]
    assert by_edge[TRAIN_EDGE].path == "train" and by_edge[TRAIN_EDGE].output == "processed_data"
    assert by_edge[TEST_EDGE].captured is not None
    assert by_edge[TEST_EDGE].captured.output == "processed_data/test"

    saved = json.loads((Path(result.run_dir) / FLOW_REPORT).read_text())
    assert [e["edge"] for e in saved["edges"]] == [TRAIN_EDGE, TEST_EDGE]
    shown = io.StringIO()
    print_flow(Console(file=shown, width=200), result)
    assert "prep.processed_data/train" in shown.getvalue()


def test_a_missing_folder_stops_its_consumer_with_one_clear_message(project: Path) -> None:
    fake = engine(**{"train/data.csv": TRAIN_ROWS, "val/data.csv": TEST_ROWS, "a.json": "{}"})
    result = flow(write(project, "split.yaml", SPLIT), fake)
    assert result.run_status is Status.FAILED and result.exit_code == 1
    assert sorted(s.labels[STEP_LABEL] for s in fake.specs) == ["prep", "train"]

    assert result.run is not None
    evaluate = result.run.step("evaluate")
    assert evaluate.status is Status.SKIPPED
    message = (
        "input 'test' takes folder 'test' of 'prep' output 'processed_data' "
        "(prep.processed_data/test), and 'prep' wrote no such folder; the output holds "
        "a.json, train/, val/"
    )
    assert evaluate.reason == message

    edge = next(e for e in result.edges if e.edge == TEST_EDGE)
    assert [(i.rule, i.severity.value, i.description) for i in edge.issues] == [
        (SUB_PATH_MISSING, "error", message)
    ]
    assert not edge.is_compatible and edge.captured is None
    assert result.failed_connections == [TEST_EDGE]
    assert next(e for e in result.edges if e.edge == TRAIN_EDGE).is_compatible


class LinkingEngine(FakeEngine):
    """prep also leaves ``processed_data/test`` as a link to a host folder."""

    def __init__(self, target: Path) -> None:
        super().__init__(
            {"prep": FakeBehaviour(writes={f"{OUT}/train/data.csv": TRAIN_ROWS})},
            images={RUNNER_IMAGE: "sha256:runner"},
        )
        self.target = target

    def run(
        self, spec: ContainerSpec, *, on_log: LogSink, cancel: threading.Event
    ) -> ContainerOutcome:
        outcome = super().run(spec, on_log=on_log, cancel=cancel)
        if spec.labels[STEP_LABEL] == "prep":
            output = next(m.source for m in spec.mounts if m.target == OUT)
            os.symlink(self.target, Path(output) / "test")
        return outcome


def test_a_link_written_by_the_producer_is_never_mounted(project: Path) -> None:
    secret = project / "host-secret"
    secret.mkdir()
    (secret / "key.csv").write_text("k\n1\n")
    fake = LinkingEngine(secret)
    result = flow(write(project, "split.yaml", SPLIT), fake)
    assert "evaluate" not in [s.labels[STEP_LABEL] for s in fake.specs]
    assert result.run is not None
    reason = result.run.step("evaluate").reason or ""
    assert "wrote no such folder" in reason and "test (a link, not followed)" in reason


def test_reports_name_the_edge_with_its_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write(project, "split.yaml", SPLIT)
    monkeypatch.setattr(cli, "connect", lambda: engine(**split_writes()))
    options = ["--cit-dir", str(project / ".cit"), "-q", "--format", "junit", "--format", "html"]
    done = CliRunner().invoke(
        app, ["run", "--dag", str(file), *options], env={"COLUMNS": "200"}
    )
    assert done.exit_code == 0, done.output
    [run_dir] = run_dirs(project / ".cit" / "runs")
    report = json.loads((run_dir / "report.json").read_text())
    jsonschema.validate(report, shipped_schema())
    assert TRAIN_EDGE in json.dumps(report) and TEST_EDGE in json.dumps(report)
    junit = (run_dir / "report.xml").read_text()
    assert TRAIN_EDGE.replace(">", "&gt;") in junit
    html = (run_dir / "report.html").read_text()
    assert TEST_EDGE.replace(">", "&gt;") in html


# --- test data for such an edge ---------------------------------------------------------------


def test_test_data_for_the_edge_is_the_folder_it_takes(project: Path) -> None:
    (project / "contracts").mkdir()
    write(
        project,
        "contracts/evaluate.yaml",
        """
        entry_point: evaluate.py
        expected_input_paths: {test: /opt/ml/processing/input/test}
        expected_output_paths: {metrics: /opt/ml/processing/output/metrics}
        input_schemas: {test: {format: csv, columns: {id: integer, label: integer}}}
        """,
    )
    text = SPLIT.replace(
        "evaluate: {kind: processing, script: scripts/evaluate.py, outputs: [metrics],",
        "evaluate: {kind: processing, script: scripts/evaluate.py, "
        "contract: contracts/evaluate.yaml,",
    )
    pipeline = load_and_validate(write(project, "split.yaml", text))
    run = project / "runs" / "20240102-030405-fedcba"
    output = run / "steps" / "prep" / "outputs" / "processed_data"
    for rel, content in split_writes().items():
        (output / rel).parent.mkdir(parents=True, exist_ok=True)
        (output / rel).write_text(content)
    registry = TestDataRegistry(project / "registry")
    [entry] = registry.for_edge(pipeline, "evaluate", "test", run_dir=run)
    assert entry.ref == "evaluate/prep.processed_data.test/v1"
    assert entry.source == str(output / "test")
    assert entry.description == (
        f"folder 'test' of output 'processed_data' of step 'prep' in run {run.name}"
    )
    assert files_in(registry.path(entry)) == ["data.csv"]
    with pytest.raises(InputError, match="folder 'gone' of output 'processed_data'"):
        registry.register_run_output(
            run, "prep", "processed_data", script="evaluate", case="x", path="gone"
        )
