"""``cit validate-contracts`` and the argument checks of ``cit test-flow``, through the CLI:
exit codes, one-line errors and the JSON report. No engine is ever contacted."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular" / "pipeline.py"

FILES = {
    "scripts/prep.py": """
        import os
        label = os.environ["LABEL"]
        open("/opt/ml/processing/output/out/data.csv", "w").write(label)
        """,
    "scripts/use.py": 'open("/opt/ml/processing/input/data/data.csv").read()\n',
    "contracts/prep.yaml": """
        entry_point: prep.py
        expected_output_paths: {out: /opt/ml/processing/output/out}
        required_env_vars: [LABEL]
        """,
    "contracts/use.yaml": """
        entry_point: use.py
        expected_input_paths: {data: /opt/ml/processing/input/data}
        """,
    "pipeline.yaml": """
        name: small
        steps:
          prep: {kind: processing, script: scripts/prep.py, contract: contracts/prep.yaml,
                 env: {LABEL: label}}
          use: {kind: processing, script: scripts/use.py, contract: contracts/use.yaml,
                inputs: {data: {step: prep, output: out}}}
        """,
}


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    """A clean two-step pipeline with contracts: prep → use."""
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return tmp_path / "pipeline.yaml"


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach a container engine fails the test."""

    def refuse() -> None:
        raise AssertionError("the engine was contacted")

    monkeypatch.setattr(cli, "connect", refuse)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def one_line(result: Result) -> str:
    """The only non-empty line of the output; fails on a traceback or more lines."""
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def validate(pipeline: Path, *extra: str) -> Result:
    return runner.invoke(app, ["validate-contracts", "--dag", str(pipeline), *extra])


# --- validate-contracts -----------------------------------------------------------------------


def test_example_pipeline_exits_0() -> None:
    result = validate(EXAMPLE)
    assert result.exit_code == 0, result.output
    assert "3 step(s) checked: 0 error(s)" in result.output


def test_clean_pipeline_exits_0(pipeline: Path) -> None:
    result = validate(pipeline)
    assert result.exit_code == 0, result.output
    assert one_line(result) == "2 step(s) checked: 0 error(s), 0 warning(s)"


def test_error_level_issue_exits_1(pipeline: Path, tmp_path: Path) -> None:
    edit(pipeline, "env: {LABEL: label}", "env: {}")
    report = tmp_path / "report.json"
    result = validate(pipeline, "--output-report", str(report))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "1 error(s), 0 warning(s)" in result.output
    assert "LABEL" in result.output and "[missing_env_var]" in result.output
    data = json.loads(report.read_text())
    assert data["ok"] is False and data["exit_code"] == 1 and data["checked"] == ["prep", "use"]
    (issue,) = data["issues"]
    assert issue["rule"] == "missing_env_var" and issue["severity"] == "error"
    assert issue["step"] == "prep" and issue["hint"]
    assert Path(issue["file"]).resolve() == (tmp_path / "contracts/prep.yaml").resolve()


def test_warnings_alone_exit_0(pipeline: Path) -> None:
    edit(pipeline.parent / "contracts/use.yaml", "use.py", "other.py")
    result = validate(pipeline)
    assert result.exit_code == 0, result.output
    assert "0 error(s), 1 warning(s)" in result.output


def test_output_report_is_json(pipeline: Path, tmp_path: Path) -> None:
    report = tmp_path / "new" / "folder" / "report.json"
    result = validate(pipeline, "--output-report", str(report))
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["pipeline"] == "small" and data["pipeline_file"] == str(pipeline)
    assert data["ok"] is True and data["issues"] == [] and data["without_contract"] == []


def test_output_report_refuses_a_folder(pipeline: Path, tmp_path: Path) -> None:
    result = validate(pipeline, "--output-report", str(tmp_path))
    assert result.exit_code == 2
    line = one_line(result)
    assert "--output-report" in line and "is a folder" in line and str(tmp_path) in line


CURSUS_PREP = """
from cursus.core.base.contract_base import ScriptContract

PREP_CONTRACT = ScriptContract(
    entry_point="prep.py",
    expected_input_paths={},
    expected_output_paths={"out": "/opt/ml/processing/output/out"},
    required_env_vars=["LABEL"],
    framework_requirements={"pandas": ">=1.3.0"},
)
"""


def cursus_contract(pipeline: Path, text: str = CURSUS_PREP) -> Path:
    """prep's contract as a cursus Python file (cursus is not installed)."""
    path = pipeline.parent / "contracts/prep_contract.py"
    path.write_text(text, encoding="utf-8")
    edit(pipeline, "contracts/prep.yaml", "contracts/prep_contract.py")
    return path


