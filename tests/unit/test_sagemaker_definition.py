"""A SageMaker pipeline definition (``Pipeline.definition()``'s JSON) run as a cit pipeline:
what is understood, and what is refused with one message. The definitions were written by the
real SageMaker SDK (tests/fixtures/sagemaker/generate.py)."""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.errors import InputError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import LocalSource, S3Source, StepKind, StepOutput
from orchestrator.pipeline.sagemaker_definition import definition_pipeline, is_definition
from orchestrator.pipeline.wiring import wires
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"
"""The example's scikit-learn image: the runner image's scikit-learn 1.4."""
"""The image the fixtures' processing steps name: scikit-learn 1.2, which cit's runner lacks."""

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "sagemaker"
TABULAR = ROOT / "examples" / "tabular"
TABULAR_JSON = FIXTURES / "tabular.definition.json"
SUBPATH_JSON = FIXTURES / "subpath.definition.json"
PARAMETER = {"Get": "Parameters.InputData"}
runner = CliRunner()


def definition(path: Path = SUBPATH_JSON) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def steps_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in data["Steps"]}


def refusal(data: dict[str, Any], folder: Path, name: str = "p.json") -> str:
    """The message loading ``data`` (written to ``folder``, beside the fixture scripts) gives."""
    if not (folder / "scripts").exists():
        shutil.copytree(FIXTURES / "scripts", folder / "scripts")
    path = folder / name
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as caught:
        load_pipeline(path)
    return str(caught.value)


