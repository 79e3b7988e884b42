"""cit test-all on SageMaker pipelines: a scenario's dag_file may be a definition or an SDK
file, with the pipeline's parameters and code folder set per scenario."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.pipeline.model import LocalSource
from orchestrator.run.settings import RunSettings
from orchestrator.suite.config import load_config
from orchestrator.suite.plan import prepare

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sagemaker"
TABULAR = ROOT / "examples" / "tabular"


def settings(folder: Path) -> RunSettings:
    return RunSettings(
        cit_dir=folder / ".cit", max_workers=2, cpus_available=2, memory_available=2**33
    )


def config_file(folder: Path, text: str) -> Path:
    shutil.copy(FIXTURES / "tabular.definition.json", folder / "tabular.definition.json")
    path = folder / "integration_test_config.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_scenarios_set_a_definitions_parameters_and_code_folder(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        f"""
        test_scenarios:
          - name: shallow
            dag_file: tabular.definition.json
            code_dir: {TABULAR / "scripts"}
            parameters: {{RawData: {TABULAR / "data" / "raw"}, MaxDepth: 2}}
          - name: deep
            dag_file: tabular.definition.json
            code_dir: {TABULAR / "scripts"}
            parameters: {{RawData: {TABULAR / "data" / "raw"}, MaxDepth: 9}}
        """,
    )
    plan = prepare(load_config(path), None, settings(tmp_path), None)
    depths = [s.pipeline.steps["train"].hyperparameters["max_depth"] for s in plan.scenarios]
    assert depths == [2, 9]
    raw = plan.scenarios[0].pipeline.steps["preprocess"].inputs["raw"].source
    assert isinstance(raw, LocalSource) and raw.path == TABULAR / "data" / "raw"
    assert (
        plan.scenarios[0].pipeline.steps["evaluate"].script == TABULAR / "scripts" / "evaluate.py"
    )


def test_a_scenario_may_run_the_sdk_file(tmp_path: Path) -> None:
    pytest.importorskip("sagemaker", reason="the SageMaker SDK is a test dependency (.[dev])")
    path = config_file(
        tmp_path,
        f"""
        test_scenarios:
          - name: sdk
            dag_file: {TABULAR / "sagemaker_pipeline.py"}
            parameters: {{MaxDepth: 3}}
        """,
    )
    [scenario] = prepare(load_config(path), None, settings(tmp_path), None).scenarios
    assert scenario.pipeline.name == "tabular-xgboost"
    assert scenario.pipeline.steps["train"].hyperparameters["max_depth"] == 3


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "parameters: {Nope: 1}",
            "--param Nope: the definition has no parameter 'Nope' (defined: MaxDepth, RawData)",
        ),
        ("code_dir: missing", "test_scenarios.t.code_dir: {folder}/missing: no such folder"),
        (
            "parameters: {MaxDepth: [1, 2]}",
            "test_scenarios.t.parameters: MaxDepth: must be a string, number or boolean",
        ),
    ],
)
def test_a_scenarios_mistake_is_one_line(tmp_path: Path, entry: str, expected: str) -> None:
    path = config_file(
        tmp_path,
        f"""
        test_scenarios:
          - name: t
            dag_file: tabular.definition.json
            {entry}
        """,
    )
    with pytest.raises(InputError) as caught:
        prepare(load_config(path), None, settings(tmp_path), None)
    assert expected.format(folder=tmp_path) in str(caught.value)
    assert "\n" not in str(caught.value)
