"""Unusual mistakes in pipeline files: each one line naming file and field, nothing runs."""

from __future__ import annotations

import itertools
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator import PipelineDAG
from orchestrator.cli.app import app
from orchestrator.errors import InputError, PipelineError
from orchestrator.pipeline.graph import find_cycle
from orchestrator.pipeline.model import Pipeline, StepOutput, build_step
from orchestrator.run.pipeline_run import load_and_validate

from .conftest import write


def expect_error(path: Path, field: str | None, *fragments: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_and_validate(path)
    error = info.value
    message = str(error)
    assert message.startswith(str(path)), message
    assert "\n" not in message, message
    assert error.field == field, message
    for fragment in fragments:
        assert fragment in message, message
    return error


def one_step(step: str, name: str = "a") -> str:
    """A YAML pipeline with one step whose fields are ``step`` (a flow mapping's inside)."""
    return f"name: x\nsteps:\n  {name}: {{{step}}}\n"


PREP = "kind: processing, script: scripts/prep.py"
TRAIN = "kind: training, script: scripts/train.py"

PY_ONE_STEP = """\
from orchestrator import Pipeline
pipeline = Pipeline("demo")
pipeline.processing("a", script="scripts/prep.py")
"""


# sys.exit and Ctrl-C in a pipeline file ---------------------------------------------------


def test_sys_exit_is_an_input_error_with_its_line(project: Path) -> None:
    path = write(project, "exit.py", "import sys\nsys.exit(3)\n")
    error = expect_error(path, None, "called sys.exit(3) while defining the pipeline")
    assert error.line == 2


def test_sys_exit_exits_2_from_the_cli(project: Path) -> None:
    path = write(project, "exit.py", "import sys\nsys.exit(0)\n")
    result = CliRunner().invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2
    assert "called sys.exit(0)" in result.output


def test_keyboard_interrupt_propagates_and_sys_path_is_restored(project: Path) -> None:
    path = write(project, "ctrl_c.py", "raise KeyboardInterrupt\n")
    before = list(sys.path)
    with pytest.raises(KeyboardInterrupt):
        load_and_validate(path)
    assert sys.path == before


def test_multi_line_exception_message_becomes_one_line(project: Path) -> None:
    path = write(project, "multi.py", "raise ValueError('first\\nsecond')\n")
    expect_error(path, None, "ValueError: first; second")


# Inputs that must not end in a traceback --------------------------------------------------


def test_home_of_unknown_user(project: Path) -> None:
    path = write(project, "home.yaml", one_step("kind: processing, script: ~cit-no-such-user/x.py"))
    expect_error(path, "steps.a.script", "cannot expand ~cit-no-such-user/x.py", "no such user")


def test_non_utf8_yaml_names_encoding_and_line(project: Path) -> None:
    path = project / "latin.yaml"
    path.write_bytes(b"name: x\nsteps:\n  a: {kind: processing, script: caf\xe9.py}\n")
    error = expect_error(path, None, "not valid UTF-8", "0xe9")
    assert error.line == 3


def test_non_utf8_python_names_encoding_and_line(project: Path) -> None:
    path = project / "latin.py"
    path.write_bytes(b"x = 1\nname = 'caf\xe9'\n")
    error = expect_error(path, None, "not valid UTF-8", "coding")
    assert error.line == 2


def test_python_file_with_declared_encoding_loads(project: Path) -> None:
    path = project / "declared.py"
    text = "# -*- coding: latin-1 -*-\n" + PY_ONE_STEP.replace("demo", "caf\xe9")
    path.write_bytes(text.encode("latin-1"))
    assert load_and_validate(path).name == "caf\xe9"


def test_python_file_with_bom_loads(project: Path) -> None:
    path = project / "bom.py"
    path.write_bytes(b"\xef\xbb\xbf" + PY_ONE_STEP.encode())
    assert list(load_and_validate(path).steps) == ["a"]


def test_yaml_file_with_bom_loads(project: Path) -> None:
    path = project / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + one_step(PREP).encode())
    assert list(load_and_validate(path).steps) == ["a"]


