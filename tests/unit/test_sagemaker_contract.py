"""The SageMaker contract, field by field, without any engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.pipeline.model import Step, build_step
from orchestrator.run.sagemaker_job import (
    JobContext,
    JobSpec,
    StepPaths,
    hyperparameter_args,
    sm_value,
    translate,
)

CTX = JobContext(
    run_id="r1", image="cit-runner:test", labels={"cit.step": "s"}, cpus=2.0, memory_bytes=2**30
)


def processing_step(project: Path, **extra: object) -> Step:
    fields = {
        "script": "scripts/prep.py",
        "inputs": {"raw": "data", "one": "data/raw.csv"},
        "outputs": ["train", "test"],
        "arguments": ["--ratio", "0.2"],
        "env": {"LABEL": "y"},
        **extra,
    }
    return build_step("prep", "processing", fields, project)


def training_step(project: Path, **extra: object) -> Step:
    fields = {
        "script": "scripts/train.py",
        "inputs": {"train": "data", "validation": "data"},
        "hyperparameters": {
            "max_depth": 4,
            "eta": 0.2,
            "objective": "binary:logistic",
            "early": True,
            "k": 3,
        },
        **extra,
    }
    return build_step("train", "training", fields, project)


def job(step: Step, project: Path) -> JobSpec:
    inputs = {
        c: (project / "data" / "raw.csv") if c == "one" else (project / "data") for c in step.inputs
    }
    return translate(step, inputs, StepPaths(project / "run" / step.name), CTX)


def mounts(spec: JobSpec) -> dict[str, tuple[str, bool]]:
    return {m.target: (m.source, m.read_only) for m in spec.container.mounts}


def config(spec: JobSpec, name: str) -> dict[str, object]:
    matches = [content for path, content in spec.files.items() if path.name == name]
    assert len(matches) == 1, name
    return json.loads(matches[0])  # type: ignore[no-any-return]


def test_processing_runs_script_from_read_only_code_mount(project: Path) -> None:
    spec = job(processing_step(project), project)
    assert spec.container.entrypoint == ("python3", "/opt/ml/processing/input/code/prep.py")
    assert spec.container.command == ("--ratio", "0.2")
    source, read_only = mounts(spec)["/opt/ml/processing/input/code/prep.py"]
    assert source == str(project / "scripts" / "prep.py") and read_only


def test_processing_inputs_read_only_outputs_writable(project: Path) -> None:
    m = mounts(job(processing_step(project), project))
    assert m["/opt/ml/processing/input/raw"] == (str(project / "data"), True)
    assert m["/opt/ml/processing/input/one/raw.csv"] == (str(project / "data" / "raw.csv"), True)
    assert m["/opt/ml/processing/output/train"] == (str(project / "run/prep/outputs/train"), False)
    assert m["/opt/ml/processing/output/test"][1] is False
    assert m["/opt/ml/config"] == (str(project / "run/prep/config"), True)
    assert m["/opt/ml/output"] == (str(project / "run/prep/ml-output"), False)


def test_processing_job_config(project: Path) -> None:
    cfg = config(job(processing_step(project), project), "processingjobconfig.json")
    assert cfg["ProcessingJobName"] == "cit-r1-prep"
    assert cfg["AppSpecification"] == {
        "ImageUri": "cit-runner:test",
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/prep.py"],
        "ContainerArguments": ["--ratio", "0.2"],
    }
    assert cfg["Environment"] == {"LABEL": "y"}
    inputs = {i["InputName"]: i for i in cfg["ProcessingInputs"]}  # type: ignore[attr-defined]
    assert set(inputs) == {"raw", "one", "code"}
    assert inputs["raw"]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/raw"
    assert inputs["code"]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/code"
    outputs = cfg["ProcessingOutputConfig"]["Outputs"]  # type: ignore[index]
    assert [o["S3Output"]["LocalPath"] for o in outputs] == [
        "/opt/ml/processing/output/train",
        "/opt/ml/processing/output/test",
    ]
    assert cfg["ProcessingResources"] == {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
    }
    assert cfg["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert config(job(processing_step(project), project), "resourceconfig.json") == {
        "current_host": "algo-1",
        "hosts": ["algo-1"],
    }


def test_processing_custom_destinations_and_entrypoint(project: Path) -> None:
    step = processing_step(
        project,
        inputs={"raw": {"path": "data", "destination": "/data/in"}},
        outputs={"out": {"destination": "/data/out"}},
        entrypoint=["python3", "-u"],
    )
    spec = job(step, project)
    assert spec.container.entrypoint == ("python3", "-u", "/opt/ml/processing/input/code/prep.py")
    assert "/data/in" in mounts(spec) and "/data/out" in mounts(spec)


def test_container_limits_labels_network(project: Path) -> None:
    container = job(processing_step(project), project).container
    assert container.cpus == 2.0 and container.memory_bytes == 2**30
    assert container.labels == {"cit.step": "s"}
    assert container.network is False
    assert container.hostname == "algo-1"
    assert container.timeout_seconds == 3600


def test_training_script_mode_command_and_mounts(project: Path) -> None:
    spec = job(training_step(project), project)
    assert spec.container.entrypoint == ("python3",)
    assert spec.container.command == (
        "/opt/ml/code/train.py",
        "--early",
        "True",
        "--eta",
        "0.2",
        "-k",
        "3",
        "--max_depth",
        "4",
        "--objective",
        "binary:logistic",
    )
    assert spec.container.working_dir == "/opt/ml/code"
    m = mounts(spec)
    assert m["/opt/ml/input/data/train"] == (str(project / "data"), True)
    assert m["/opt/ml/input/config"][1] is True
    assert m["/opt/ml/model"] == (str(project / "run/train/model"), False)
    assert m["/opt/ml/code"] == (str(project / "run/train/code"), False)
    assert spec.copies == ((project / "scripts" / "train.py", project / "run/train/code"),)


def test_hyperparameters_json_is_strings_json_encoded(project: Path) -> None:
    hps = config(job(training_step(project), project), "hyperparameters.json")
    assert all(isinstance(v, str) for v in hps.values())
    assert hps["max_depth"] == "4"
    assert hps["objective"] == '"binary:logistic"'
    assert hps["early"] == "true"
    assert hps["sagemaker_program"] == '"train.py"'
    assert hps["sagemaker_submit_directory"] == '"/opt/ml/code"'
    assert hps["sagemaker_job_name"] == '"cit-r1-train"'


def test_training_config_files(project: Path) -> None:
    spec = job(training_step(project), project)
    assert config(spec, "inputdataconfig.json") == {
        c: {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        for c in ("train", "validation")
    }
    resource = config(spec, "resourceconfig.json")
    assert resource["current_host"] == "algo-1" and resource["hosts"] == ["algo-1"]
    assert resource["network_interface_name"] == "eth0"
    assert resource["current_group_name"] == "homogeneousCluster"


def test_training_environment(project: Path) -> None:
    env = job(training_step(project), project).container.env
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert env["SM_CHANNELS"] == '["train","validation"]'
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNEL_VALIDATION"] == "/opt/ml/input/data/validation"
    assert json.loads(env["SM_HPS"]) == {
        "max_depth": 4,
        "eta": 0.2,
        "objective": "binary:logistic",
        "early": True,
        "k": 3,
    }
    assert env["SM_HP_MAX_DEPTH"] == "4" and env["SM_HP_OBJECTIVE"] == "binary:logistic"
    assert env["SM_HP_EARLY"] == "true"
    assert env["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data"
    assert env["SM_OUTPUT_DIR"] == "/opt/ml/output"
    assert env["SM_INPUT_DIR"] == "/opt/ml/input"
    assert env["SM_INPUT_CONFIG_DIR"] == "/opt/ml/input/config"
    assert env["SM_NUM_CPUS"] == "2" and env["SM_NUM_GPUS"] == "0"
    assert env["SM_CURRENT_HOST"] == "algo-1" and env["SM_HOSTS"] == '["algo-1"]'
    assert env["SM_USER_ENTRY_POINT"] == "train.py" and env["SM_MODULE_NAME"] == "train"
    assert json.loads(env["SM_USER_ARGS"]) == hyperparameter_args(training_step(project))
    assert json.loads(env["SM_TRAINING_ENV"])["channel_input_dirs"]["train"] == (
        "/opt/ml/input/data/train"
    )
    assert env["TRAINING_JOB_NAME"] == "cit-r1-train"
    fixed = [k for k in env if k.startswith("SM_") and not k.startswith(("SM_HP_", "SM_CHANNEL_"))]
    assert len(fixed) == 31


def test_training_user_env_cannot_override_the_toolkit_variables(project: Path) -> None:
    step = training_step(project, env={"MY_VAR": "1", "SM_MODEL_DIR": "/elsewhere"})
    env = job(step, project).container.env
    assert env["MY_VAR"] == "1"
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"


def test_byoc_training_runs_image_with_train(project: Path) -> None:
    step = build_step(
        "algo",
        "training",
        {"image": "my-algo:1", "inputs": {"train": "data"}, "hyperparameters": {"depth": 3}},
        project,
    )
    spec = job(step, project)
    assert spec.container.command == ("train",)
    assert spec.container.entrypoint is None
    assert not any(m.target.startswith("/opt/ml/code") for m in spec.container.mounts)
    assert config(spec, "hyperparameters.json") == {"depth": "3"}


def test_image_only_processing_keeps_the_image_entrypoint(project: Path) -> None:
    step = build_step("algo", "processing", {"image": "my-proc:1", "arguments": ["hello"]}, project)
    spec = job(step, project)
    assert spec.container.entrypoint is None and spec.container.command == ("hello",)
    assert "ContainerEntrypoint" not in config(spec, "processingjobconfig.json")["AppSpecification"]


def test_byoc_hyperparameters_are_python_strings(project: Path) -> None:
    step = build_step(
        "algo",
        "training",
        {"image": "my-algo:1", "hyperparameters": {"flag": True, "rate": 0.5}},
        project,
    )
    assert config(job(step, project), "hyperparameters.json") == {"flag": "True", "rate": "0.5"}


def test_source_dir_mounts_whole_folder(project: Path) -> None:
    step = training_step(project, source_dir="scripts", script="train.py")
    spec = job(step, project)
    assert spec.copies == ((project / "scripts", project / "run/train/code"),)
    assert spec.container.command[0] == "/opt/ml/code/train.py"
    processing = job(processing_step(project, source_dir="scripts", script="prep.py"), project)
    assert mounts(processing)["/opt/ml/processing/input/code"] == (str(project / "scripts"), True)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "x"),
        (None, ""),
        (3, "3"),
        (True, "true"),
        ({"b": 1, "a": [1, 2]}, '{"a":[1,2],"b":1}'),
    ],
)
def test_sm_value_formats_like_the_toolkit(value: object, text: str) -> None:
    assert sm_value(value) == text


def test_job_name_is_valid_for_sagemaker(project: Path) -> None:
    step = build_step(
        "a_very_long_step_name_" + "x" * 50, "processing", {"script": "scripts/prep.py"}, project
    )
    name = job(step, project).container.name
    assert len(name) <= 63 and "_" not in name


def test_non_root_user_runs_as_itself_with_a_writable_home(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from orchestrator.run.settings import RunSettings

    monkeypatch.setattr(os, "getuid", lambda: 1000)
    monkeypatch.setattr(os, "getgid", lambda: 1001)
    user = RunSettings().user
    assert user == "1000:1001"
    ctx = JobContext(run_id="r1", image="i", user=user)
    spec = translate(
        processing_step(project),
        {"raw": project / "data", "one": project / "data/raw.csv"},
        StepPaths(project / "run"),
        ctx,
    )
    assert spec.container.user == "1000:1001" and spec.container.env["HOME"] == "/tmp"


def test_root_keeps_the_image_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from orchestrator.run.settings import RunSettings

    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert RunSettings().user is None
