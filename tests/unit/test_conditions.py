"""Condition and fail steps: evaluation, property files read from what a step wrote, the
branch not taken skipped as passing, fail steps failing the run, and the model and YAML."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, Pipeline, RunSettings, Status
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.errors import InputError, PipelineError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import Condition, InvalidStep, JsonGet, StepKind, build_step
from orchestrator.pipeline.validate import validate_pipeline
from orchestrator.pipeline.yaml_writer import pipeline_yaml
from orchestrator.report.html.dag import dag_svg
from orchestrator.report.model import Outcome, load_report
from orchestrator.run.conditions import (
    ConditionError,
    PropertyReader,
    evaluate,
    evaluate_all,
    json_value,
)
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.sagemaker_job import StepPaths
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs
from .conftest import write

EVALUATION = "/opt/ml/processing/output/evaluation/evaluation.json"
PIPELINE = """
name: gated
steps:
  evaluate:
    kind: processing
    script: scripts/evaluate.py
    outputs: [evaluation]
    property_files:
      EvaluationReport: {output: evaluation, path: evaluation.json}
  CheckAccuracy:
    kind: condition
    conditions:
      - op: ">="
        left: {step: evaluate, property_file: EvaluationReport, json_path: metrics.accuracy.value}
        right: 0.8
    if_steps: [register]
    else_steps: [stop]
  register: {kind: processing, script: scripts/prep.py, outputs: [out]}
  publish: {kind: processing, script: scripts/prep.py, inputs: {x: {step: register, output: out}}}
  stop: {kind: fail, error_message: accuracy is too low}