def test_a_cursus_contract_is_read_as_data(pipeline: Path, tmp_path: Path) -> None:
    cursus_contract(pipeline)
    report = tmp_path / "report.json"
    result = validate(pipeline, "--output-report", str(report))
    assert result.exit_code == 0, result.output
    assert "framework requirements of prep: pandas>=1.3.0" in result.output
    assert "2 step(s) checked: 0 error(s), 0 warning(s)" in result.output
    assert json.loads(report.read_text())["framework_requirements"] == {
        "prep": {"pandas": ">=1.3.0"}
    }


def test_framework_requirements_the_runner_image_lacks_are_warnings(
    pipeline: Path, tmp_path: Path
) -> None:
    cursus_contract(pipeline, CURSUS_PREP.replace('">=1.3.0"', '"<2", "flask": ">=2"'))
    report = tmp_path / "report.json"
    result = validate(pipeline, "--output-report", str(report))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 2 warning(s)" in result.output
    issues = json.loads(report.read_text())["issues"]
    assert [(i["rule"], i["severity"], i["step"]) for i in issues] == [
        ("framework_requirement", "warning", "prep")
    ] * 2
    assert "requires pandas<2; cit's runner image has pandas 2." in issues[0]["description"]
    assert "requires flask, which cit's runner image does not have" in issues[1]["description"]


def test_a_step_with_its_own_image_is_not_compared(pipeline: Path) -> None:
    cursus_contract(pipeline, CURSUS_PREP.replace('">=1.3.0"', '"<2"'))
    edit(pipeline, "script: scripts/prep.py,", "script: scripts/prep.py, image: my-image:1,")
    result = validate(pipeline)
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


def test_a_cursus_contract_value_that_is_not_a_literal_exits_2(pipeline: Path) -> None:
    path = cursus_contract(pipeline, CURSUS_PREP.replace('["LABEL"]', "LABELS"))
    result = validate(pipeline)
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert f"{path}:8: required_env_vars: 'LABELS' (not a constant" in line, line


def test_missing_pipeline_file_exits_2(tmp_path: Path) -> None:
    absent = tmp_path / "absent.yaml"
    result = validate(absent)
    assert result.exit_code == 2
    line = one_line(result)
    assert str(absent) in line and "no such file" in line


def test_bad_pipeline_file_exits_2(pipeline: Path) -> None:
    edit(pipeline, "env: {LABEL: label}", "env: {LABEL: label}, cpu: 2")
    result = validate(pipeline)
    assert result.exit_code == 2
    line = one_line(result)
    assert str(pipeline) in line and "steps.prep" in line and "unknown field 'cpu'" in line


def test_contract_with_an_unknown_field_exits_2(pipeline: Path) -> None:
    contract = pipeline.parent / "contracts/prep.yaml"
    edit(contract, "required_env_vars:", "required_env_var:")
    result = validate(pipeline)
    assert result.exit_code == 2
    line = one_line(result)
    assert "contracts/prep.yaml" in line and "required_env_var" in line
    assert "unknown field" in line and "did you mean 'required_env_vars'?" in line
    assert "allowed:" in line


def test_error_text_in_brackets_is_printed_as_written(pipeline: Path) -> None:
    contract = pipeline.parent / "contracts/prep.yaml"
    contract.write_text(contract.read_text() + "'[/oops]': 1\n")
    result = validate(pipeline)
    assert result.exit_code == 2
    assert "[/oops]: unknown field" in one_line(result)


def test_missing_contract_file_exits_2(pipeline: Path) -> None:
    edit(pipeline, "contracts/use.yaml", "contracts/absent.yaml")
    result = validate(pipeline)
    assert result.exit_code == 2
    line = one_line(result)
    assert "contracts/absent.yaml" in line and "no such contract file" in line


def test_contract_with_a_missing_schema_file_exits_2(pipeline: Path) -> None:
    contract = pipeline.parent / "contracts/use.yaml"
    contract.write_text(contract.read_text() + "input_schemas: {data: ../schemas/absent.yaml}\n")
    result = validate(pipeline)
    assert result.exit_code == 2
    line = one_line(result)
    assert "schemas/absent.yaml" in line and "no such schema file" in line


