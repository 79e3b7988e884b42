"""Loading pipelines: both file kinds, the DAG style, and one clear error per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.data.contracts import load_contract
from orchestrator.data.schemas import load_schema
from orchestrator.errors import InputError, PipelineError
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.pipeline.model import StepOutput
from orchestrator.run.pipeline_run import load_and_validate

from .conftest import write

PY_OK = """
from orchestrator import Pipeline
pipeline = Pipeline("demo")
prep = pipeline.processing("prep", script="scripts/prep.py", inputs={"raw": "data"},
                           outputs=["train"])
train = pipeline.training("train", script="scripts/train.py",
                          inputs={"train": prep.output("train")}, hyperparameters={"depth": 3})
pipeline.processing("evaluate", script="scripts/evaluate.py",
                    inputs={"model": train.model, "test": prep.output("train")})
"""

YAML_OK = """
name: demo
steps:
  prep:
    kind: processing
    script: scripts/prep.py
    inputs: {raw: data}
    outputs: [train]
  train:
    kind: training
    script: scripts/train.py
    inputs:
      train: {step: prep, output: train}
    hyperparameters: {depth: 3}
  evaluate:
    kind: processing
    script: scripts/evaluate.py
    inputs:
      model: {step: train, output: model}
      test: {step: prep, output: train}
"""

DAG_OK = """
from orchestrator import PipelineDAG
dag = PipelineDAG("demo")
dag.add_node("prep", kind="processing", script="scripts/prep.py", inputs={"raw": "data"},
             outputs=["train"])
