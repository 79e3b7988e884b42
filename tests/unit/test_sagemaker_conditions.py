"""SageMaker pipeline definitions with Condition and Fail steps and PropertyFiles, as the
SageMaker SDK writes them (tests/fixtures/sagemaker/conditions.definition.json)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestrator import FakeBehaviour, FakeEngine, RunSettings, Status
from orchestrator.errors import InputError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import Condition, JsonGet, PropertyFile, StepKind
from orchestrator.pipeline.sagemaker_definition import definition_options
from orchestrator.run.pipeline_run import load_and_validate, run_loaded
from orchestrator.run.settings import RUNNER_IMAGE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"
CONDITIONS_JSON = FIXTURES / "conditions.definition.json"
ACCURACY = JsonGet(
    step="evaluate", property_file="EvaluationReport", json_path="metrics.accuracy.value"
)


def definition() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CONDITIONS_JSON.read_text())
    return data


def check_step(data: dict[str, Any]) -> dict[str, Any]:
    [step] = [s for s in data["Steps"] if s["Type"] == "Condition"]
    return step


def refusal(data: dict[str, Any], folder: Path) -> str:
    shutil.copytree(FIXTURES / "scripts", folder / "scripts", dirs_exist_ok=True)
    path = folder / "p.definition.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as caught:
        load_pipeline(path)
    return " ".join(str(caught.value).split())


def test_the_sdk_definition_loads_with_its_condition_fail_step_and_property_file() -> None:
    pipeline = load_pipeline(CONDITIONS_JSON)
    steps = pipeline.steps
    assert list(steps) == [
        "prepare",
        "train",
        "evaluate",
        "CheckAccuracy",
        "report",
        "AccuracyTooLow",
    ]
    assert steps["evaluate"].property_files == {
        "EvaluationReport": PropertyFile(output="evaluation", path="evaluation.json")
    }
    check = steps["CheckAccuracy"]
    assert check.kind is StepKind.CONDITION
    assert check.conditions == [Condition(op=">=", left=ACCURACY, right=0.7)]
    assert (check.if_steps, check.else_steps) == (["report"], ["AccuracyTooLow"])
    assert check.upstream == ("evaluate",)
    assert steps["report"].upstream == ("evaluate", "CheckAccuracy")
    fail = steps["AccuracyTooLow"]
    assert fail.kind is StepKind.FAIL
    assert fail.error_message == "accuracy is below the threshold 0.7"


def test_a_parameter_given_reaches_the_condition_and_the_fail_message() -> None:
    options = definition_options(["AccuracyThreshold=0.99"])
    steps = load_pipeline(CONDITIONS_JSON, definition=options).steps
    assert steps["CheckAccuracy"].conditions[0].right == 0.99
    assert steps["AccuracyTooLow"].error_message == "accuracy is below the threshold 0.99"


@pytest.mark.parametrize(("threshold", "ok"), [(None, True), ("0.95", False)])
def test_the_definition_runs_either_branch(tmp_path: Path, threshold: str | None, ok: bool) -> None:
    options = definition_options([f"AccuracyThreshold={threshold}"] if threshold else [])
    pipeline = load_pipeline(CONDITIONS_JSON, definition=options)
    report = json.dumps({"metrics": {"accuracy": {"value": 0.84}}})
    fake = FakeEngine(
        {
            "evaluate": FakeBehaviour(
                writes={"/opt/ml/processing/evaluation/evaluation.json": report}
            )
        },
        images={RUNNER_IMAGE: "sha256:runner"},
    )
    settings = RunSettings(
        cit_dir=tmp_path / ".cit",
        max_workers=1,
        cpus_available=2,
        memory_available=2**33,
        user=None,
    )
    result = run_loaded(pipeline, CONDITIONS_JSON, fake, settings=settings)
    assert result.ok is ok and result.exit_code == (0 if ok else 1)
    ran = [spec.labels["cit.step"] for spec in fake.specs]
    assert ran == ["prepare", "train", "evaluate", *(["report"] if ok else [])]
    skipped = result.step("AccuracyTooLow" if ok else "report")
    assert skipped.status is Status.SKIPPED and skipped.branch_not_taken
    if not ok:
        fail = result.step("AccuracyTooLow")
        assert fail.status is Status.FAILED
        assert fail.message == "accuracy is below the threshold 0.95"


def _edit(data: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    check = check_step(data)
    if where == "condition":
        check["Arguments"]["Conditions"][0] = value
    elif where == "right":
        check["Arguments"]["Conditions"][0]["RightValue"] = value
    elif where == "message":
        check["Arguments"]["ElseSteps"][0]["Arguments"]["ErrorMessage"] = value
    elif where == "property_files":
        [evaluate] = [s for s in data["Steps"] if s["Name"] == "evaluate"]
        evaluate["PropertyFiles"] = value
    return data


@pytest.mark.parametrize(
    ("where", "value", "field", "words"),
    [
        (
            "condition",
            {"Type": "Between", "LeftValue": 1, "RightValue": 2},
            "Steps.CheckAccuracy.Arguments.Conditions[0].Type",
            '"Between" is not supported; supported: Equals, GreaterThan, GreaterThanOrEqualTo, '
            "LessThan, LessThanOrEqualTo, In, Not, Or",
        ),
        (
            "right",
            {"Get": "Steps.evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
            "Steps.CheckAccuracy.Arguments.Conditions[0].RightValue",
            "is not supported; supported: a string, number or boolean, {'Get': 'Parameters.NAME'}",
        ),
        (
            "right",
            {"Std:JsonGet": {"PropertyFile": "EvaluationReport", "Path": "a"}},
            "Steps.CheckAccuracy.Arguments.Conditions[0].RightValue.Std:JsonGet.PropertyFile",
            "give {'Get': 'Steps.NAME.PropertyFiles.NAME'}",
        ),
        (
            "right",
            {"Get": "Parameters.Nope"},
            "Steps.CheckAccuracy.Arguments.Conditions[0].RightValue",
            "no parameter 'Nope' in Parameters (defined: AccuracyThreshold)",
        ),
        (
            "message",
            {"Std:Join": {"On": " ", "Values": ["low", {"Get": "Steps.train.TrainingJobName"}]}},
            "Steps.CheckAccuracy.Arguments.ElseSteps.AccuracyTooLow.Arguments.ErrorMessage."
            "Values[1]",
            "a fail step's message is a string, {'Get': 'Parameters.NAME'}, "
            "{'Get': 'Execution.PROPERTY'} or a 'Std:Join'",
        ),
        (
            "property_files",
            [{"PropertyFileName": "EvaluationReport", "OutputName": "evaluation"}],
            "Steps.evaluate.PropertyFiles[0].FilePath",
            "must be a non-empty string",
        ),
    ],
)
def test_what_is_not_understood_is_refused_naming_the_field(
    tmp_path: Path, where: str, value: Any, field: str, words: str
) -> None:
    message = refusal(_edit(definition(), where, value), tmp_path)
    assert f"{field}: " in message, message
    assert words in message, message


def test_a_condition_reading_an_unknown_property_file_is_refused(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    path = tmp_path / "p.definition.json"
    path.write_text(json.dumps(_edit(definition(), "property_files", [])))
    with pytest.raises(InputError) as caught:
        load_and_validate(path)
    message = str(caught.value)
    assert "steps.CheckAccuracy.conditions.0" in message
    assert "reads property file 'EvaluationReport' of step 'evaluate', which has no such" in message


def test_a_step_cit_does_not_run_in_a_branch_is_named_and_can_be_left_out(
    tmp_path: Path,
) -> None:
    data = definition()
    register = {"Name": "RegisterIt", "Type": "RegisterModel", "Arguments": {}}
    check_step(data)["Arguments"]["IfSteps"].append(register)
    assert refusal(copy.deepcopy(data), tmp_path).endswith(
        "Steps.RegisterIt.Type: a RegisterModel step is not supported; cit runs Processing (a "
        "script run by python3 or the like), Training (script mode), Condition and Fail steps; "
        "run the other steps with --skip-unsupported (or leave steps out with --skip-step NAME)"
    )
    path = tmp_path / "p.definition.json"
    pipeline = load_pipeline(path, definition=definition_options(skip_unsupported=True))
    assert "RegisterIt" not in pipeline.steps
    assert pipeline.steps["CheckAccuracy"].if_steps == ["report"]
    assert [s.name for s in pipeline.skipped] == ["RegisterIt"]


def test_leaving_out_a_condition_leaves_out_its_branches(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "scripts", tmp_path / "scripts")
    path = tmp_path / "p.definition.json"
    path.write_text(json.dumps(definition()))
    options = definition_options(skip_steps=["CheckAccuracy"])
    pipeline = load_pipeline(path, definition=options)
    assert list(pipeline.steps) == ["prepare", "train", "evaluate"]
    reasons = {s.name: s.reason for s in pipeline.skipped}
    assert reasons["report"] == "is in a branch of step 'CheckAccuracy', which is skipped"