"""
REASON_IF = (
    "condition 'CheckAccuracy' was false (evaluate.EvaluationReport metrics.accuracy.value = "
    "0.73, needs >= 0.8): this step is in its If branch"
)


def settings(tmp: Path) -> RunSettings:
    return RunSettings(
        cit_dir=tmp / ".cit", max_workers=2, cpus_available=2, memory_available=8 * 2**30, user=None
    )


def engine(report: str | None) -> FakeEngine:
    writes = {EVALUATION: report} if report is not None else {}
    return FakeEngine(
        {
            "evaluate": FakeBehaviour(writes=writes),
            "register": FakeBehaviour(writes={"/opt/ml/processing/output/out/a.csv": "a\n1\n"}),
        },
        images={RUNNER_IMAGE: "sha256:runner"},
    )


def accuracy(value: Any) -> str:
    return json.dumps({"metrics": {"accuracy": {"value": value}}})


def run(project: Path, report: str | None, text: str = PIPELINE) -> Any:
    return execute_pipeline(
        write(project, "gated.yaml", text), engine(report), settings=settings(project)
    )


# Runs --------------------------------------------------------------------------------------


def test_a_true_condition_runs_the_if_branch_and_skips_the_fail_step(project: Path) -> None:
    result = run(project, accuracy(0.91))
    assert result.status is Status.SUCCEEDED and result.exit_code == 0
    statuses = {s.name: s.status for s in result.steps}
    assert statuses == {
        "evaluate": Status.SUCCEEDED,
        "CheckAccuracy": Status.SUCCEEDED,
        "register": Status.SUCCEEDED,
        "publish": Status.SUCCEEDED,
        "stop": Status.SKIPPED,
    }
    check = result.step("CheckAccuracy")
    assert check.kind == "condition" and check.container == {} and check.image is None
    assert check.condition is not None and check.condition.met and check.condition.branch == "If"
    assert check.message == (
        "condition 'CheckAccuracy' was true (evaluate.EvaluationReport metrics.accuracy.value = "
        "0.91, needs >= 0.8): took the If branch (register)"
    )
    stop = result.step("stop")
    assert stop.branch_not_taken and stop.passed
    assert stop.reason is not None and stop.reason.endswith("this step is in its Else branch")


def test_a_false_condition_reaches_the_fail_step_which_fails_the_run(project: Path) -> None:
    result = run(project, accuracy(0.73))
    assert result.status is Status.FAILED and result.exit_code == 1
    stop = result.step("stop")
    assert stop.status is Status.FAILED and stop.kind == "fail"
    assert stop.message == "accuracy is too low" and stop.reason == "a Fail step was reached"
    register, publish = result.step("register"), result.step("publish")
    assert register.status is Status.SKIPPED and register.reason == REASON_IF
    assert register.branch_not_taken and publish.branch_not_taken
    assert publish.reason == (
        "condition 'CheckAccuracy' was false (evaluate.EvaluationReport metrics.accuracy.value = "
        "0.73, needs >= 0.8): this step depends on 'register', which is in its If branch"
    )


def test_a_skipped_branch_without_a_fail_step_passes(project: Path) -> None:
    text = PIPELINE.replace("else_steps: [stop]", "else_steps: []").replace(
        "  stop: {kind: fail, error_message: accuracy is too low}\n", ""
    )
    result = run(project, accuracy(0.5), text)
    assert result.status is Status.SUCCEEDED and result.exit_code == 0
    assert result.step("register").status is Status.SKIPPED
    assert "took the Else branch (no steps)" in (result.step("CheckAccuracy").message or "")


@pytest.mark.parametrize(
    ("report", "words"),
    [
        (
            None,
            "property file evaluate.EvaluationReport (evaluation.json in output 'evaluation' "
            "of step 'evaluate') was not written",
        ),
        ("{not json", "is not valid JSON"),
        (json.dumps({"metrics": {}}), "'metrics' has no key 'accuracy' (it is an empty object)"),
        (json.dumps({"metrics": {"accuracy": {"value": None}}}), "is null, not a string"),
        (accuracy("high"), 'cannot compare "high" >= 0.8'),
    ],
)
def test_a_condition_that_cannot_be_evaluated_fails_and_runs_no_branch(
    project: Path, report: str | None, words: str
) -> None:
    result = run(project, report)
    assert result.exit_code == 1
    check = result.step("CheckAccuracy")
    assert check.status is Status.FAILED
    assert check.reason is not None and check.reason.startswith("cannot evaluate the condition: ")
    assert words in check.reason
    for name in ("register", "publish", "stop"):
        step = result.step(name)
        assert step.status is Status.SKIPPED and not step.branch_not_taken


def test_the_report_passes_a_run_whose_branch_was_skipped(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "connect", lambda: engine(accuracy(0.9)))
    path = write(project, "gated.yaml", PIPELINE)
    args = ["run", "--dag", str(path), "--cit-dir", str(project / ".cit"), "-q"]
    done = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    [run_dir] = run_dirs(project / ".cit" / "runs")
    report = load_report(run_dir / "report.json")
    assert report.exit_code == 0
    tests = {t.name: t for t in report.tests}
    assert tests["stop"].outcome is Outcome.SKIPPED
    assert tests["CheckAccuracy"].outcome is Outcome.PASSED
    assert "took the If branch" in (tests["CheckAccuracy"].message or "")


def test_the_fail_step_gives_exit_1_on_the_command_line(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "connect", lambda: engine(accuracy(0.2)))
    path = write(project, "gated.yaml", PIPELINE)
    args = ["run", "--dag", str(path), "--cit-dir", str(project / ".cit")]
    done = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 1, done.output
    assert "accuracy is too low" in done.output


# Property files read from what a step wrote ------------------------------------------------


def reader(tmp_path: Path, path: str = "evaluation.json") -> tuple[PropertyReader, Path]:
    step = build_step(
        "evaluate",
        StepKind.PROCESSING,
        {
            "script": "e.py",
            "outputs": ["evaluation"],
            "property_files": {"Report": {"output": "evaluation", "path": path}},
        },
        tmp_path,
    )
    paths = StepPaths(tmp_path / "steps" / "evaluate")
    paths.output("evaluation").mkdir(parents=True)
    planned: Any = SimpleNamespace(step=step, paths=paths)
    return PropertyReader({"evaluate": planned}), paths.output("evaluation")


GET = JsonGet(step="evaluate", property_file="Report", json_path="metrics.auc")


def test_a_property_file_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    read, folder = reader(tmp_path)
    secret = tmp_path / "secret.json"
    secret.write_text('{"metrics": {"auc": 1}}')
    (folder / "evaluation.json").symlink_to(secret)
    with pytest.raises(ConditionError, match="is a link, a folder or a special file"):
        read(GET)


def test_a_link_on_the_way_to_a_property_file_is_not_followed(tmp_path: Path) -> None:
    read, folder = reader(tmp_path, "reports/evaluation.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "evaluation.json").write_text('{"metrics": {"auc": 1}}')
    (folder / "reports").symlink_to(elsewhere)
    with pytest.raises(ConditionError, match="follows no link"):
        read(GET)


def test_a_property_file_that_is_a_fifo_is_not_read(tmp_path: Path) -> None:
    read, folder = reader(tmp_path)
    os.mkfifo(folder / "evaluation.json")
    with pytest.raises(ConditionError, match="special file"):
        read(GET)


def test_a_property_file_is_read_once_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read, folder = reader(tmp_path)
    (folder / "evaluation.json").write_text('{"metrics": {"auc": 0.9, "pad": "' + "x" * 200 + '"}}')
    assert read(GET) == 0.9
    (folder / "evaluation.json").write_text('{"metrics": {"auc": 0.1}}')
    assert read(GET) == 0.9  # read once per evaluation
    monkeypatch.setattr("orchestrator.run.conditions.PROPERTY_FILE_LIMIT", 100)
    fresh, _ = reader(tmp_path / "again")
    (fresh.steps["evaluate"].paths.output("evaluation") / "evaluation.json").write_text(
        json.dumps({"pad": "x" * 200})
    )
    with pytest.raises(ConditionError, match="is larger than"):
        fresh(GET)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("a", 1),
        ("b.c", "x"),
        ("list[1]", 20),
        ("list[2].d", True),
        ("deep[0][1]", 2.5),
    ],
)
def test_json_paths_walk_keys_and_indexes(path: str, value: Any) -> None:
    document = {"a": 1, "b": {"c": "x"}, "list": [10, 20, {"d": True}], "deep": [[1, 2.5]]}
    get = JsonGet(step="s", property_file="p", json_path=path)
    assert json_value(document, get) == value


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("missing", "s.p missing: the file has no key 'missing' (its keys: a, list)"),
        ("a.b", "s.p a.b: 'a' has no key 'b' (it is the int 1)"),
        ("list[5]", "s.p list[5]: 'list' has no item [5] (2 items)"),
        ("a[0]", "s.p a[0]: 'a' has no item [0] (the int 1)"),
        ("list", "s.p list is a list, not a string, number or boolean"),
    ],
)
def test_an_absent_json_path_says_where_it_stops(path: str, words: str) -> None:
    get = JsonGet(step="s", property_file="p", json_path=path)
    with pytest.raises(ConditionError) as info:
        json_value({"a": 1, "list": [1, 2]}, get)
    assert str(info.value) == words


# Operators ---------------------------------------------------------------------------------


def holds(**fields: Any) -> bool:
    met, _ = evaluate(Condition.model_validate(fields), PropertyReader({}))
    return met


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("==", 1, 1.0, True),
        ("==", "a", "a", True),
        ("==", "1", 1, False),
        ("==", True, 1, False),
        (">", 2, 1, True),
        (">", 1, 1, False),
        (">=", 1, 1, True),
        (">=", 0.5, 1, False),
        ("<", 1, 2, True),
        ("<", 2, 2, False),
        ("<=", 2, 2, True),
        ("<=", 3, 2, False),
        ("<", "a", "b", True),
    ],
)
def test_comparisons(op: str, left: Any, right: Any, expected: bool) -> None:
    assert holds(op=op, left=left, right=right) is expected


def test_in_not_and_or() -> None:
    assert holds(op="in", left=2, values=[1, 2.0, "x"])
    assert not holds(op="in", left="y", values=[1, "x"])
    assert holds(op="not", conditions=[{"op": "==", "left": 1, "right": 2}])
    assert holds(
        op="or",
        conditions=[{"op": ">", "left": 1, "right": 2}, {"op": "==", "left": "a", "right": "a"}],
    )
    assert not holds(op="or", conditions=[{"op": ">", "left": 1, "right": 2}])


def test_ordering_of_unlike_values_cannot_be_evaluated() -> None:
    with pytest.raises(ConditionError, match="ordering compares two numbers or two strings"):
        holds(op=">", left=True, right=0)


def test_all_conditions_must_hold_and_the_false_ones_are_named() -> None:
    conditions = [
        Condition(op=">", left=2, right=1),
        Condition(op="in", left="b", values=["a"]),
        Condition(op="not", conditions=[Condition(op="<", left=1, right=2)]),
    ]
    met, detail = evaluate_all(conditions, PropertyReader({}))
    assert not met
    assert detail == '"b", needs to be in ["a"]; not (1, needs < 2)'
    met, detail = evaluate_all(conditions[:1], PropertyReader({}))
    assert met and detail == "2, needs > 1"


# Model, validation, YAML -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "words"),
    [
        ("condition", {"conditions": [], "if_steps": ["a"]}, "a condition step needs 'conditions'"),
        (
            "condition",
            {"conditions": [{"op": ">=", "left": 1}]},
            "conditions.0: op '>=' takes left and right",
        ),
        (
            "condition",
            {"conditions": [{"op": "==", "left": 1, "right": 1}], "script": "x.py"},
            "a condition step runs no container; 'script' does not belong to it",
        ),
        ("fail", {"image": "x"}, "a fail step runs no container; 'image' does not belong"),
        (
            "condition",
            {"conditions": [{"op": "==", "left": [1], "right": 1}]},
            "conditions.0.left: a condition compares a string, number or boolean",
        ),
        (
            "condition",
            {
                "conditions": [
                    {
                        "op": "==",
                        "right": 1,
                        "left": {"step": "e", "property_file": "R", "json_path": "a..b"},
                    }
                ]
            },
            "conditions.0.left.json_path: a JSON path is keys separated by '.'",
        ),
        ("condition", {"conditions": [{"op": "xor", "left": 1, "right": 1}]}, "conditions.0.op"),
        ("training", {"script": "t.py", "property_files": {}}, "belongs to processing steps"),
        ("processing", {"script": "t.py", "error_message": "x"}, "belongs to fail steps"),
        ("processing", {"script": "t.py", "if_steps": ["x"]}, "belongs to condition steps"),
        (
            "processing",
            {
                "script": "t.py",
                "outputs": ["o"],
                "property_files": {"R": {"output": "o", "path": "../x"}},
            },
            "property_files.R.path: '../x': a property file is a file inside the output",
        ),
    ],
)
def test_bad_shapes_name_the_step_and_field(
    tmp_path: Path, kind: str, fields: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidStep) as info:
        build_step("s", kind, fields, tmp_path)
    assert words in str(info.value)
    assert str(info.value).startswith("steps.s")


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            ("if_steps: [register]", "if_steps: [regster]"),
            "steps.CheckAccuracy.if_steps",
            "no step named 'regster' (did you mean 'register'?)",
        ),
        (
            ("else_steps: [stop]", "else_steps: [stop, register]"),
            "steps.CheckAccuracy.else_steps",
            "step 'register' is in more than one branch",
        ),
        (
            ("property_file: EvaluationReport,", "property_file: Report,"),
            "steps.CheckAccuracy.conditions.0",
            "reads property file 'Report' of step 'evaluate', which has no such property file; "
            "its property files: EvaluationReport",
        ),
        (
            ("{output: evaluation, path", "{output: evaluations, path"),
            "steps.evaluate.property_files.EvaluationReport.output",
            "is written to output 'evaluations', which the step does not have",
        ),
    ],
)
def test_validation_names_the_field(
    project: Path, edit: tuple[str, str], field: str, words: str
) -> None:
    path = write(project, "gated.yaml", PIPELINE.replace(*edit))
    with pytest.raises(PipelineError) as info:
        validate_pipeline(load_pipeline(path), path)
    assert info.value.field == field
    assert words in str(info.value)


def test_branch_steps_wait_for_their_condition(project: Path) -> None:
    pipeline = load_pipeline(write(project, "gated.yaml", PIPELINE))
    assert pipeline.steps["CheckAccuracy"].upstream == ("evaluate",)
    assert pipeline.steps["register"].upstream == ("CheckAccuracy",)
    assert pipeline.steps["stop"].upstream == ("CheckAccuracy",)


def test_the_yaml_writer_round_trips_conditions(project: Path) -> None:
    path = write(project, "gated.yaml", PIPELINE)
    pipeline = load_pipeline(path)
    text = pipeline_yaml(pipeline, project / "again.yaml")
    assert "depends_on" not in text  # waiting for the condition goes without saying
    again = load_pipeline(write(project, "again.yaml", text))
    assert again.steps == pipeline.steps


def test_the_python_api_builds_the_same_pipeline(project: Path) -> None:
    pipeline = Pipeline("gated", base_dir=project)
    evaluate_step = pipeline.processing(
        "evaluate",
        script="scripts/evaluate.py",
        outputs=["evaluation"],
        property_files={"EvaluationReport": {"output": "evaluation", "path": "evaluation.json"}},
    )
    register = pipeline.processing("register", script="scripts/prep.py", outputs=["out"])
    stop = pipeline.fail("stop", "accuracy is too low")
    pipeline.condition(
        "CheckAccuracy",
        [
            {
                "op": ">=",
                "left": evaluate_step.json_get("EvaluationReport", "metrics.accuracy.value"),
                "right": 0.8,
            }
        ],
        if_steps=[register],
        else_steps=[stop],
    )
    pipeline.processing("publish", script="scripts/prep.py", inputs={"x": register.output("out")})
    loaded = load_pipeline(write(project, "gated.yaml", PIPELINE))
    assert pipeline.steps == {name: loaded.steps[name] for name in pipeline.steps}
    with pytest.raises(InvalidStep, match="a JSON path is keys"):
        evaluate_step.json_get("EvaluationReport", "a..b")


def test_a_partial_run_keeps_only_the_branch_steps_it_runs(project: Path) -> None:
    from orchestrator.pipeline.wiring import steps_for_path

    pipeline = load_pipeline(write(project, "gated.yaml", PIPELINE))
    part = steps_for_path(pipeline, ["evaluate", "register"])
    assert set(part.steps) == {"evaluate", "CheckAccuracy", "register"}
    assert part.steps["CheckAccuracy"].else_steps == []
    validate_pipeline(part, project / "gated.yaml")


def test_the_html_dag_draws_the_condition_as_a_pill(project: Path) -> None:
    result = run(project, accuracy(0.73))
    svg = dag_svg(result.steps, [], {}, "t")
    assert 'tone-ok" data-step="CheckAccuracy" data-kind="condition"' in svg
    condition = svg.split('data-step="CheckAccuracy"')[1].split("</g>")[0]
    assert 'rx="24"' in condition  # round-ended: half the box's height
    assert 'rx="7"' in svg.split('data-step="stop"')[1].split("</g>")[0]
    assert "false → Else" in svg
    assert 'class="dag-node status-failed tone-bad" data-step="stop" data-kind="fail"' in svg


def test_a_yaml_kind_is_named_with_its_choices(project: Path) -> None:
    path = write(project, "k.yaml", "name: k\nsteps:\n  s: {script: scripts/prep.py}\n")
    with pytest.raises(InputError, match="allowed: processing, training, condition, fail"):
        load_pipeline(path)


def test_test_script_refuses_a_step_that_runs_no_script(project: Path) -> None:
    from orchestrator.scripttest.runner import resolve_step

    path = write(project, "gated.yaml", PIPELINE)
    with pytest.raises(InputError) as info:
        resolve_step("CheckAccuracy", dag=path)
    assert (
        "'CheckAccuracy' is a condition step: it runs no script to test; steps that do: "
        "evaluate, register, publish" in str(info.value)
    )


def test_validate_contracts_leaves_out_steps_that_run_no_script(project: Path) -> None:
    from orchestrator.dataflow.contract_check import validate_contracts

    path = write(project, "gated.yaml", PIPELINE)
    report = validate_contracts(load_pipeline(path), path)
    assert report.without_contract == ["evaluate", "register", "publish"]