def test_bad_contract_in_a_python_pipeline_exits_2(pipeline: Path) -> None:
    python = pipeline.with_name("pipeline.py")
    python.write_text(
        "from orchestrator import Pipeline\n"
        "pipeline = Pipeline('small')\n"
        "pipeline.processing('prep', script='scripts/prep.py', contract='contracts/prep.yaml')\n"
    )
    edit(pipeline.parent / "contracts/prep.yaml", "entry_point: prep.py", "entry_point: [prep]")
    result = validate(python)
    assert result.exit_code == 2
    line = one_line(result)
    assert "contracts/prep.yaml" in line and "entry_point" in line


# --- test-flow: arguments checked before any engine is contacted ------------------------------


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (["--path", "prep"], ["--path", "fewer than two steps"]),
        (["--path", "prep, "], ["--path", "fewer than two steps"]),
        (["--path", "prep,nope"], ["--path", "no step named 'nope'", "steps: prep, use"]),
        (["--path", "use,prep"], ["--path", "'use' does not feed 'prep'"]),
        (["--path", "prep,use", "--all-paths"], ["--path and --all-paths"]),
        (["--output-report", "."], ["--output-report", "is a folder"]),
    ],
)
def test_test_flow_argument_errors_exit_2(
    pipeline: Path, options: list[str], fragments: list[str]
) -> None:
    cit_dir = pipeline.parent / ".cit"
    result = runner.invoke(
        app, ["test-flow", "--dag", str(pipeline), "--cit-dir", str(cit_dir), *options]
    )
    assert result.exit_code == 2, result.output
    line = one_line(result)
    assert line.startswith("error:")
    for fragment in fragments:
        assert fragment in line, line
    assert not cit_dir.exists()


def test_test_flow_with_a_bad_pipeline_exits_2(pipeline: Path) -> None:
    edit(pipeline, "{step: prep, output: out}", "{step: prep, output: gone}")
    result = runner.invoke(app, ["test-flow", "--dag", str(pipeline), "--path", "prep,use"])
    assert result.exit_code == 2
    line = one_line(result)
    assert "steps.use.inputs.data" in line and "no output 'gone'" in line


# --- test-flow on the fake engine -------------------------------------------------------------


def fake_engine(monkeypatch: pytest.MonkeyPatch, csv: str) -> FakeEngine:
    """The engine ``cit`` connects to: prep writes ``csv``; no signal handlers are installed."""
    behaviour = FakeBehaviour(writes={"/opt/ml/processing/output/out/data.csv": csv})
    fake = FakeEngine({"prep": behaviour}, images={RUNNER_IMAGE: "sha256:runner"})
    monkeypatch.setattr(cli, "connect", lambda: fake)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    return fake


def invoke_test_flow(pipeline: Path, *extra: str) -> Result:
    """``cit test-flow`` on ``pipeline``, its consumer given a schema that needs 'label'."""
    folder = pipeline.parent
    (folder / "schemas").mkdir()
    (folder / "schemas/in.yaml").write_text("format: csv\ncolumns: {id: integer, label: integer}\n")
    contract = folder / "contracts/use.yaml"
    contract.write_text(contract.read_text() + "input_schemas: {data: ../schemas/in.yaml}\n")
    options = ["--dag", str(pipeline), "--cit-dir", str(folder / ".cit"), "--quiet", *extra]
    return runner.invoke(app, ["test-flow", *options])


@pytest.mark.parametrize(
    ("csv", "code", "verdict", "failed"),
    [
        ("id,label\n1,0\n", 0, "data flow compatible: 1 connection(s) tested, 0 failed", []),
        (
            "id,lbl\n1,0\n",
            1,
            "data flow incompatible: 1 connection(s) tested, 1 failed (prep.out -> use.data)",
            ["prep.out -> use.data"],
        ),
    ],
)
def test_test_flow_reports_each_edge(
    pipeline: Path,
    monkeypatch: pytest.MonkeyPatch,
    csv: str,
    code: int,
    verdict: str,
    failed: list[str],
) -> None:
    fake = fake_engine(monkeypatch, csv)
    report = pipeline.parent / "flow-report.json"
    result = invoke_test_flow(pipeline, "--path", "prep,use", "--output-report", str(report))
    assert result.exit_code == code, result.output
    assert verdict in result.output and "Traceback" not in result.output
    assert sorted(spec.labels["cit.step"] for spec in fake.specs) == ["prep", "use"]
    data = json.loads(report.read_text())
    assert data["path"] == ["prep", "use"] and data["failed_connections"] == failed
    assert ("[missing_column]" in result.output) == bool(failed)
    (run_dir,) = run_dirs(pipeline.parent / ".cit" / "runs")
    written = json.loads((run_dir / "report.json").read_text())
    assert (written["outcome"], written["exit_code"]) == ("failed" if code else "passed", code)