def test_yaml_control_character_has_line(project: Path) -> None:
    path = write(project, "nul.yaml", "name: x\nsteps:\n  a: {kind: processing\x00}\n")
    error = expect_error(path, None, "YAML syntax error", "unacceptable character")
    assert error.line == 3


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[Path]]:
    """Paths added to the set raise PermissionError when looked at, as for a non-root user."""
    paths: set[Path] = set()
    real_stat = Path.stat

    def stat(self: Path, **kwargs: bool) -> os.stat_result:
        if self in paths:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    yield paths


def test_unreadable_pipeline_file(project: Path, unreadable: set[Path]) -> None:
    path = write(project, "p.yaml", one_step(PREP))
    unreadable.add(path)
    expect_error(path, None, "cannot be read: Permission denied")


def test_pipeline_file_that_cannot_be_read(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(project, "p.py", PY_ONE_STEP)

    real_open = os.open

    def refusing_open(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    expect_error(path, None, "cannot be read: Permission denied")


def test_unreadable_input_script_and_source_dir(project: Path, unreadable: set[Path]) -> None:
    unreadable.add(project / "data")
    path = write(project, "in.yaml", one_step(PREP + ", inputs: {raw: data}"))
    expect_error(path, "steps.a.inputs.raw", "cannot read", "Permission denied")
    unreadable.add(project / "scripts" / "prep.py")
    path = write(project, "sc.yaml", one_step(PREP))
    expect_error(path, "steps.a.script", "cannot read", "Permission denied")
    unreadable.add(project / "scripts")
    path = write(project, "sd.yaml", one_step(PREP + ", source_dir: scripts"))
    expect_error(path, "steps.a.source_dir", "cannot read", "Permission denied")


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_timeout_must_be_finite(project: Path, value: str) -> None:
    path = write(project, "t.yaml", one_step(f"{PREP}, timeout_seconds: {value}"))
    expect_error(path, "steps.a.timeout_seconds")


def test_timeout_limits_are_sagemakers(project: Path) -> None:
    path = write(project, "p.yaml", one_step(f"{PREP}, timeout_seconds: 604801"))
    expect_error(path, "steps.a.timeout_seconds", "at most 604800 (7 days)", "processing")
    path = write(project, "t.yaml", one_step(f"{TRAIN}, timeout_seconds: 2419201"))
    expect_error(path, "steps.a.timeout_seconds", "at most 2419200 (28 days)", "training")
    path = write(project, "ok.yaml", one_step(f"{TRAIN}, timeout_seconds: 2419200"))
    assert load_and_validate(path).steps["a"].timeout_seconds == 2419200


def test_instance_cpus_must_be_finite(project: Path) -> None:
    path = write(project, "c.yaml", one_step(f"{PREP}, instance: {{cpus: .nan}}"))
    expect_error(path, "steps.a.instance.cpus")


DAG_HEAD = """\
from orchestrator import PipelineDAG
dag = PipelineDAG("demo")
"""


@pytest.mark.parametrize(
    ("fields", "field", "allowed"),
    [
        ("inputs=5", "steps.a.inputs", "mapping"),
        ("depends_on=5", "steps.a.depends_on", "list of step names"),
        ("depends_on='b'", "steps.a.depends_on", "list of step names"),
        ("outputs=5", "steps.a.outputs", "list of output names"),
    ],
)
def test_dag_node_field_types(project: Path, fields: str, field: str, allowed: str) -> None:
    text = DAG_HEAD + f"dag.add_node('a', script='scripts/prep.py', {fields})\n"
    error = expect_error(write(project, "d.py", text), field, allowed)
    assert error.line == 3


def test_dag_nodes_changed_after_add_node_are_checked_again(project: Path) -> None:
    text = DAG_HEAD + "dag.add_node('a', script='scripts/prep.py')\ndag.nodes['a']['inputs'] = 5\n"
    expect_error(write(project, "d.py", text), "steps.a.inputs", "mapping")


def test_type_error_while_converting_a_dag_is_an_input_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: PipelineDAG) -> Pipeline:
        raise TypeError("'int' object is not iterable")

    monkeypatch.setattr(PipelineDAG, "to_pipeline", broken)
    text = DAG_HEAD + "dag.add_node('a', script='scripts/prep.py')\n"
    expect_error(write(project, "d.py", text), None, "not iterable")


def test_long_chain_defined_downstream_first(project: Path) -> None:
    count = 1200
    lines = ["name: chain", "steps:"]
    for i in reversed(range(count)):
        ups = f", depends_on: [s{i - 1}]" if i else ""
        lines.append(f"  s{i}: {{{PREP}{ups}}}")
    pipeline = load_and_validate(write(project, "chain.yaml", "\n".join(lines) + "\n"))
    assert len(pipeline.steps) == count


def test_cycle_in_a_long_ring_keeps_the_contract(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("")
    count = 1500
    steps = {
        f"s{i}": build_step(
            f"s{i}",
            "processing",
            {"script": str(script), "depends_on": [f"s{(i - 1) % count}"]},
            tmp_path,
        )
        for i in reversed(range(count))
    }
    cycle = find_cycle(steps)
    assert cycle is not None and len(cycle) == count + 1 and cycle[0] == cycle[-1]
    for upstream, downstream in itertools.pairwise(cycle):
        assert upstream in steps[downstream].upstream


# Names that clash in job names and on case-insensitive file systems -----------------------


@pytest.mark.parametrize(("first", "second"), [("a_b", "a-b"), ("a", "A"), ("Prep_1", "prep-1")])
def test_step_names_differing_only_in_case_or_separator(
    project: Path, first: str, second: str
) -> None:
    text = f"name: x\nsteps:\n  {first}: {{{PREP}}}\n  {second}: {{{PREP}}}\n"
    error = expect_error(write(project, "n.yaml", text), f"steps.{second}", f"'{first}'")
    assert isinstance(error, PipelineError)
    assert f"'{second}'" in str(error)


# Fan-in in the node-and-edge style --------------------------------------------------------


FAN_IN = (
    DAG_HEAD
    + """\
dag.add_node("b", script="scripts/prep.py", outputs=["out"])
dag.add_node("c", script="scripts/prep.py", outputs=["out", "extra"])
dag.add_node("d", script="scripts/evaluate.py")
dag.add_edge("b", "d")
"""
)


def test_two_edges_wiring_the_same_output_name(project: Path) -> None:
    path = write(project, "fan.py", FAN_IN + 'dag.add_edge("c", "d")\n')
    error = expect_error(
        path, "steps.d.inputs.out", "b -> d", "c -> d", "add_edge(", "output=", "input="
    )
    assert error.line == 7


def test_two_explicit_edges_to_one_input(project: Path) -> None:
    text = FAN_IN + 'dag.add_edge("c", "d", output="extra", input="out")\n'
    expect_error(write(project, "fan.py", text), "steps.d.inputs.out", "b -> d", "c -> d")


def test_named_wires_make_fan_in_work(project: Path) -> None:
    text = (
        FAN_IN.replace('dag.add_edge("b", "d")', 'dag.add_edge("b", "d", output="out", input="b")')
        + 'dag.add_edge("c", "d", output="out", input="c")\n'
    )
    pipeline = load_and_validate(write(project, "fan.py", text))
    inputs = pipeline.steps["d"].inputs
    assert inputs["b"].source == StepOutput(step="b", output="out")
    assert inputs["c"].source == StepOutput(step="c", output="out")


def test_node_input_and_edge_for_the_same_name(project: Path) -> None:
    text = FAN_IN.replace('evaluate.py"', 'evaluate.py", inputs={"out": "data"}')
    expect_error(write(project, "fan.py", text), "steps.d.inputs.out", "add_node", "b -> d")


def test_same_edge_twice_is_harmless(project: Path) -> None:
    pipeline = load_and_validate(write(project, "fan.py", FAN_IN + 'dag.add_edge("b", "d")\n'))
    assert pipeline.steps["d"].upstream == ("b",)


def test_edge_input_without_output(project: Path) -> None:
    text = FAN_IN + 'dag.add_edge("c", "d", input="x")\n'
    expect_error(write(project, "fan.py", text), None, "input='x' needs output=")


# Mount points -----------------------------------------------------------------------------


def test_processing_input_named_code_clashes_with_the_code(project: Path) -> None:
    path = write(project, "m.yaml", one_step(PREP + ", inputs: {code: data}"))
    expect_error(path, "steps.a.inputs.code", "/opt/ml/processing/input/code", "the step's code")


def test_image_only_processing_step_may_have_an_input_named_code(project: Path) -> None:
    path = write(project, "m.yaml", one_step("kind: processing, image: x, inputs: {code: data}"))
    assert "code" in load_and_validate(path).steps["a"].inputs


IN = "/opt/ml/processing/input"


@pytest.mark.parametrize(
    ("inputs", "field", "fragment"),
    [
        (f"{{raw: data, sub: {{path: data, destination: {IN}/raw/x}}}}", "sub", "inside"),
        (f"{{raw: data, all: {{path: data, destination: {IN}}}}}", "all", "around"),
        (f"{{raw: data, again: {{path: data, destination: {IN}/raw/}}}}", "again", "already uses"),
    ],
)
def test_nested_mounts(project: Path, inputs: str, field: str, fragment: str) -> None:
    path = write(project, "m.yaml", one_step(f"{PREP}, inputs: {inputs}"))
    expect_error(path, f"steps.a.inputs.{field}", fragment, "/opt/ml/processing/input")


def test_output_inside_an_input(project: Path) -> None:
    outputs = "outputs: {o: {destination: /opt/ml/processing/input/raw/o}}"
    path = write(project, "m.yaml", one_step(f"{PREP}, inputs: {{raw: data}}, {outputs}"))
    expect_error(path, "steps.a.outputs.o", "inside /opt/ml/processing/input/raw", "inputs.raw")


@pytest.mark.parametrize(
    ("destination", "fragment"),
    [("out/o", "absolute path"), ("/opt/ml/processing/../o", "'..'")],
)
def test_output_destination_is_an_absolute_container_path(
    project: Path, destination: str, fragment: str
) -> None:
    path = write(
        project, "o.yaml", one_step(f"{PREP}, outputs: {{o: {{destination: {destination}}}}}")
    )
    expect_error(path, "steps.a.outputs.o.destination", fragment)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ("inputs: {raw: {path: data, destination: /data/raw}}", "inputs.raw"),
        ("outputs: {o: {destination: /opt/ml/model}}", "outputs.o"),
        ("outputs: {o: {destination: /opt/ml/processing}}", "outputs.o"),
    ],
)
def test_processing_destinations_are_under_opt_ml_processing(
    project: Path, fields: str, field: str
) -> None:
    path = write(project, "d.yaml", one_step(f"{PREP}, {fields}"))
    expect_error(path, f"steps.a.{field}.destination", "/opt/ml/processing/")


