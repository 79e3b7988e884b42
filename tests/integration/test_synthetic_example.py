"""Synthetic data made from the example's raw schema drives its first step green."""

from __future__ import annotations

from pathlib import Path

from orchestrator.data.compatibility import check_output
from orchestrator.data.contracts import load_contract
from orchestrator.data.schemas import load_schema
from orchestrator.data.synthetic import generate_dataset, schema_for_input
from orchestrator.dataflow.tester import with_test_data
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.issues import Severity
from orchestrator.pipeline.wiring import steps_for_path
from orchestrator.run.pipeline_run import load_and_validate, run_loaded
from orchestrator.run.settings import RunSettings

from .conftest import EXAMPLE


def test_preprocess_runs_green_on_data_generated_from_its_contract(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    tmp_path: Path,
) -> None:
    contract = load_contract(EXAMPLE / "contracts" / "preprocess.yaml")
    raw = schema_for_input(contract, "raw")
    data = generate_dataset(raw, 600, 42, "csv", tmp_path / "synthetic" / "raw")
    assert data == tmp_path / "synthetic" / "raw" / "data.csv"

    file = EXAMPLE / "pipeline.py"
    pipeline = with_test_data(load_and_validate(file), {"preprocess.raw": data.parent})
    result = run_loaded(steps_for_path(pipeline, ["preprocess"]), file, engine, settings=settings)

    step = result.step("preprocess")
    assert result.ok, (step.status, step.reason, step.log_tail[-8:])
    assert [s.name for s in result.steps] == ["preprocess"]
    assert any("read 600 rows from" in line for line in step.log_tail)

    features = load_schema(EXAMPLE / "schemas" / "features.yaml")
    rows = 0
    for output in step.outputs:
        assert output.profile is not None, output.name
        problems = [
            i.description
            for i in check_output(output.profile, features)
            if i.severity is Severity.ERROR
        ]
        assert problems == [], output.name
        rows += output.profile.datasets[0].rows or 0
    assert sorted(o.name for o in step.outputs) == ["test", "train", "val"]
    labelled = 600 - round(600 * 0.01)
    assert labelled - 5 <= rows <= labelled  # only rows without a label (or a re-sent id) go