# --- report files: nothing the user had is written over --------------------------------------


def test_validate_report_refuses_to_overwrite_the_pipeline(pipeline: Path) -> None:
    before = pipeline.read_bytes()
    result = validate(pipeline, "--output-report", str(pipeline))
    assert result.exit_code == 2
    assert "exists and is not a cit report" in one_line(result)
    assert pipeline.read_bytes() == before


def test_validate_report_replaces_an_earlier_report(pipeline: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert validate(pipeline, "--output-report", str(report)).exit_code == 0
    first = json.loads(report.read_text())
    assert first["cit_report"] == "validate-contracts"
    assert validate(pipeline, "--output-report", str(report)).exit_code == 0


def test_test_flow_report_over_a_user_file_stops_before_running(
    pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_engine(monkeypatch, "id,label\n1,0\n")
    notes = pipeline.parent / "notes.json"
    notes.write_text('{"mine": true}\n')
    result = invoke_test_flow(pipeline, "--output-report", str(notes))
    assert result.exit_code == 2, result.output
    assert "notes.json exists and is not a cit report" in one_line(result)
    assert notes.read_text() == '{"mine": true}\n'
    assert fake.specs == [] and not (pipeline.parent / ".cit").exists()


def test_test_flow_report_in_an_unwritable_place_stops_before_running(
    pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_engine(monkeypatch, "id,label\n1,0\n")
    result = invoke_test_flow(pipeline, "--output-report", "/proc/no-such/r.json")
    assert result.exit_code == 2, result.output
    assert "is not a writable folder" in one_line(result)
    assert fake.specs == []


def test_cit_run_writes_the_flow_report_in_its_run_dir(
    pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_engine(monkeypatch, "id,label\n1,0\n")
    cit_dir = pipeline.parent / ".cit"
    result = runner.invoke(
        app, ["run", "--dag", str(pipeline), "--cit-dir", str(cit_dir), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = run_dirs(cit_dir / "runs")
    flow = json.loads((run_dir / "flow.json").read_text())
    assert flow["connections_tested"] == 1 and flow["is_compatible"] is True
    assert "data flow compatible: 1 connection(s) tested" in result.output


def break_use_schema(folder: Path) -> None:
    """``use`` expects a column 'label' that ``prep`` (writing id,lbl) does not write."""
    (folder / "schemas").mkdir()
    (folder / "schemas/in.yaml").write_text("columns: {label: integer}\n")
    edit(
        folder / "contracts/use.yaml",
        "entry_point",
        "input_schemas: {data: ../schemas/in.yaml}\nentry_point",
    )


def test_cit_run_fails_on_a_data_flow_error_and_its_report_agrees(
    pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_engine(monkeypatch, "id,lbl\n1,0\n")
    folder = pipeline.parent
    break_use_schema(folder)
    cit_dir = folder / ".cit"
    args = ["run", "--dag", str(pipeline), "--cit-dir", str(cit_dir), "-q", "--format", "junit"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "data flow incompatible" in result.output and "[missing_column]" in result.output
    (run_dir,) = run_dirs(cit_dir / "runs")
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["outcome"], report["exit_code"], report["steps_only"]) == ("failed", 1, False)
    edge = next(t for t in report["suites"][0]["tests"] if t["kind"] == "edge")
    assert edge["outcome"] == "failed" and edge["failure_type"] == "missing_column"
    assert '<failure message="error [missing_column]' in (run_dir / "report.xml").read_text()


def test_cit_run_steps_only_reports_data_flow_errors_without_failing(
    pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_engine(monkeypatch, "id,lbl\n1,0\n")
    folder = pipeline.parent
    break_use_schema(folder)
    cit_dir = folder / ".cit"
    args = ["run", "--dag", str(pipeline), "--cit-dir", str(cit_dir), "-q", "--steps-only"]
    result = runner.invoke(app, [*args, "--format", "junit"])
    assert result.exit_code == 0, result.output
    assert "[missing_column]" in result.output
    assert "data flow incompatible" in result.output
    assert "(not judged: --steps-only)" in result.output
    (run_dir,) = run_dirs(cit_dir / "runs")
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["outcome"], report["exit_code"], report["steps_only"]) == ("passed", 0, True)
    edge = next(t for t in report["suites"][0]["tests"] if t["kind"] == "edge")
    assert edge["outcome"] == "skipped"
    assert edge["message"].startswith("not judged (--steps-only): error [missing_column]")
    junit = (run_dir / "report.xml").read_text()
    assert "<failure" not in junit and "not judged (--steps-only)" in junit