def test_training_inputs_have_no_destination(project: Path) -> None:
    inputs = "inputs: {train: {path: data, destination: /opt/ml/input/data/other}}"
    path = write(project, "t.yaml", one_step(f"{TRAIN}, {inputs}"))
    expect_error(path, "steps.a.inputs.train.destination", "/opt/ml/input/data/train", "remove")


# Sockets, pipes and devices ---------------------------------------------------------------


def test_fifo_input_is_rejected(project: Path) -> None:
    os.mkfifo(project / "pipe")
    path = write(project, "f.yaml", one_step(PREP + ", inputs: {raw: pipe}"))
    expect_error(path, "steps.a.inputs.raw", "named pipe", "regular file or a folder")


def test_device_input_is_rejected(project: Path) -> None:
    path = write(project, "d.yaml", one_step(PREP + ", inputs: {raw: /dev/null}"))
    expect_error(path, "steps.a.inputs.raw", "character device")


def test_socket_input_is_rejected(project: Path) -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"{folder}/s.sock")
            path = write(project, "s.yaml", one_step(PREP + f", inputs: {{raw: {folder}/s.sock}}"))
            expect_error(path, "steps.a.inputs.raw", "a socket")
        finally:
            sock.close()


# Duplicate YAML keys ----------------------------------------------------------------------


