"""Inputs that once gave a traceback, ran for minutes, or were accepted and misled the run: each
is now refused with exit code 2 and one line naming the file and the field, before anything
(a run directory) is created."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.engines.fake_engine import FakeEngine
from orchestrator.errors import ImageError, InputError
from orchestrator.files import MAX_FILE_BYTES, run_python
from orchestrator.pipeline.loader import load_pipeline
from orchestrator.run.pipeline_run import ensure_images
from orchestrator.sizes import human_size

runner = CliRunner()

BOMB = (
    "["
    + ", ".join(f"&a{n} [{', '.join([f'*a{n - 1}' if n else 'x'] * 9)}]" for n in range(8))
    + "]"
)
"""Eight anchors of nine aliases each, in one flow list: about 350 bytes standing for 9**8
values."""


def step(extra: str = "", kind: str = "processing", name: str = "prep") -> str:
    return f"name: p\nsteps:\n  {name}:\n    kind: {kind}\n    script: s.py\n{extra}"


def with_name(value: str) -> str:
    return step().replace("name: p", f"name: {value}")


@dataclass
class Case:
    """Files to write (name → text), the file and field the message must name, and what it
    must say."""

    files: dict[str, str]
    target: str
    said: list[str]
    command: str = "run"
    fifo: bool = False
    extra: list[str] = field(default_factory=list)


PIPELINES: dict[str, Case] = {
    "deeply nested pipeline": Case({"p.yaml": "[" * 10000}, "p.yaml", ["nested deeper than 64"]),
    "alias bomb in the name": Case(
        {"p.yaml": with_name(BOMB)}, "p.yaml", ["aliases expand to more than 100000 values"]
    ),
    "alias bomb in a kind": Case(
        {"p.yaml": step(kind=BOMB)}, "p.yaml", ["aliases expand to more than 100000 values"]
    ),
    "alias that holds itself": Case(
        {"p.yaml": "name: &a [*a]\nsteps: {}\n"}, "p.yaml", ["refers to a node that holds it"]
    ),
    "NUL in script": Case(
        {"p.yaml": step().replace("script: s.py", 'script: "s\\0.py"')},
        "p.yaml",
        ["steps.prep.script: holds a NUL character"],
    ),
    "env key A=B": Case(
        {"p.yaml": step("    env: {'A=B': v}\n")},
        "p.yaml",
        ["steps.prep.env.A=B: an environment variable name"],
    ),
    "empty env key": Case(
        {"p.yaml": step("    env: {'': v}\n")}, "p.yaml", ["an environment variable name"]
    ),
    "NUL in an env value": Case(
        {"p.yaml": step('    env: {A: "x\\0"}\n')}, "p.yaml", ["steps.prep.env.A: holds a NUL"]
    ),
    "NUL in an argument": Case(
        {"p.yaml": step('    arguments: ["--x", "a\\0"]\n')},
        "p.yaml",
        ["steps.prep.arguments.1: holds a NUL"],
    ),
    "timeout_seconds: true": Case(
        {"p.yaml": step("    timeout_seconds: true\n")},
        "p.yaml",
        ["steps.prep.timeout_seconds: must be a number, not true"],
    ),
    "instance cpus: false": Case(
        {"p.yaml": step("    instance: {cpus: false}\n")},
        "p.yaml",
        ["steps.prep.instance.cpus: must be a number, not false"],
    ),
    "instance count: true": Case(
        {"p.yaml": step("    instance: {count: true}\n")},
        "p.yaml",
        ["steps.prep.instance.count: must be a number, not true"],
    ),
    "an output listed twice": Case(
        {"p.yaml": step("    outputs: [out, out]\n")},
        "p.yaml",
        ["steps.prep.outputs: 'out' is given twice"],
    ),
    "name is a list": Case(
        {"p.yaml": with_name("[a]")}, "p.yaml", ["name: must be text, not a list"]
    ),
    "name is a mapping": Case(
        {"p.yaml": with_name("{a: 1}")}, "p.yaml", ["name: must be text, not a mapping"]
    ),
    "name is null": Case({"p.yaml": with_name("null")}, "p.yaml", ["name: must be text, not null"]),
    "name is a boolean": Case(
        {"p.yaml": with_name("true")}, "p.yaml", ["name: must be text, not a boolean"]
    ),
    "name is empty": Case({"p.yaml": with_name("''")}, "p.yaml", ["name: '': a pipeline name"]),
    "name holds a newline": Case(
        {"p.yaml": with_name('"a\\nb"')}, "p.yaml", ["name: 'a\\nb': a pipeline name"]
    ),
    "name holds a NUL": Case({"p.yaml": with_name('"a\\0b"')}, "p.yaml", ["name: 'a\\x00b'"]),
    "null step key": Case(
        {"p.yaml": step(name="null")}, "p.yaml", ["steps: a step name is text, not null"]
    ),
    "step name with a newline": Case(
        {"p.yaml": step(name='"a\\nb"')}, "p.yaml", ["steps.a\\nb: a step name has letters"]
    ),
    "empty image": Case(
        {"p.yaml": step("    image: ''\n")}, "p.yaml", ["steps.prep.image: must be an image"]
    ),
    "image with a space": Case(
        {"p.yaml": step("    image: 'my image'\n")},
        "p.yaml",
        ["steps.prep.image: must be an image"],
    ),
    "empty hyperparameter name": Case(
        {"p.yaml": step("    hyperparameters: {'': 1}\n", kind="training")},
        "p.yaml",
        ["steps.prep.hyperparameters.: a hyperparameter name"],
    ),
    "deeply nested JSON definition": Case(
        {"p.json": "[" * 100000}, "p.json", ["nested deeper than 64"]
    ),
    "JSON integer of 5000 digits": Case(
        {"p.json": "9" * 5000}, "p.json", ["a value cannot be read"]
    ),
    "YAML integer of 5000 digits": Case(
        {"p.yaml": "name: " + "9" * 5000 + "\n"}, "p.yaml", ["a value cannot be read"]
    ),
    "pipeline file as a FIFO": Case({}, "p.yaml", ["is not a regular file"], fifo=True),
    "Pipeline(None)": Case(
        {"p.py": "from orchestrator import Pipeline\npipeline = Pipeline(None)\n"},
        "p.py",
        ["p.py:2: name: must be text, not null"],
    ),
    "raises a BaseException subclass": Case(
        {"p.py": "class Boom(BaseException):\n    pass\n\nraise Boom('no')\n"},
        "p.py",
        ["p.py:4: Boom: no"],
    ),
    "raises an exception whose str raises": Case(
        {
            "p.py": "class Odd(Exception):\n"
            "    def __str__(self):\n"
            "        raise OSError\n\n"
            "raise Odd()\n"
        },
        "p.py",
        ["p.py:5: Odd: <Odd that cannot be shown>"],
    ),
    "raises a multi-line message with escapes": Case(
        {"p.py": "raise ValueError('a\\nb\\x1b[31m')\n"}, "p.py", ["ValueError: a; b\\x1b[31m"]
    ),
    "calls sys.exit": Case(
        {"p.py": "import sys\nsys.exit(3)\n"}, "p.py", ["called sys.exit(3) while defining"]
    ),
}

CASE_FILE = "test_cases:\n  - name: c\n    input_data: {raw: %s}\n%s"
SCRIPT_TESTS: dict[str, Case] = {
    "deeply nested test-case file": Case({"c.yaml": "[" * 10000}, "c.yaml", ["nested deeper"]),
    "deeply nested contract": Case(
        {"contract.yaml": "[" * 10000}, "contract.yaml", ["nested deeper than 64"]
    ),
    "deeply nested schema": Case(
        {
            "c.yaml": CASE_FILE % ("{synthetic: {schema: s.yaml, rows: 5}}", ""),
            "s.yaml": "[" * 9999,
        },
        "c.yaml",
        ["test_cases.c.input_data.raw", "s.yaml:1: nested deeper than 64"],
    ),
    "hyperparameters for a processing step": Case(
        {"c.yaml": CASE_FILE % ("in.csv", "    hyperparameters: {depth: 3}\n")},
        "c.yaml",
        ["test_cases.c.hyperparameters: 'prep' is a processing step: it takes arguments"],
    ),
    "a FIFO as input": Case(
        {"c.yaml": CASE_FILE % ("fifo", "")},
        "c.yaml",
        ["test_cases.c.input_data.raw.path: is not a regular file or folder"],
        fifo=True,
    ),
    "/dev/zero as input": Case(
        {"c.yaml": CASE_FILE % ("/dev/zero", "")},
        "c.yaml",
        ["test_cases.c.input_data.raw.path: is not a regular file or folder"],
    ),
    "10**12 synthetic rows": Case(
        {"c.yaml": CASE_FILE % ("{synthetic: {schema: s.yaml, rows: 1000000000000}}", "")},
        "c.yaml",
        ["test_cases.c.input_data.raw.synthetic.rows", "less than or equal to 10000000"],
    ),
    "allowed: [10**40] in a schema": Case(
        {
            "c.yaml": CASE_FILE % ("{synthetic: {schema: s.yaml, rows: 5}}", ""),
            "s.yaml": f"columns:\n  a: {{type: integer, allowed: [{10**40}]}}\n",
        },
        "c.yaml",
        ["s.yaml: columns.a.allowed.0: an integer of 41 digits is beyond"],
    ),
    "a boolean among a schema's weights": Case(
        {
            "c.yaml": CASE_FILE % ("{synthetic: {schema: s.yaml, rows: 5}}", ""),
            "s.yaml": "columns:\n  a: {type: integer, allowed: [1, 2], weights: [1, true]}\n",
        },
        "c.yaml",
        ["s.yaml: columns.a.weights.1: must be a number, not true"],
    ),
    "an empty column name": Case(
        {
            "c.yaml": CASE_FILE % ("{synthetic: {schema: s.yaml, rows: 5}}", ""),
            "s.yaml": "columns:\n  '': {type: integer}\n",
        },
        "c.yaml",
        ["s.yaml: columns: '': a column name is non-empty text"],
    ),
    "env key A=B in a case": Case(
        {"c.yaml": CASE_FILE % ("in.csv", "    environment_vars: {'A=B': 1}\n")},
        "c.yaml",
        ["test_cases.c.environment_vars.A=B: an environment variable name"],
    ),
    "NUL in a case's argument": Case(
        {"c.yaml": CASE_FILE % ("in.csv", '    arguments: ["a\\0"]\n')},
        "c.yaml",
        ["test_cases.c.arguments.0: holds a NUL"],
    ),
    "rows: true": Case(
        {"c.yaml": CASE_FILE % ("{synthetic: {schema: s.yaml, rows: true}}", "")},
        "c.yaml",
        ["synthetic.rows: must be a number, not true"],
    ),
}


def write_case(tmp_path: Path, case: Case) -> Path:
    (tmp_path / "s.py").write_text(
        "def main(input_paths, output_paths, environ_vars, job_args):\n    pass\n"
    )
    (tmp_path / "in.csv").write_text("a\n1\n")
    (tmp_path / "s.yaml").write_text("columns:\n  a: {type: integer}\n")
    contract = "contract.yaml" in case.files
    (tmp_path / "pipeline.yaml").write_text(
        step("    inputs: {raw: in.csv}\n    outputs: [out]\n")
        + ("    contract: contract.yaml\n" if contract else "")
    )
    (tmp_path / "c.yaml").write_text(CASE_FILE % ("in.csv", ""))
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    if case.fifo:
        os.mkfifo(tmp_path / ("fifo" if case.files else case.target))
    return tmp_path / case.target


def expect_refusal(tmp_path: Path, case: Case, args: list[str]) -> None:
    target = write_case(tmp_path, case)
    result = runner.invoke(app, [*args, "--cit-dir", str(tmp_path / ".cit")])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{type(result.exception).__name__}: {result.exception}")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {target}"), lines[0]
    for said in case.said:
        assert said in lines[0], lines[0]
    assert not (tmp_path / ".cit").exists(), "nothing is created before the input is checked"


@pytest.mark.parametrize("name", PIPELINES)
def test_a_hostile_pipeline_file_is_refused_in_one_line(tmp_path: Path, name: str) -> None:
    case = PIPELINES[name]
    expect_refusal(tmp_path, case, ["run", "--dag", str(tmp_path / case.target), "-q"])


@pytest.mark.parametrize("name", SCRIPT_TESTS)
def test_a_hostile_test_case_file_is_refused_in_one_line(tmp_path: Path, name: str) -> None:
    case = SCRIPT_TESTS[name]
    args = ["test-script", "--dag", str(tmp_path / "pipeline.yaml"), "--script", "prep"]
    args += ["--test-cases", str(tmp_path / "c.yaml"), "--isolation", "process"]
    expect_refusal(tmp_path, case, args)


def test_a_file_beyond_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match=r"is larger than 10\.0 MiB, the most cit reads"):
        load_pipeline(path)


@pytest.mark.parametrize(
    ("count", "shown"),
    [(123, "123 B"), (18_330, "17.9 KiB"), (MAX_FILE_BYTES, "10.0 MiB"), (3 * 2**30, "3.0 GiB")],
)
def test_a_size_is_written_one_way_in_every_message(count: int, shown: str) -> None:
    assert human_size(count) == shown


def test_ctrl_c_in_a_pipeline_file_still_stops_cit(tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text("raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        run_python(path, "__cit_pipeline__", "defining the pipeline")


def test_a_missing_image_names_the_file_and_the_step_field(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(step("    image: team/model:1\n"))
    pipeline = load_pipeline(path)
    with pytest.raises(ImageError) as caught:
        ensure_images(["team/model:1"], FakeEngine(), None, pipeline.steps.values(), source=path)
    assert str(caught.value).startswith(f"{path}: steps.prep.image: ")
    assert "team/model:1" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["a: 2001-02-30\n", "a: !!binary '%%%'\n", "a: !!python/object/apply:os.system [x]\n"],
)
def test_a_scalar_its_tag_cannot_take_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_pipeline(path)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_printable_messages_keep_their_text() -> None:
    error = InputError("x 'é\u2028\x07'", file="a\nb.yaml", field="steps.a\tb")
    assert str(error) == "a\\nb.yaml: steps.a\\tb: x 'é\\u2028\\x07'"


def test_a_deeply_nested_report_is_refused_by_cit_report(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("[" * 100000)
    out = tmp_path / "out.json"
    args = ["report", "--test-results", str(path), "--format", "json", "--output", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"error: {path}: not a cit report: nested deeper than 64 levels or a number too long"
    )


def test_generate_data_refuses_rows_it_cannot_hold(tmp_path: Path) -> None:
    schema = tmp_path / "s.yaml"
    schema.write_text("columns:\n  a: {type: integer}\n")
    args = ["generate-data", "--schema", str(schema), "--rows", str(10**12)]
    result = runner.invoke(app, [*args, "--output", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "at most 10,000,000 rows" in result.output
    assert not (tmp_path / "out").exists()


def test_an_object_whose_attributes_raise_is_no_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text(
        "import sagemaker  # a file that imports the SDK is searched for its pipelines\n"
        "class Odd:\n"
        "    def __getattr__(self, name):\n"
        "        raise RuntimeError(name)\n\n"
        "odd = Odd()\n"
    )
    with pytest.raises(InputError, match="defines no pipeline"):
        load_pipeline(path)