@pytest.fixture
def tabular(tmp_path: Path) -> Path:
    """examples/tabular with the definition the SDK writes for it beside pipeline.py."""
    folder = tmp_path / "tabular"
    shutil.copytree(TABULAR, folder, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    shutil.copy(TABULAR_JSON, folder / "pipeline.definition.json")
    return folder / "pipeline.definition.json"


# --- understood -------------------------------------------------------------------------------


def test_detected_by_content() -> None:
    assert is_definition(definition())
    assert not is_definition({"name": "p", "steps": {}})
    assert not is_definition([definition()])


def test_the_tabular_example_loads_into_its_three_steps(tabular: Path) -> None:
    pipeline = load_pipeline(tabular)
    folder = tabular.parent
    assert pipeline.name == "pipeline"
    assert pipeline.source_file == tabular
    assert list(pipeline.steps) == ["preprocess", "train", "evaluate"]
    prep, train, evaluate = pipeline.steps.values()

    assert prep.kind is StepKind.PROCESSING
    assert prep.script == folder / "scripts" / "preprocess.py"
    assert prep.entrypoint is None
    assert prep.arguments == [
        "--val-ratio", "0.15", "--test-ratio", "0.15", "--random-seed", "42"
    ]  # fmt: skip
    assert prep.env == {"LABEL_COLUMN": "label"}
    assert prep.inputs["raw"].source == LocalSource(path=folder / "data" / "raw")
    assert prep.inputs["raw"].destination == "/opt/ml/processing/input/raw"
    assert {name: spec.destination for name, spec in prep.outputs.items()} == {
        name: f"/opt/ml/processing/output/{name}" for name in ("train", "val", "test")
    }
    assert prep.instance.type == "ml.m5.xlarge"

    assert train.kind is StepKind.TRAINING
    assert train.script == folder / "scripts" / "train.py"
    assert train.source_dir == folder / "scripts"
    assert train.hyperparameters == {"max_depth": 4, "n_estimators": 60, "eta": 0.2}
    assert train.timeout_seconds == 86400
    assert train.inputs["train"].source == StepOutput(step="preprocess", output="train")

    assert evaluate.script == folder / "scripts" / "evaluate.py"
    assert evaluate.inputs["model"].source == StepOutput(step="train", output="model")
    assert evaluate.inputs["model"].destination == "/opt/ml/processing/input/model"
    assert list(evaluate.outputs) == ["predictions", "metrics"]


def test_the_tabular_definition_has_the_edges_of_pipeline_py(tabular: Path) -> None:
    from_definition = load_pipeline(tabular)
    from_python = load_pipeline(tabular.parent / "pipeline.py")
    assert sorted(map(str, wires(from_definition.steps))) == sorted(
        map(str, wires(from_python.steps))
    )
    for name, step in from_python.steps.items():
        assert set(from_definition.steps[name].inputs) == set(step.inputs)
        assert from_definition.steps[name].output_names == step.output_names


def test_sub_path_joins_parameters_and_depends_on() -> None:
    pipeline = load_pipeline(SUBPATH_JSON)
    prep, train = pipeline.steps["Prep"], pipeline.steps["Train"]
    assert pipeline.name == "subpath"
    assert prep.inputs["data"].source == S3Source(uri="s3://cit-bucket/raw")
    assert prep.outputs["processed_data"].destination == "/opt/ml/processing/output"
    assert prep.timeout_seconds == 1200
    assert prep.script == FIXTURES / "scripts" / "prep.py"
    assert train.inputs["train"].source == StepOutput(
        step="Prep", output="processed_data", path="train"
    )
    assert str(train.inputs["validation"].source) == "Prep.processed_data/splits/validation"
    assert train.depends_on == ["Prep"]
    assert train.timeout_seconds == 7200
    assert train.instance.type == "ml.m5.2xlarge"
    assert train.hyperparameters == {"max_depth": 4, "eta": 0.3, "objective": "binary:logistic"}
    assert not any(key.startswith("sagemaker_") for key in train.hyperparameters)
    assert sorted(map(str, wires(pipeline.steps))) == [
        "Prep.processed_data/splits/validation -> Train.validation",
        "Prep.processed_data/train -> Train.train",
    ]


def test_a_parameter_default_may_be_a_local_path_and_feeds_arguments_and_env(
    tmp_path: Path,
) -> None:
    data = definition()
    data["Parameters"] += [
        {"Name": "Local", "Type": "String", "DefaultValue": "data"},
        {"Name": "Split", "Type": "Float", "DefaultValue": 0.3},
    ]
    prep = steps_of(data)["Prep"]["Arguments"]
    prep["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {"Get": "Parameters.Local"}
    prep["AppSpecification"]["ContainerArguments"] = ["--split", {"Get": "Parameters.Split"}]
    prep["Environment"] = {"SPLIT": {"Get": "Parameters.Split"}}
    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    step = load_pipeline(path).steps["Prep"]
    assert step.inputs["data"].source == LocalSource(path=tmp_path / "data")
    assert step.arguments == ["--split", "0.3"]
    assert step.env == {"SPLIT": "0.3"}


def test_joins_execution_properties_and_booleans_render_as_sagemaker_renders_them(
    tmp_path: Path,
) -> None:
    data = definition()
    data["Parameters"] += [
        {"Name": "Shuffle", "Type": "Boolean", "DefaultValue": True},
        {"Name": "Depth", "Type": "Integer", "DefaultValue": 6},
    ]
    data["MlflowConfig"] = None  # as the SDK v3 writes it
    steps = steps_of(data)
    prep = steps["Prep"]["Arguments"]
    join = {"Std:Join": {"On": "-", "Values": ["run", {"Get": "Execution.PipelineExecutionId"}]}}
    prep["AppSpecification"]["ContainerArguments"] = ["--shuffle", {"Get": "Parameters.Shuffle"}]
    prep["Environment"] = {"RUN": join, "PIPELINE": {"Get": "Execution.PipelineName"}}
    hyperparameters = steps["Train"]["Arguments"]["HyperParameters"]
    hyperparameters["max_depth"] = {"Std:Join": {"On": "", "Values": [{"Get": "Parameters.Depth"}]}}
    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    pipeline = load_pipeline(path)
    assert pipeline.steps["Prep"].arguments == ["--shuffle", "true"]
    assert pipeline.steps["Prep"].env == {"RUN": "run-cit-local", "PIPELINE": "p"}
    assert pipeline.steps["Train"].hyperparameters["max_depth"] == 6


def test_an_unknown_execution_property_is_refused(tmp_path: Path) -> None:
    data = definition()
    steps_of(data)["Prep"]["Arguments"]["Environment"] = {"X": {"Get": "Execution.Nope"}}
    assert refusal(data, tmp_path) == (
        f"{tmp_path / 'p.json'}: Steps.Prep.Arguments.Environment.X: Execution.Nope is not "
        "supported; supported: Execution.PipelineExecutionId, Execution.PipelineExecutionArn, "
        "Execution.PipelineName, Execution.PipelineArn, Execution.StartDateTime, "
        "Execution.CurrentDateTime"
    )


def test_an_entrypoint_other_than_python3_is_kept(tmp_path: Path) -> None:
    data = definition()
    app_spec = steps_of(data)["Prep"]["Arguments"]["AppSpecification"]
    app_spec["ContainerEntrypoint"] = ["python3", "-u", "/opt/ml/processing/input/code/prep.py"]
    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    assert load_pipeline(path).steps["Prep"].entrypoint == ["python3", "-u"]


def test_code_dir_names_where_the_code_is() -> None:
    pipeline = definition_pipeline(
        definition(TABULAR_JSON), TABULAR_JSON, code_dir=TABULAR / "scripts"
    )
    assert pipeline.steps["train"].source_dir == TABULAR / "scripts"


# --- refused ----------------------------------------------------------------------------------


def test_a_code_uri_that_maps_to_no_local_file_names_the_uri_and_the_folders(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tabular.definition.json"
    shutil.copy(TABULAR_JSON, path)
    (tmp_path / "code").mkdir()
    with pytest.raises(InputError) as caught:
        load_pipeline(path)
    message = str(caught.value)
    uri = steps_of(definition(TABULAR_JSON))["preprocess"]["Arguments"]["ProcessingInputs"][1][
        "S3Input"
    ]["S3Uri"]
    assert message.startswith(f"{path}: Steps.preprocess.Arguments.ProcessingInputs[code]")
    assert f"cannot map {uri} to a local file: no preprocess.py in {tmp_path}, " in message
    assert str(tmp_path / "code") in message


def test_a_training_program_that_maps_to_no_local_file(tmp_path: Path) -> None:
    data = definition()
    data["Steps"][1]["Arguments"]["HyperParameters"]["sagemaker_program"] = '"fit.py"'
    message = refusal(data, tmp_path)
    assert "Steps.Train.Arguments.HyperParameters.sagemaker_program" in message
    assert "sourcedir.tar.gz to a local file: no fit.py in " in message


@pytest.mark.parametrize(
    ("step_type", "arguments"),
    [
        ("Transform", {}),
        ("Tuning", {}),
        ("Model", {}),
        ("RegisterModel", {}),
        ("Lambda", {}),
        ("Callback", {}),
        ("EMR", {}),
        ("QualityCheck", {}),
        ("ClarifyCheck", {}),
    ],
)
def test_an_unsupported_step_type_is_refused(
    tmp_path: Path, step_type: str, arguments: dict[str, Any]
) -> None:
    data = definition()
    data["Steps"].append({"Name": "Other", "Type": step_type, "Arguments": arguments})
    message = refusal(data, tmp_path)
    assert f"Steps.Other.Type: a {step_type} step is not supported; cit runs Processing" in message


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            lambda d: d["Steps"][1].update(
                PropertyFiles=[{"PropertyFileName": "e", "OutputName": "o", "FilePath": "e.json"}]
            ),
            "Steps.Train.PropertyFiles",
            "is not supported; cit understands Name, Type, Arguments",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["ProcessingInputs"][0]["S3Input"].update(
                S3Uri={"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.e"}}}
            ),
            "Steps.Prep.Arguments.ProcessingInputs[input-1].S3Input.S3Uri",
            '{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Prep.PropertyFiles.e"}}} is not '
            "supported; supported: a string, {'Get': 'Parameters.NAME'}",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["ProcessingInputs"][0]["S3Input"].update(
                S3Uri={"Get": "Execution.PipelineExecutionId"}
            ),
            "Steps.Prep.Arguments.ProcessingInputs[input-1].S3Input.S3Uri",
            "{'Get': 'Execution.PipelineExecutionId'} is not supported",
        ),
        (
            lambda d: d["Steps"][1]["Arguments"]["InputDataConfig"][0]["DataSource"][
                "S3DataSource"
            ].update(S3Uri={"Std:Join": {"On": "/", "Values": [PARAMETER, "x"]}}),
            "Steps.Train.Arguments.InputDataConfig[train].DataSource.S3DataSource.S3Uri",
            "does not start with another step's output",
        ),
        (
            lambda d: d["Steps"][1]["Arguments"]["InputDataConfig"][0]["DataSource"][
                "S3DataSource"
            ].update(S3Uri={"Std:Join": {"On": "-", "Values": ["a", "b"]}}),
            "Steps.Train.Arguments.InputDataConfig[train].DataSource.S3DataSource.S3Uri",
            "'Std:Join' {\"On\": \"-\"",
        ),
        (
            lambda d: d["Steps"][1]["Arguments"]["HyperParameters"].pop("sagemaker_program"),
            "Steps.Train.Arguments.HyperParameters",
            "no sagemaker_program: the step runs the image's own algorithm",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"].update(
                InstanceCount=2
            ),
            "Steps.Prep.Arguments.ProcessingResources.ClusterConfig.InstanceCount",
            "2: cit runs a processing step on one instance",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["AppSpecification"].update(
                ContainerEntrypoint=["/opt/program/run"]
            ),
            "Steps.Prep.Arguments.AppSpecification.ContainerEntrypoint",
            "whose entrypoint is a program and the script it runs",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["AppSpecification"].update(
                ContainerEntrypoint=["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"]
            ),
            "Steps.Prep.Arguments.AppSpecification.ContainerEntrypoint",
            "is a FrameworkProcessor's, but the step has no input of runproc.sh mounted at "
            "/opt/ml/processing/input/entrypoint",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["AppSpecification"].update(
                ContainerEntrypoint=["python3", "/opt/ml/processing/input/src/prep.py"]
            ),
            "Steps.Prep.Arguments.AppSpecification.ContainerEntrypoint",
            "the script /opt/ml/processing/input/src/prep.py is not in "
            "/opt/ml/processing/input/code, where cit mounts a processing step's code",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["AppSpecification"].pop("ContainerEntrypoint"),
            "Steps.Prep.Arguments.AppSpecification.ContainerEntrypoint",
            "cit runs processing steps that run a script",
        ),
        (
            lambda d: d["Steps"][0]["Arguments"]["ProcessingInputs"][0]["S3Input"].update(
                S3DataType="ManifestFile"
            ),
            "Steps.Prep.Arguments.ProcessingInputs[input-1].S3Input.S3DataType",
            '"ManifestFile" is not supported; supported: S3Prefix',
        ),
        (
            lambda d: d["Steps"][1]["Arguments"].update(CheckpointConfig={"S3Uri": "s3://b/c"}),
            "Steps.Train.Arguments.CheckpointConfig",
            "is not supported; cit understands AlgorithmSpecification",
        ),
        (
            lambda d: d["Parameters"][0].pop("DefaultValue"),
            "Parameters.InputData",
            "has no DefaultValue; give its value with --param InputData=VALUE",
        ),
        (
            lambda d: d["Steps"][1]["Arguments"]["HyperParameters"].update(layers="[1, 2]"),
            "Steps.Train.Arguments.HyperParameters.layers",
            "[1, 2] is not supported; a hyperparameter is a string, number or boolean",
        ),
    ],
)
def test_what_is_not_understood_is_refused_naming_the_field(
    tmp_path: Path, edit: Any, field: str, words: str
) -> None:
    data = copy.deepcopy(definition())
    edit(data)
    message = refusal(data, tmp_path)
    assert f"p.json: {field}: " in message, message
    assert words in message, message