def test_duplicate_step_is_an_error_with_its_line(project: Path) -> None:
    text = f"name: x\nsteps:\n  a: {{{PREP}}}\n  b: {{{PREP}}}\n  a: {{{TRAIN}}}\n"
    error = expect_error(write(project, "dup.yaml", text), None, "duplicate key 'a'", "line 3")
    assert error.line == 5


def test_duplicate_field_inside_a_step(project: Path) -> None:
    text = "name: x\nsteps:\n  a:\n    kind: processing\n    script: scripts/prep.py\n"
    text += "    kind: training\n"
    error = expect_error(write(project, "dup.yaml", text), None, "duplicate key 'kind'")
    assert error.line == 6


def test_yaml_merge_keys_still_override(project: Path) -> None:
    text = (
        "name: x\nsteps:\n  b: &base {kind: processing, script: scripts/prep.py}\n"
        "  a: {<<: *base, script: scripts/train.py}\n"
    )
    pipeline = load_and_validate(write(project, "merge.yaml", text))
    assert pipeline.steps["a"].script == project / "scripts" / "train.py"


# Instance types ---------------------------------------------------------------------------


def test_unknown_instance_type_suggests_known_ones(project: Path) -> None:
    path = write(project, "i.yaml", one_step(PREP + ", instance: {type: ml.m5.larg}"))
    expect_error(path, "steps.a.instance.type", "unknown instance type 'ml.m5.larg'", "ml.m5.large")


