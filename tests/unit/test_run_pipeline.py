"""The whole pipeline run from Python (``suite.pipeline.run_pipeline``) is what ``cit run``
does: the same edges, expectations, reports and verdict; the command holds the run it made and
reads nothing of it back from disk."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command
from orchestrator.cli.app import app
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.results import RunResult, Status
from orchestrator.run.settings import RUNNER_IMAGE, RunSettings
from orchestrator.suite.pipeline import PipelineRun, run_pipeline
from orchestrator.verdict import EXIT_FAILED, EXIT_PASSED, Outcome

from ..runs import run_dirs

OUT = "/opt/ml/processing/output/out/data.csv"
METRICS = "/opt/ml/processing/output/metrics/metrics.json"
FILES = {
    "scripts/prep.py": "print('prep')\n",
    "scripts/use.py": "print('use')\n",
    "data/raw.csv": "id,label\n1,0\n",
    "contracts/use.yaml": """
        entry_point: use.py
        expected_input_paths: {data: /opt/ml/processing/input/data}
        expected_output_paths: {metrics: /opt/ml/processing/output/metrics}
        input_schemas: {data: ../schemas/in.yaml}
        """,
    "schemas/in.yaml": "format: csv\ncolumns: {id: integer, label: integer}\n",
    "pipeline.yaml": """
        name: judged
        steps:
          prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out]}
          use: {kind: processing, script: scripts/use.py, contract: contracts/use.yaml,
                inputs: {data: {step: prep, output: out}}}
        expectations:
          use:
            metrics: {auc: ">= 0.8"}
        """,
}
EDGE = "prep.out -> use.data"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return tmp_path


def engine(data: str = "id,label\n1,0\n2,1\n", auc: float = 0.9) -> FakeEngine:
    behaviours = {
        "prep": FakeBehaviour(writes={OUT: data}),
        "use": FakeBehaviour(writes={METRICS: json.dumps({"auc": auc})}),
    }
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


CASES = {
    "green": {},
    "broken-edge": {"data": "id,lbl\n1,0\n2,1\n"},
    "failed-expectation": {"auc": 0.5},
}


def python_run(project: Path, **behaviour: Any) -> PipelineRun:
    settings = RunSettings(cit_dir=project / "python")
    return run_pipeline(project / "pipeline.yaml", engine(**behaviour), settings=settings)


def cit_run(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    name: str = "run",
    **behaviour: Any,
) -> Any:
    monkeypatch.setattr(command, "connect", lambda: engine(**behaviour))
    monkeypatch.setattr(command, "stop_on_signals", lambda cancel, observer: None)
    dag = str(project / "pipeline.yaml")
    options = ["--cit-dir", str(project / "cli"), "-q", *args]
    return CliRunner().invoke(app, [name, "--dag", dag, *options], env={"COLUMNS": "200"})


def written_report(folder: Path) -> dict[str, Any]:
    [run_dir] = run_dirs(folder / "runs")
    return dict(json.loads((run_dir / "report.json").read_text()))


@pytest.mark.parametrize("case", list(CASES))
def test_python_and_cit_run_give_the_same_verdict(
    project: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    result = python_run(project, **CASES[case])
    done = cit_run(project, monkeypatch, **CASES[case])
    assert done.exit_code == result.exit_code == result.verdict.exit_code, done.output
    assert result.passed == (case == "green")
    for folder in (project / "python", project / "cli"):
        report = written_report(folder)
        assert report["exit_code"] == result.exit_code
        assert report["outcome"] == result.verdict.outcome.value
        tests = [(t["kind"], t["name"], t["outcome"]) for t in report["suites"][0]["tests"]]
        assert tests == [(t.kind, t.name, t.outcome.value) for t in result.report.tests]


def test_a_broken_edge_fails_the_python_run_and_is_in_its_result(project: Path) -> None:
    result = python_run(project, data="id,lbl\n1,0\n")
    assert result.exit_code == EXIT_FAILED and result.verdict.outcome is Outcome.FAILED
    assert isinstance(result.run, RunResult) and result.run.status is Status.SUCCEEDED
    assert [e.edge for e in result.edges if not e.is_compatible] == [EDGE]
    assert [e.outcome for e in result.expectations] == ["passed"]
    assert result.reports == [result.run_dir / "report.json"]


def test_a_failed_expectation_fails_the_python_run_and_is_in_its_result(project: Path) -> None:
    result = python_run(project, auc=0.5)
    assert result.exit_code == EXIT_FAILED
    assert all(e.is_compatible for e in result.edges)
    assert [e.outcome for e in result.expectations] == ["failed"]


def test_steps_only_judges_only_the_steps_in_python_and_on_the_command_line(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = RunSettings(cit_dir=project / "python")
    result = run_pipeline(
        project / "pipeline.yaml", engine(auc=0.5), settings=settings, steps_only=True
    )
    done = cit_run(project, monkeypatch, "--steps-only", auc=0.5)
    assert done.exit_code == result.exit_code == EXIT_PASSED, done.output
    assert result.report.steps_only


def test_the_python_run_writes_the_formats_asked_for(project: Path) -> None:
    settings = RunSettings(cit_dir=project / "python")
    result = run_pipeline(
        project / "pipeline.yaml", engine(), settings=settings, formats=["junit", "html"]
    )
    names = [path.name for path in result.reports]
    assert names == ["report.json", "report.xml", "report.html"]
    assert all(path.is_file() for path in result.reports)


@pytest.mark.parametrize("name", ["run", "test-flow"])
def test_the_command_reads_nothing_back_from_the_run_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    def unread(run_dir: Path) -> RunResult:
        raise AssertionError(f"read back {run_dir}")

    monkeypatch.setattr("orchestrator.run.rundir.read_manifest", unread)
    done = cit_run(project, monkeypatch, "--format", "junit", name=name)
    assert done.exit_code == EXIT_PASSED, done.output
    assert written_report(project / "cli")["cit_report"] == name
    assert "report: " in done.output and "(and report.xml)" in done.output


def test_execute_pipeline_only_executes(project: Path) -> None:
    """The low-level run: steps, no edge checks and no report."""
    settings = RunSettings(cit_dir=project / "python")
    run = execute_pipeline(project / "pipeline.yaml", engine(auc=0.5), settings=settings)
    assert isinstance(run, RunResult) and run.ok
    assert not (Path(run.run_dir) / "report.json").exists()


def test_the_0_1_fields_of_the_run_still_answer_with_a_warning(project: Path) -> None:
    result = python_run(project)
    with pytest.warns(DeprecationWarning, match=r"PipelineRun.run.status"):
        status = result.status
    assert status is result.run.status
    with pytest.warns(DeprecationWarning):
        assert result.step("prep") is result.run.step("prep")
    with pytest.raises(AttributeError):
        _ = result.no_such_field