def test_a_json_file_that_is_not_a_definition(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps({"name": "p", "steps": {}}))
    with pytest.raises(InputError) as caught:
        load_pipeline(path)
    assert str(caught.value) == (
        f"{path}: is not a SageMaker pipeline definition (a JSON object with 'Version' and "
        "'Steps', as Pipeline.definition() returns); write a pipeline in cit's own format as "
        ".py or .yaml"
    )


def test_an_unknown_suffix_names_json(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text("")
    with pytest.raises(InputError, match=r"allowed: \.py, \.yaml, \.yml, \.json"):
        load_pipeline(path)


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_refuses_a_json_that_is_not_a_definition_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.json"
    path.write_text("[1, 2]")
    result = runner.invoke(app, ["run", "--dag", str(path), "--cit-dir", str(tmp_path / ".cit")])
    assert result.exit_code == 2, result.output
    assert "is not a SageMaker pipeline definition" in " ".join(result.output.split())


def test_cli_refuses_an_unsupported_step_with_exit_2(tmp_path: Path) -> None:
    data = definition()
    data["Steps"].append({"Name": "Check", "Type": "Transform", "Arguments": {}})
    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["run", "--dag", str(path), "--cit-dir", str(tmp_path / ".cit")])
    assert result.exit_code == 2, result.output
    assert "a Transform step is not supported" in " ".join(result.output.split())