def test_unknown_instance_type_without_close_match_lists_some(project: Path) -> None:
    path = write(project, "i.yaml", one_step(PREP + ", instance: {type: gpu-box}"))
    expect_error(path, "steps.a.instance.type", "ml.t3.medium", "instance.cpus and instance.memory")


def test_any_instance_type_with_cpus_and_memory(project: Path) -> None:
    instance = "instance: {type: ml.trn1.2xlarge, cpus: 2, memory: 1g}"
    path = write(project, "i.yaml", one_step(f"{PREP}, {instance}"))
    assert load_and_validate(path).steps["a"].instance.type == "ml.trn1.2xlarge"
    path = write(
        project, "j.yaml", one_step(f"{PREP}, instance: {{type: ml.trn1.2xlarge, cpus: 2}}")
    )
    expect_error(path, "steps.a.instance.type", "unknown instance type")


# S3 inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["s3:/bucket/raw", "{path: 's3://b/raw'}", "S3://Bucket/k"])
def test_a_malformed_s3_uri_says_why(project: Path, value: str) -> None:
    path = write(project, "s3.yaml", one_step(f"{PREP}, inputs: {{raw: {value}}}"))
    expect_error(path, "steps.a.inputs.raw", "not a valid S3 URI")


def test_a_malformed_s3_uri_from_python_has_its_line(project: Path) -> None:
    text = PY_ONE_STEP.replace('prep.py")', 'prep.py", inputs={"raw": "s3://no_such/raw"})')
    error = expect_error(write(project, "s3.py", text), "steps.a.inputs.raw", "bucket name")
    assert error.line == 3


# Messages that say what is allowed --------------------------------------------------------


@pytest.mark.parametrize("value", ["{step: b}", "5", "{output: o}", "{destination: /opt/ml/x}"])
def test_input_of_the_wrong_shape(project: Path, value: str) -> None:
    path = write(project, "i.yaml", one_step(f"{PREP}, inputs: {{x: {value}}}"))
    error = expect_error(
        path,
        "steps.a.inputs.x",
        "an input is a path, an s3://bucket/prefix URI, or {step: NAME, output: NAME}",
    )
    assert "LocalSource" not in str(error) and "StepOutput" not in str(error)


def test_input_with_path_and_step(project: Path) -> None:
    path = write(project, "i.yaml", one_step(f"{PREP}, inputs: {{x: {{path: data, step: b}}}}"))
    expect_error(path, "steps.a.inputs.x", "either 'path' or 'step' and 'output'")


