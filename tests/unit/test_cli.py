"""The command line: exit codes and one-line messages, without an engine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app

from .conftest import write

runner = CliRunner()


def test_bad_pipeline_file_exits_2_with_one_line(project: Path) -> None:
    path = write(
        project, "bad.yaml", "name: x\nsteps:\n  a: {kind: nope, script: scripts/prep.py}\n"
    )
    result = runner.invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "steps.a.kind" in lines[0] and "Traceback" not in result.output


def test_missing_pipeline_file_exits_2(project: Path) -> None:
    result = runner.invoke(app, ["run", "--dag", str(project / "nope.py")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_no_engine_exits_2_and_says_how_to_start_one(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/no-such.sock")
    path = write(
        project, "ok.yaml", "name: x\nsteps:\n  a: {kind: processing, script: scripts/prep.py}\n"
    )
    result = runner.invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2
    assert "no Docker engine answers" in result.output and "dockerd" in result.output
    assert not (project / ".cit").exists()


def test_the_docker_context_in_use_is_the_engine_asked(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `docker context use elsewhere` and no DOCKER_HOST, cit goes where `docker` goes:
    here a socket nobody listens on, so no engine, even if one runs on the default socket."""
    config = project / "docker-config"
    meta = config / "contexts" / "meta" / hashlib.sha256(b"elsewhere").hexdigest()
    meta.mkdir(parents=True)
    endpoint = {"docker": {"Host": f"unix://{project}/elsewhere.sock", "SkipTLSVerify": False}}
    (meta / "meta.json").write_text(
        json.dumps({"Name": "elsewhere", "Metadata": {}, "Endpoints": endpoint})
    )
    (config / "config.json").write_text(json.dumps({"currentContext": "elsewhere"}))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    result = runner.invoke(app, ["clean"])
    assert result.exit_code == 2, result.output
    assert "no Docker engine answers at the Docker context 'elsewhere'" in result.output


def test_invalid_option_exits_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--max-workers 0 is refused for what it is, with a valid pipeline and no engine that
    could give exit code 2 for another reason first."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/no-such.sock")
    path = write(
        project, "ok.yaml", "name: x\nsteps:\n  a: {kind: processing, script: scripts/prep.py}\n"
    )
    result = runner.invoke(
        app, ["run", "--dag", str(path), "--max-workers", "0"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert "Invalid value for '--max-workers': Input should be greater than or equal to 1" in text
    assert "no Docker engine answers" not in text


def test_image_build_rejects_unknown_mode() -> None:
    result = runner.invoke(app, ["image", "build", "--mode", "cloud"])
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert "'cloud' is not one of 'auto', 'registry', 'bootstrap'" in text


PIPELINE = """
name: x
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out]}
  train: {kind: training, script: scripts/train.py,
          inputs: {train: {step: prep, output: out}}, hyperparameters: {depth: 3}}
"""

BROKEN = {
    "cycle": (
        PIPELINE.replace("inputs: {raw: data}", "inputs: {raw: data}, depends_on: [train]"),
        "cycle: ",
    ),
    "unknown-step": (PIPELINE.replace("{step: prep,", "{step: prepare,"), "unknown step"),
    "unknown-output": (PIPELINE.replace("output: out}", "output: gone}"), "no output 'gone'"),
    "missing-script": (PIPELINE.replace("scripts/train.py", "scripts/absent.py"), "no such script"),
    "wrong-type": (PIPELINE.replace("{depth: 3}", "{depth: [3]}"), "string, number or boolean"),
    "unknown-field": (
        PIPELINE.replace("outputs: [out]}", "outputs: [out], cpu: 2}"),
        "unknown field 'cpu'",
    ),
    "syntax": (PIPELINE.replace("{kind: processing", "{kind: [processing"), "YAML syntax error"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_every_loader_error_exits_2_with_file_and_field(project: Path, case: str) -> None:
    text, fragment = BROKEN[case]
    path = write(project, f"{case}.yaml", text)
    result = runner.invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert str(path) in lines[0] and fragment in lines[0], lines[0]
    if case not in ("cycle", "syntax"):
        assert "steps." in lines[0]


def test_python_syntax_error_exits_2_with_line(project: Path) -> None:
    path = write(project, "bad.py", "from orchestrator import Pipeline\npipeline = Pipeline(\n")
    result = runner.invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "syntax error" in result.output


@pytest.mark.parametrize("command", ["run", "test-flow"])
def test_help_names_the_default_image(command: str) -> None:
    from orchestrator.run.settings import RUNNER_IMAGE

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and RUNNER_IMAGE in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give --test-cases FILE, or --input-data PATH (not both)"),
        (["--test-cases", "c.yaml", "--input-data", "d"], "(not both)"),
        (["--input-data", "a=x", "--input-data", "b"], "--input-data: 'b' is not CHANNEL=PATH"),
    ],
)
def test_test_script_needs_cases_or_input_data(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    script = tmp_path / "s.py"
    script.write_text("open('/opt/ml/processing/output/out/x.csv', 'w')\n")
    result = CliRunner().invoke(app, ["test-script", "--script", str(script), *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