def test_cli_validate_contracts_accepts_a_definition(tabular: Path) -> None:
    result = runner.invoke(app, ["validate-contracts", "--dag", str(tabular)])
    assert result.exit_code == 0, result.output


def test_cli_runs_a_definition_on_the_fake_engine(
    tabular: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "label,id,x\n0,1,0.5\n1,2,0.7\n"
    out = "/opt/ml/processing/output"
    prep = FakeBehaviour(writes={f"{out}/{n}/{n}.csv": rows for n in ("train", "val", "test")})
    fake = FakeEngine({"preprocess": prep}, images={RUNNER_IMAGE: "sha256:runner"})
    monkeypatch.setattr(cli, "connect", lambda: fake)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    cit_dir = tabular.parent / ".cit"
    sklearn = SKLEARN_IMAGE.partition(":")[0]
    result = runner.invoke(
        app,
        [
            "run", "--dag", str(tabular), "--cit-dir", str(cit_dir), "-q",
            "--image-map", f"{sklearn}={RUNNER_IMAGE}",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {spec.image for spec in fake.specs} == {RUNNER_IMAGE}
    assert len(fake.specs) == 3
    [run_dir] = run_dirs(cit_dir / "runs")
    report = json.dumps(json.loads((run_dir / "report.json").read_text()))
    assert "preprocess.train -> train.train" in report
    assert "train.model -> evaluate.model" in report


def _leaves(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at] if at else []
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        found += _leaves(item, (*at, key))
    return found


def test_no_edit_of_a_definition_gives_anything_but_an_input_error(tmp_path: Path) -> None:
    """Every field replaced by a value of another shape, or removed: the definition loads and
    validates, or is refused with an InputError; never a traceback."""
    from orchestrator.pipeline.validate import validate_pipeline

    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    path = tmp_path / "p.json"
    base = definition()
    for at in _leaves(base):
        for value in (None, 1, "", "s3://b/k", [], {}, {"Get": 1}, {"Get": "Parameters.No"}, ...):
            data = copy.deepcopy(base)
            parent = data
            for key in at[:-1]:
                parent = parent[key]
            if value is ...:
                del parent[at[-1]]
            else:
                parent[at[-1]] = value
            path.write_text(json.dumps(data))
            with contextlib.suppress(InputError):
                validate_pipeline(load_pipeline(path), path)