def test_unknown_field_of_an_input_lists_the_inputs_fields(project: Path) -> None:
    path = write(project, "i.yaml", one_step(f"{PREP}, inputs: {{x: {{path: data, dest: /x}}}}"))
    error = expect_error(
        path,
        "steps.a.inputs.x.dest",
        "unknown field 'dest'; allowed: path, step, output, destination",
    )
    assert "timeout_seconds" not in str(error)


def test_unknown_field_of_an_output_lists_the_outputs_fields(project: Path) -> None:
    path = write(project, "o.yaml", one_step(f"{PREP}, outputs: {{o: {{dest: /x}}}}"))
    expect_error(path, "steps.a.outputs.o.dest", "unknown field 'dest'; allowed: destination")


def test_step_name_rule_in_words(project: Path) -> None:
    path = write(project, "n.yaml", one_step(PREP, name="'-bad name'"))
    error = expect_error(path, "steps.-bad name", "letters, digits, '-' and '_'", "80 characters")
    assert "^[" not in str(error)


def test_channel_name_rule_in_words(project: Path) -> None:
    path = write(project, "c.yaml", one_step(f"{PREP}, outputs: ['a/b']"))
    error = expect_error(path, "steps.a.outputs.a/b", "letters, digits", "64 characters")
    assert "^[" not in str(error)


def test_memory_rule_in_words(project: Path) -> None:
    path = write(project, "m.yaml", one_step(f"{PREP}, instance: {{memory: lots}}"))
    expect_error(path, "steps.a.instance.memory", "512m")


def test_step_handle_as_input_names_the_field(project: Path) -> None:
    text = PY_ONE_STEP.replace('pipeline.processing("a"', 'b = pipeline.processing("a"')
    text += 'pipeline.processing("c", script="scripts/prep.py", inputs={"x": b})\n'
    error = expect_error(write(project, "h.py", text), "steps.c.inputs.x", "a.output('...')")
    assert error.line == 4


# Folders where files belong ---------------------------------------------------------------


def test_dag_that_is_a_folder(project: Path) -> None:
    expect_error(project / "scripts", None, "is a folder, not a file")


def test_script_that_is_a_folder(project: Path) -> None:
    path = write(project, "f.yaml", one_step("kind: processing, script: scripts"))
    expect_error(path, "steps.a.script", "is a folder, not a file")


def test_source_dir_that_is_a_file(project: Path) -> None:
    path = write(project, "f.yaml", one_step(f"{PREP}, source_dir: scripts/prep.py"))
    expect_error(path, "steps.a.source_dir", "is not a folder")


# PipelineDAG.from_file --------------------------------------------------------------------


def test_pipeline_dag_from_file_loads_python_and_yaml(project: Path) -> None:
    text = DAG_HEAD + (
        'dag.add_node("prep", script="scripts/prep.py", outputs=["train"])\n'
        'dag.add_node("train", kind="training", script="scripts/train.py")\n'
        'dag.add_edge("prep", "train")\n'
    )
    from_py = PipelineDAG.from_file(write(project, "dag.py", text))
    assert isinstance(from_py, Pipeline) and from_py.name == "demo"
    assert from_py.steps["train"].inputs["train"].source == StepOutput(step="prep", output="train")
    from_yaml = PipelineDAG.from_file(str(write(project, "p.yaml", one_step(PREP))))
    assert list(from_yaml.steps) == ["a"] and from_yaml.base_dir == project.resolve()
    with pytest.raises(InputError, match="no such file"):
        PipelineDAG.from_file(project / "absent.yaml")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ("env: {A: null}", "steps.a.env.A"),
        ("env: {A: [1]}", "steps.a.env.A"),
        ("arguments: [--x, null]", "steps.a.arguments.1"),
    ],
)
def test_env_and_arguments_refuse_what_is_not_a_scalar(
    project: Path, fields: str, field: str
) -> None:
    path = write(project, "e.yaml", one_step(f"{PREP}, {fields}"))
    expect_error(path, field, "must be a string, number or boolean")


def test_env_numbers_and_booleans_become_text(project: Path) -> None:
    path = write(project, "e.yaml", one_step(f"{PREP}, env: {{A: 3, B: true}}"))
    assert load_and_validate(path).steps["a"].env == {"A": "3", "B": "True"}