dag.add_node("train", kind="training", script="scripts/train.py", hyperparameters={"depth": 3})
dag.add_node("evaluate", kind="processing", script="scripts/evaluate.py")
dag.add_edge("prep", "train")
dag.add_edge("train", "evaluate", output="model", input="model")
dag.add_edge("prep", "evaluate", output="train", input="test")
"""


def test_python_yaml_and_dag_styles_give_the_same_pipeline(project: Path) -> None:
    from_py = load_and_validate(write(project, "p.py", PY_OK))
    from_yaml = load_and_validate(write(project, "p.yaml", YAML_OK))
    from_dag = load_and_validate(write(project, "d.py", DAG_OK))
    assert from_py.steps == from_yaml.steps
    assert from_dag.steps["evaluate"].inputs["model"].source == StepOutput(
        step="train", output="model"
    )
    assert from_dag.steps["train"].inputs["train"].source == StepOutput(step="prep", output="train")
    assert from_py.steps["prep"].script == project / "scripts" / "prep.py"
    assert from_py.steps["evaluate"].upstream == ("train", "prep")


def expect_error(path: Path, *fragments: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_and_validate(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message
    return info.value


def test_cycle_names_its_steps(project: Path) -> None:
    text = YAML_OK.replace("inputs: {raw: data}", "inputs: {raw: {step: evaluate, output: x}}")
    text = text.replace(
        "    script: scripts/evaluate.py\n", "    script: scripts/evaluate.py\n    outputs: [x]\n"
    )
    error = expect_error(write(project, "c.yaml", text), "cycle")
    assert isinstance(error, PipelineError)
    for name in ("prep", "train", "evaluate"):
        assert name in str(error)


def test_unknown_step(project: Path) -> None:
    text = YAML_OK.replace(
        "{step: prep, output: train}\n    hyper", "{step: prepp, output: train}\n    hyper"
    )
    expect_error(write(project, "u.yaml", text), "steps.train.inputs.train", "unknown step 'prepp'")


def test_unknown_output(project: Path) -> None:
    text = YAML_OK.replace("{step: train, output: model}", "{step: train, output: weights}")
    expect_error(
        write(project, "o.yaml", text),
        "steps.evaluate.inputs.model",
        "no output 'weights'",
        "model, output_data",
    )


def test_missing_script(project: Path) -> None:
    text = YAML_OK.replace("scripts/prep.py", "scripts/nope.py")
    expect_error(write(project, "m.yaml", text), "steps.prep.script", "no such script")


def test_missing_local_input(project: Path) -> None:
    text = YAML_OK.replace("{raw: data}", "{raw: missing-folder}")
    expect_error(write(project, "i.yaml", text), "steps.prep.inputs.raw", "no such file or folder")


def test_wrong_type(project: Path) -> None:
    text = YAML_OK.replace("hyperparameters: {depth: 3}", "hyperparameters: [3]")
    expect_error(write(project, "t.yaml", text), "steps.train.hyperparameters", "valid dictionary")


def test_wrong_kind(project: Path) -> None:
    text = YAML_OK.replace("kind: training", "kind: train")
    expect_error(
        write(project, "k.yaml", text),
        "steps.train.kind",
        "'processing', 'training', 'condition' or 'fail'",
    )


def test_unknown_field_lists_allowed(project: Path) -> None:
    text = YAML_OK.replace("    outputs: [train]\n", "    outputs: [train]\n    timeout: 5\n", 1)
    expect_error(
        write(project, "f.yaml", text),
        "steps.prep.timeout",
        "unknown field 'timeout'",
        "timeout_seconds",
    )


def test_unknown_top_level_field(project: Path) -> None:
    expect_error(write(project, "top.yaml", "name: x\nstep: {}\n"), "unknown field 'step'")


def test_yaml_syntax_error_has_line(project: Path) -> None:
    path = write(project, "s.yaml", "name: x\nsteps:\n  a: [unclosed\n  b: 1\n")
    error = expect_error(path, "YAML syntax error", "expected ',' or ']'")
    assert error.line == 4


def test_python_syntax_error_has_file_and_line(project: Path) -> None:
    path = write(project, "bad.py", "from orchestrator import Pipeline\npipeline = Pipeline(\n")
    error = expect_error(path, "syntax error", "'(' was never closed")
    assert error.line == 2


def test_python_api_error_points_at_the_line(project: Path) -> None:
    text = PY_OK.replace('hyperparameters={"depth": 3}', 'hyperparameters={"depth": [3]}')
    error = expect_error(write(project, "hp.py", text), "hyperparameters.depth")
    assert error.line == 5


def test_python_exception_in_pipeline_file(project: Path) -> None:
    path = write(project, "boom.py", "x = 1\nraise RuntimeError('nope')\n")
    error = expect_error(path, "RuntimeError: nope")
    assert error.line == 2


def test_python_file_without_pipeline(project: Path) -> None:
    expect_error(write(project, "none.py", "x = 1\n"), "defines no pipeline")


def test_wrong_suffix_and_missing_file(project: Path) -> None:
    expect_error(write(project, "p.txt", "x"), "allowed: .py, .yaml, .yml")
    expect_error(project / "absent.py", "no such file")


def test_training_with_outputs_is_rejected(project: Path) -> None:
    text = YAML_OK.replace(
        "    hyperparameters: {depth: 3}\n", "    hyperparameters: {depth: 3}\n    outputs: [m]\n"
    )
    expect_error(write(project, "to.yaml", text), "steps.train", "fixed outputs")


def test_duplicate_mount_points(project: Path) -> None:
    text = YAML_OK.replace(
        "inputs: {raw: data}",
        "inputs: {raw: data, other: {path: data, destination: /opt/ml/processing/input/raw}}",
    )
    expect_error(write(project, "dup.yaml", text), "steps.prep.inputs.other", "already uses")


def test_relative_pipeline_path_still_gets_line_numbers(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = PY_OK.replace('hyperparameters={"depth": 3}', 'hyperparameters={"depth": [3]}')
    write(project, "rel.py", text)
    monkeypatch.chdir(project)
    with pytest.raises(InputError) as info:
        load_and_validate(Path("rel.py"))
    assert info.value.line == 5


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("name: x\nsteps: [unclosed\n", 3, "YAML syntax error: expected ',' or ']'"),
        ("name: x\nname: y\n", 2, "duplicate key 'name' (first at line 1)"),
        ("name: x\nsteps: \x00\n", 2, "YAML syntax error: unacceptable character"),
    ],
)
def test_pipeline_contract_and_schema_files_word_yaml_mistakes_alike(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    errors = []
    for load in (load_pipeline, load_contract, load_schema):
        path = tmp_path / f"{load.__name__}.yaml"
        path.write_text(text)
        with pytest.raises(InputError) as info:
            load(path)
        errors.append(info.value)
        assert info.value.file == str(path) and info.value.line == line
    worded = {str(error).split(": ", 1)[1] for error in errors}
    assert len(worded) == 1, worded
    assert worded.pop().startswith(message)


def test_unknown_fields_are_worded_alike(project: Path) -> None:
    text = YAML_OK.replace("name: demo\n", "name: demo\nstepz: {}\n")
    error = expect_error(write(project, "u.yaml", text), "unknown field 'stepz'")
    expected = "stepz: unknown field 'stepz' (did you mean 'steps'?); allowed: name, steps"
    assert expected in str(error)
    text = YAML_OK.replace("    outputs: [train]\n", "    outputs: [train]\n    scrip: x\n", 1)
    error = expect_error(write(project, "f.yaml", text), "unknown field 'scrip'")
    assert "(did you mean 'script'?)" in str(error)


def test_a_bad_inline_contract_in_a_python_pipeline_names_field_and_line(project: Path) -> None:
    path = write(
        project,
        "p.py",
        """
        from orchestrator import ScriptContract
        contract = ScriptContract(entry_point="a.py", expected_input_path={})
        """,
    )
    error = expect_error(path, "expected_input_path: unknown field 'expected_input_path'")
    assert error.line == 2 and "did you mean 'expected_input_paths'" in str(error)
