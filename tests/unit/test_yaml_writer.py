"""A pipeline written as cit's YAML (``pipeline.yaml_writer``) and ``cit import sagemaker``: the
YAML written loads into the pipeline it was written from."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.data.contracts import ScriptContract
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import Pipeline, StepOutput
from orchestrator.pipeline.yaml_writer import UnwritableField, pipeline_yaml
from orchestrator.run.settings import RUNNER_IMAGE
from tests.unit.test_sagemaker_definition import SKLEARN_IMAGE

from ..runs import run_dirs

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sagemaker"
TABULAR = ROOT / "examples" / "tabular"
runner = CliRunner()


@pytest.fixture
def tabular(tmp_path: Path) -> Path:
    """examples/tabular with the definition the SDK writes for it beside pipeline.py."""
    folder = tmp_path / "tabular"
    shutil.copytree(TABULAR, folder, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    shutil.copy(FIXTURES / "tabular.definition.json", folder / "pipeline.definition.json")
    return folder / "pipeline.definition.json"


def _normal(value: Any) -> Any:
    """``value`` with every path written without '..' parts, as the file system reads it."""
    if isinstance(value, Path):
        return Path(os.path.normpath(value))
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    return value


def dumped(pipeline: Pipeline) -> dict[str, Any]:
    """What the round trip keeps: the name, each step's fields, the expectations (but the
    folder their file datasets are read from: the writer refuses a file dataset that would
    move)."""
    return {
        "name": pipeline.name,
        "steps": {name: _normal(step.model_dump()) for name, step in pipeline.steps.items()},
        "expectations": [
            _normal(expectation.model_dump(exclude={"base_dir"}))
            for expectation in pipeline.expectations
        ],
    }


def round_trip(pipeline: Pipeline, target: Path) -> Pipeline:
    target.write_text(pipeline_yaml(pipeline, target))
    return load_pipeline(target)


@pytest.mark.parametrize("name", ["tabular", "subpath"])
def test_a_definition_round_trips_through_yaml(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    shutil.copytree(FIXTURES, folder)
    shutil.copytree(TABULAR / "scripts", folder / "scripts", dirs_exist_ok=True)
    shutil.copytree(TABULAR / "data", folder / "data")
    pipeline = load_pipeline(folder / f"{name}.definition.json")
    loaded = round_trip(pipeline, folder / "pipeline.yaml")
    assert dumped(loaded) == dumped(pipeline)


@pytest.mark.parametrize("name", ["pipeline.yaml", "pipeline.py"])
def test_the_tabular_example_round_trips_with_its_contracts_and_expectations(
    name: str, tmp_path: Path
) -> None:
    folder = tmp_path / "tabular"
    shutil.copytree(TABULAR, folder, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    pipeline = load_pipeline(folder / name)
    assert pipeline.expectations and all(s.contract for s in pipeline.steps.values())
    target = folder / "written.yaml"
    loaded = round_trip(pipeline, target)
    assert dumped(loaded) == dumped(pipeline)
    text = target.read_text()
    assert "script: scripts/preprocess.py" in text and "contract: contracts/train.yaml" in text
    # the destinations the contracts give are not repeated
    assert "/opt/ml/processing" not in text


def test_paths_are_relative_to_the_folder_written_to(tmp_path: Path) -> None:
    folder = tmp_path / "tabular"
    shutil.copytree(TABULAR, folder, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    (folder / "pipelines").mkdir()
    pipeline = load_pipeline(folder / "pipeline.yaml")
    target = folder / "pipelines" / "p.yaml"
    text = pipeline_yaml(pipeline, target)
    written = yaml.safe_load(text)
    assert written["steps"]["preprocess"]["script"] == "../scripts/preprocess.py"
    assert written["steps"]["preprocess"]["inputs"] == {"raw": "../data/raw"}
    assert dumped(round_trip(pipeline, target)) == dumped(pipeline)


def test_every_field_round_trips(tmp_path: Path) -> None:
    (tmp_path / "code" / "lib").mkdir(parents=True)
    (tmp_path / "code" / "train.py").write_text("")
    (tmp_path / "prep.py").write_text("")
    pipeline = Pipeline("every-field", base_dir=tmp_path)
    prep = pipeline.processing(
        "prep",
        script="prep.py",
        image="python:3.12",
        entrypoint=["python3", "-u"],
        inputs={
            "local": "data/raw",
            "s3": "s3://bucket/raw/",
            "mounted": {"path": "s3://bucket/ref.csv", "destination": "/opt/ml/processing/ref"},
        },
        outputs={"a": {}, "b": {"destination": "/opt/ml/processing/b"}},
        arguments=["--ratio", 0.2, "--flag"],
        env={"MODE": "fast", "N": 3},
        secrets=["TOKEN"],
        instance={"type": "ml.c5.xlarge", "cpus": 1.5, "memory": "2g"},
        timeout_seconds=90.5,
        network=True,
    )
    pipeline.training(
        "train",
        source_dir="code",
        script="train.py",
        inputs={
            "train": prep.output("a", "splits/train"),
            "ref": {"step": "prep", "output": "b", "destination": "/opt/ml/input/data/x"},
        },
        hyperparameters={"depth": 4, "rate": 0.1, "objective": "binary:logistic", "on": True},
        depends_on=["prep"],
    )
    loaded = round_trip(pipeline, tmp_path / "pipeline.yaml")
    assert dumped(loaded) == dumped(pipeline)
    assert loaded.steps["train"].inputs["train"].source == StepOutput(
        step="prep", output="a", path="splits/train"
    )


def test_the_order_of_the_text_is_stable(tabular: Path) -> None:
    pipeline = load_pipeline(tabular)
    target = tabular.parent / "pipeline.yaml"
    assert pipeline_yaml(pipeline, target) == pipeline_yaml(load_pipeline(tabular), target)
    written = yaml.safe_load(pipeline_yaml(pipeline, target))
    assert list(written) == ["name", "steps"]
    assert list(written["steps"]["train"]) == [
        "kind", "sagemaker_image", "source_dir", "script", "inputs", "hyperparameters",
        "instance", "timeout_seconds",
    ]  # fmt: skip
    # xgboost 1.7-1 and scikit-learn 1.4-2: the runner image's own
    assert "image" not in written["steps"]["train"]
    assert "image" not in written["steps"]["preprocess"]
    assert written["steps"]["preprocess"]["sagemaker_image"] == SKLEARN_IMAGE


def test_a_contract_built_in_python_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "prep.py").write_text("")
    pipeline = Pipeline("p", base_dir=tmp_path)
    pipeline.processing("prep", script="prep.py", contract=ScriptContract(entry_point="prep.py"))
    with pytest.raises(UnwritableField) as caught:
        pipeline_yaml(pipeline, tmp_path / "p.yaml")
    assert caught.value.field == "steps.prep.contract"
    assert "built in Python" in str(caught.value)


# --- cit import sagemaker ---------------------------------------------------------------------


def test_cli_writes_the_yaml_and_says_how_to_run_it(tabular: Path) -> None:
    target = tabular.parent / "converted.yaml"
    result = runner.invoke(app, ["import", "sagemaker", str(tabular), "-o", str(target)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"wrote {target}: pipeline 'pipeline', 3 steps" in output
    assert f"cit run --dag {target}" in output
    assert target.read_text().startswith("# A cit pipeline")
    assert dumped(load_pipeline(target)) == dumped(load_pipeline(tabular))
    assert not list(tabular.parent.glob(".*.partial"))


def test_cli_leaves_an_existing_file_as_is_unless_forced(tabular: Path) -> None:
    target = tabular.parent / "pipeline.yaml"
    before = target.read_text()
    result = runner.invoke(app, ["import", "sagemaker", str(tabular), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "exists; choose another name, it is left as is" in " ".join(result.output.split())
    assert target.read_text() == before

    forced = ["import", "sagemaker", str(tabular), "-o", str(target), "--force"]
    result = runner.invoke(app, forced)
    assert result.exit_code == 0, result.output
    assert target.read_text() != before
    assert dumped(load_pipeline(target)) == dumped(load_pipeline(tabular))


def test_cli_refuses_a_folder_or_a_file_cit_cannot_read(tabular: Path) -> None:
    for target, message in (
        (tabular.parent / "scripts.yaml", "exists and is not a file"),
        (tabular.parent / "pipeline.txt", "give a .yaml or .yml file"),
        (tabular.parent / "missing" / "p.yaml", "no such folder"),
    ):
        if message.startswith("exists"):
            target.mkdir()
        cmd = ["import", "sagemaker", str(tabular), "-o", str(target), "--force"]
        result = runner.invoke(app, cmd)
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split())


def test_cli_writes_to_standard_output(tabular: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tabular.parent)
    result = runner.invoke(app, ["import", "sagemaker", tabular.name, "-o", "-"])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(result.stdout)
    assert written["steps"]["preprocess"]["script"] == "scripts/preprocess.py"
    assert "cit run" not in result.stdout


def test_cli_refuses_what_cit_run_refuses_with_the_same_message(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "subpath.definition.json").read_text())
    data["Steps"].append({"Name": "Check", "Type": "Condition", "Arguments": {}})
    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    unsupported = tmp_path / "p.json"
    unsupported.write_text(json.dumps(data))
    not_a_definition = tmp_path / "q.json"
    not_a_definition.write_text("[1, 2]")
    for path in (unsupported, not_a_definition):
        target = tmp_path / "out.yaml"
        result = runner.invoke(app, ["import", "sagemaker", str(path), "-o", str(target)])
        ran = runner.invoke(app, ["run", "--dag", str(path), "--cit-dir", str(tmp_path / ".cit")])
        assert result.exit_code == ran.exit_code == 2, result.output
        assert result.output == ran.output
        assert len(result.output.strip().splitlines()) == 1
        assert not target.exists()


def test_cli_refuses_a_pipeline_that_is_no_definition(tabular: Path) -> None:
    target = tabular.parent / "out.yaml"
    yaml_file = str(tabular.parent / "pipeline.yaml")
    result = runner.invoke(app, ["import", "sagemaker", yaml_file, "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "is not a SageMaker pipeline: give its definition" in " ".join(result.output.split())
    native = str(tabular.parent / "pipeline.py")
    result = runner.invoke(app, ["import", "sagemaker", native, "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "is not a SageMaker pipeline: give its definition" in " ".join(result.output.split())
    assert not target.exists()


def test_cli_converts_a_pipeline_built_with_the_sdk(tabular: Path) -> None:
    pytest.importorskip("sagemaker", reason="the SageMaker SDK is a test dependency (.[dev])")
    target = tabular.parent / "converted.yaml"
    sdk_file = tabular.parent / "sagemaker_pipeline.py"
    result = runner.invoke(app, ["import", "sagemaker", str(sdk_file), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "pipeline 'tabular-xgboost', 3 steps" in " ".join(result.output.split())
    assert "# sagemaker_pipeline.py by `cit import sagemaker`" in target.read_text()
    assert dumped(load_pipeline(target)) == dumped(load_pipeline(sdk_file))


def _edges(cit_dir: Path, dag: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    rows = "label,id,x\n0,1,0.5\n1,2,0.7\n"
    out = "/opt/ml/processing/output"
    prep = FakeBehaviour(writes={f"{out}/{n}/{n}.csv": rows for n in ("train", "val", "test")})
    images = {RUNNER_IMAGE: "sha256:runner", SKLEARN_IMAGE: "sha256:sklearn"}
    fake = FakeEngine({"preprocess": prep}, images=images)
    monkeypatch.setattr(cli, "connect", lambda: fake)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    result = runner.invoke(app, ["run", "--dag", str(dag), "--cit-dir", str(cit_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert len(fake.specs) == 3
    [run_dir] = run_dirs(cit_dir / "runs")
    report = json.loads((run_dir / "report.json").read_text())
    return sorted(edge["edge"] for suite in report["suites"] for edge in suite["edges"])


def test_the_yaml_written_runs_with_the_edges_of_the_definition(
    tabular: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tabular.parent / "converted.yaml"
    result = runner.invoke(app, ["import", "sagemaker", str(tabular), "-o", str(target)])
    assert result.exit_code == 0, result.output
    from_definition = _edges(tabular.parent / ".cit-definition", tabular, monkeypatch)
    from_yaml = _edges(tabular.parent / ".cit-yaml", target, monkeypatch)
    assert from_yaml == from_definition
    assert "train.model -> evaluate.model" in from_yaml


def test_a_dataset_file_of_a_check_is_refused_when_written_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "prep.py").write_text("")
    (tmp_path / "elsewhere").mkdir()
    pipeline = Pipeline("p", base_dir=tmp_path)
    prep = pipeline.processing("prep", script="prep.py", outputs=["out"])
    quality = {"out": [{"row_count": {"equals": "ref/rows.csv"}}]}
    pipeline.expect(prep, data_quality=quality)
    loaded = round_trip(pipeline, tmp_path / "p.yaml")
    assert [e.model_dump() for e in loaded.expectations] == [
        e.model_dump() for e in pipeline.expectations
    ]
    with pytest.raises(UnwritableField) as caught:
        pipeline_yaml(pipeline, tmp_path / "elsewhere" / "p.yaml")
    assert caught.value.field == "expectations.prep.data_quality.out.0.row_count"
    assert "ref/rows.csv" in str(caught.value)


def test_expectations_yaml_cannot_hold_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "prep.py").write_text("")
    pipeline = Pipeline("p", base_dir=tmp_path)
    prep = pipeline.processing("prep", script="prep.py", outputs=["out"])
    pipeline.expect(prep, metrics={"auc": ">= 0.8"})
    pipeline.expect(prep, metrics={"auc": "<= 0.99"})
    with pytest.raises(UnwritableField, match="metric auc of step 'prep' has two bounds"):
        pipeline_yaml(pipeline, tmp_path / "p.yaml")

    pipeline.expectations = []
    pipeline.expect(prep, metrics={"auc": "between 0.7 and 0.9"}, metrics_file="m/a.json")
    pipeline.expect(prep, metrics={"f1": 0.5})
    with pytest.raises(UnwritableField, match="read from more than one file") as caught:
        pipeline_yaml(pipeline, tmp_path / "p.yaml")
    assert caught.value.field == "expectations.prep.metrics.f1"

    pipeline.expectations = pipeline.expectations[:1]
    pipeline.expect(prep, metrics={"f1": 0.5}, metrics_file="m/a.json", outputs=["m/*"])
    loaded = round_trip(pipeline, tmp_path / "p.yaml")
    assert dumped(loaded) == dumped(pipeline)


def test_paths_are_relative_to_the_folder_a_link_leads_to(tmp_path: Path) -> None:
    folder = tmp_path / "tabular"
    shutil.copytree(TABULAR, folder, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    (tmp_path / "real").mkdir()
    (folder / "linked").symlink_to(tmp_path / "real")
    pipeline = load_pipeline(folder / "pipeline.yaml")
    loaded = round_trip(pipeline, folder / "linked" / "p.yaml")
    assert dumped(loaded) == dumped(pipeline)


def test_cli_says_when_the_output_cannot_be_written(
    tabular: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator import files

    def refuse(path: Path, text: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files, "write_text_atomic", refuse)
    target = tabular.parent / "out.yaml"
    result = runner.invoke(app, ["import", "sagemaker", str(tabular), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "cannot be written: Permission denied" in " ".join(result.output.split())


def test_checks_with_their_parameters_round_trip(tmp_path: Path) -> None:
    (tmp_path / "prep.py").write_text("")
    pipeline = Pipeline("p", base_dir=tmp_path)
    prep = pipeline.processing("prep", script="prep.py", outputs=["out", "ref"])
    checks: list[Any] = [
        {"max_missing_ratio": {"columns": ["a", "b"], "max_ratio": 0.1, "severity": "warning"}},
        {"numeric_ranges": {"ranges": {"x": {"min": 0, "max": 1}}, "mostly": 0.95}},
        {"categorical_consistency": {"column": "c", "allowed": ["u", "v", 3]}},
        {"categorical_consistency": {"column": "c", "reference": "prep.ref"}},
        {"unique_key": {"columns": ["id"]}},
        {"row_count": {"min": None, "at_most": "2x data/ref.csv"}},
        {"distribution_drift": {"column": "x", "reference": "data/ref.csv", "psi_max": None}},
        {"statistics": {"column": "x", "mean": [0, None]}},
        "no_missing_values",
    ]
    pipeline.expect(prep, data_quality={"out": checks})
    loaded = round_trip(pipeline, tmp_path / "p.yaml")
    assert dumped(loaded) == dumped(pipeline)
    assert [e.model_dump() for e in loaded.expectations] == [
        e.model_dump() for e in pipeline.expectations
    ]


def test_a_path_starting_with_a_tilde_is_no_home_folder(tmp_path: Path) -> None:
    (tmp_path / "~code").mkdir()
    (tmp_path / "~code" / "~prep.py").write_text("")
    pipeline = Pipeline("p", base_dir=tmp_path)
    code = tmp_path / "~code"
    pipeline.processing("prep", script=code / "~prep.py", inputs={"raw": tmp_path / "~raw"})
    pipeline.training("train", source_dir=code, script=code / "~prep.py")
    text = pipeline_yaml(pipeline, tmp_path / "p.yaml")
    assert f"script: {code / '~prep.py'}" in text and f"raw: {tmp_path / '~raw'}" in text
    assert dumped(round_trip(pipeline, tmp_path / "p.yaml")) == dumped(pipeline)


def test_cli_takes_the_code_folder_and_parameters_as_cit_run_does(
    tabular: Path, tmp_path: Path
) -> None:
    code = tmp_path / "elsewhere"
    code.mkdir()
    for script in (tabular.parent / "scripts").glob("*.py"):
        (code / script.name).write_text(script.read_text())
    target = tmp_path / "converted.yaml"
    command = ["import", "sagemaker", str(tabular), "-o", str(target), "--code-dir", str(code)]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert load_pipeline(target).steps["preprocess"].script == code / "preprocess.py"

    missing = [*command[:-1], str(tmp_path / "none"), "--force"]
    result = runner.invoke(app, missing)
    assert result.exit_code == 2
    assert "--code-dir" in result.output and "no such folder" in result.output
    result = runner.invoke(app, [*command, "--force", "--param", "Nope=1"])
    assert result.exit_code == 2
    assert "no parameter 'Nope'" in " ".join(result.output.split())
