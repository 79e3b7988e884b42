"""report.json, JUnit XML and `cit report`/`cit history` from runs on the fake engine: the
report validates against the shipped JSON Schema, JUnit parses with junitparser and carries
the attributes CI tools read."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.report.model import Outcome, load_report, report_schema, shipped_schema
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs

OUT = "/opt/ml/processing/output/out/data.csv"
PIPELINE = """
name: reported
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out]}
  use: {kind: processing, script: scripts/use.py, outputs: [scores],
        inputs: {data: {step: prep, output: out}}}
  late: {kind: processing, script: scripts/use.py, outputs: [more],
         inputs: {data: {step: use, output: scores}}}
"""
SCORES = "/opt/ml/processing/output/scores/scores.csv"
METRICS = "/opt/ml/processing/output/scores/metrics.json"

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in {
        "scripts/prep.py": "print('prep')\n",
        "scripts/use.py": "print('use')\n",
        "data/raw.csv": "id,label\n1,0\n",
        "pipeline.yaml": PIPELINE,
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return tmp_path


def engine(use_exit: int = 0, use_error: str | None = None) -> FakeEngine:
    behaviours = {
        "prep": FakeBehaviour(writes={OUT: "id,label\n1,0\n2,1\n"}, logs=["prep <done> & ok"]),
        "use": FakeBehaviour(
            exit_code=use_exit,
            engine_error=use_error,
            logs=["reading", "Traceback: boom"],
            writes={SCORES: "id,score\n1,0.5\n", METRICS: json.dumps({"auc": 0.9})},
        ),
        "late": FakeBehaviour(),
    }
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


def cit(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    use_exit: int = 0,
    use_error: str | None = None,
) -> Any:
    monkeypatch.setattr(cli, "connect", lambda: engine(use_exit, use_error))
    options = ["--cit-dir", str(project / ".cit"), "-q"]
    return runner.invoke(app, [*args, *options], env={"COLUMNS": "200"})


def the_run_dir(project: Path) -> Path:
    [run_dir] = run_dirs(project / ".cit" / "runs")
    return run_dir


def test_the_shipped_schema_is_the_reports_own() -> None:
    assert shipped_schema() == report_schema(), (
        "orchestrator/report/report.schema.json is stale: regenerate it with "
        "python -c 'import json; from orchestrator.report.model import report_schema, "
        "SCHEMA_FILE; SCHEMA_FILE.write_text(json.dumps(report_schema(), indent=2, "
        "sort_keys=True) + chr(10))'"
    )


def test_a_green_run_writes_a_valid_report_json(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = cit(project, monkeypatch, "run", "--dag", str(project / "pipeline.yaml"))
    assert done.exit_code == 0, done.output
    run_dir = the_run_dir(project)
    assert f"report: {run_dir / 'report.json'}" in done.output
    data = json.loads((run_dir / "report.json").read_text())
    jsonschema.validate(data, shipped_schema())
    assert data["cit_report"] == "run" and data["schema_version"] == 1
    assert data["outcome"] == "passed" and data["exit_code"] == 0
    (suite,) = data["suites"]
    assert [(t["kind"], t["name"]) for t in suite["tests"]] == [
        ("step", "prep"),
        ("step", "use"),
        ("step", "late"),
        ("edge", "prep.out -> use.data"),
        ("edge", "use.scores -> late.data"),
    ]
    assert suite["samples"]["prep"]["out"] == [{"id": 1, "label": 0}, {"id": 2, "label": 1}]
    assert suite["metrics"] == {"use": {"auc": 0.9}}
    assert not (run_dir / "report.xml").exists()  # only asked formats besides JSON


def test_junit_of_a_failed_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("run", "--dag", str(project / "pipeline.yaml"), "--format", "junit")
    done = cit(project, monkeypatch, *args, use_exit=3)
    assert done.exit_code == 1, done.output
    run_dir = the_run_dir(project)
    xml = JUnitXml.fromfile(str(run_dir / "report.xml"))
    (suite,) = list(xml)
    assert suite.name == "reported"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 1, 0, 2)
    cases = {case.name: case for case in suite}
    assert all(case.time is not None for case in cases.values())
    assert cases["prep"].classname == "prep" and cases["prep"].is_passed
    assert "prep <done> & ok" in (cases["prep"].system_out or "")
    (failure,) = cases["use"].result
    assert isinstance(failure, Failure)
    assert failure.type == "failed"
    assert "exit code 3" in (failure.message or "")
    assert "Traceback: boom" in (cases["use"].system_out or "")
    (skipped,) = cases["late"].result
    assert isinstance(skipped, Skipped)
    edge = cases["prep.out -> use.data"]
    assert edge.classname == "use"  # an edge belongs to its consumer
    assert edge.is_passed  # the data broke no rule: the step that failed on it is to blame
    report = load_report(run_dir / "report.json")
    assert report.outcome is Outcome.FAILED and report.exit_code == 1


def parsed_junit(run_dir: Path) -> Any:
    (suite,) = list(JUnitXml.fromfile(str(run_dir / "report.xml")))
    return suite


def test_junit_of_a_green_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("run", "--dag", str(project / "pipeline.yaml"), "--format", "junit")
    done = cit(project, monkeypatch, *args)
    assert done.exit_code == 0, done.output
    suite = parsed_junit(the_run_dir(project))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 0, 0, 0)
    for case in suite:
        assert case.is_passed and case.time is not None and case.classname
    edge = next(c for c in suite if c.name == "use.scores -> late.data")
    assert edge.classname == "late"


def test_junit_of_a_step_the_engine_could_not_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("run", "--dag", str(project / "pipeline.yaml"), "--format", "junit")
    done = cit(project, monkeypatch, *args, use_error="bad mount: /nowhere")
    assert done.exit_code == 1, done.output
    suite = parsed_junit(the_run_dir(project))
    assert suite.errors == 1
    use = next(c for c in suite if c.name == "use")
    (error,) = use.result
    assert isinstance(error, Error)
    assert error.type == "error" and "bad mount: /nowhere" in (error.message or "")


def test_junit_marks_an_interrupted_step_as_an_error(tmp_path: Path) -> None:
    from orchestrator.report.junit import render_junit
    from orchestrator.report.model import Suite, TestItem, build_report

    item = TestItem(
        name="s", classname="s", kind="step", outcome=Outcome.INTERRUPTED, message="interrupted"
    )
    suite = Suite(name="p", kind="pipeline", outcome=Outcome.INTERRUPTED, tests=[item])
    text = render_junit(build_report("run", [suite], interrupted=True))
    path = tmp_path / "interrupted.xml"
    path.write_text(text)
    (parsed,) = list(JUnitXml.fromfile(str(path)))
    (case,) = list(parsed)
    assert isinstance(case.result[0], Error)
    assert case.result[0].type == "interrupted"


def test_junit_keeps_control_characters_out_of_the_xml() -> None:
    from orchestrator.report.junit import render_junit
    from orchestrator.report.model import Suite, TestItem, build_report

    item = TestItem(
        name="s",
        classname="s",
        kind="step",
        outcome=Outcome.PASSED,
        log_tail=["bell\x07 and \x1b[31mred"],
    )
    suite = Suite(name="p", kind="pipeline", outcome=Outcome.PASSED, tests=[item])
    text = render_junit(build_report("run", [suite]))
    assert "\x07" not in text and "\x1b" not in text
    assert "bell\ufffd and red" in text  # colour codes stripped, a control character replaced


def test_test_script_writes_its_report_in_a_run_directory_of_its_own(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = project / "cases.yaml"
    cases.write_text(
        "test_cases:\n"
        "  - name: fine\n    input_data: {data: data}\n"
        "  - name: strict\n    input_data: {data: data}\n"
        "    expected_metrics: {auc: '>= 0.95'}\n"
    )
    args = ("test-script", "--script", "use", "--dag", str(project / "pipeline.yaml"))
    done = cit(project, monkeypatch, *args, "--test-cases", str(cases), "--format", "junit")
    assert done.exit_code == 1, done.output
    reports = [p for p in run_dirs(project / ".cit" / "runs") if (p / "report.json").exists()]
    (command_dir,) = [p for p in reports if not (p / "manifest.json").exists()]
    report = load_report(command_dir / "report.json")
    jsonschema.validate(json.loads((command_dir / "report.json").read_text()), shipped_schema())
    assert report.cit_report == "test-script"
    assert (report.outcome, report.exit_code) == (Outcome.FAILED, 1)
    (suite,) = report.suites
    assert [(t.name, t.outcome) for t in suite.tests] == [
        ("fine", Outcome.PASSED),
        ("strict", Outcome.FAILED),
    ]
    strict = suite.tests[1]
    assert strict.classname == "use" and strict.failure_type == "metric"
    assert any("auc" in line for line in strict.details)
    assert strict.run_dir and Path(strict.run_dir, "manifest.json").exists()
    # One run id: each case's run is the command's, then the case's name.
    assert [Path(t.run_dir or "").name for t in suite.tests] == [
        f"{command_dir.name}-fine",
        f"{command_dir.name}-strict",
    ]
    assert f"{command_dir.name}-strict" in done.output
    assert f"report: {command_dir / 'report.json'}" in done.output
    xml = JUnitXml.fromfile(str(command_dir / "report.xml"))
    (xsuite,) = list(xml)
    assert (xsuite.tests, xsuite.failures) == (2, 1)
    from orchestrator.report.history import list_runs

    (listed,) = list_runs(project / ".cit" / "runs")  # the cases' runs are part of it
    assert (listed.command, listed.names, listed.outcome) == ("test-script", ["use"], "failed")
    assert listed.failed == ["strict"]


def test_test_script_shows_a_broken_case_runs_log_tail_as_cit_run_does(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = project / "cases.yaml"
    cases.write_text("test_cases:\n  - name: crashes\n    input_data: {data: data}\n")
    args = ("test-script", "--script", "use", "--dag", str(project / "pipeline.yaml"))
    done = cit(project, monkeypatch, *args, "--test-cases", str(cases), use_exit=3)
    assert done.exit_code == 1, done.output
    assert "should_complete: true but the script exited 3" in done.output
    assert "case crashes · use: failed" in done.output
    panel = done.output[done.output.index("case crashes · use: failed") :]
    assert "exited with code 3" in panel and "last 2 log lines:" in panel
    assert "Traceback: boom" in panel and "full log: " in panel


def test_an_edge_into_an_interrupted_step_is_interrupted() -> None:
    from orchestrator.dataflow.edges import EdgeResult
    from orchestrator.report.model import edge_test
    from orchestrator.run.results import Status

    edge = EdgeResult(
        edge="a.out -> b.in",
        producer="a",
        output="out",
        consumer="b",
        input="in",
        producer_status=Status.SUCCEEDED,
        consumer_status=Status.INTERRUPTED,
    )
    assert edge_test(edge).outcome is Outcome.INTERRUPTED
    done = edge.model_copy(update={"consumer_status": Status.SUCCEEDED})
    assert edge_test(done).outcome is Outcome.PASSED


def test_history_finds_a_command_by_any_of_its_suites(tmp_path: Path) -> None:
    from orchestrator.report.history import list_runs
    from orchestrator.report.model import Suite, build_report

    suites = [Suite(name=name, kind="script", outcome=Outcome.PASSED) for name in ("prep", "score")]
    run_dir = tmp_path / "runs" / "20260101-000000-aaaaaa"
    run_dir.mkdir(parents=True)
    report = build_report("test-all", suites)
    (run_dir / "report.json").write_text(report.model_dump_json())
    assert [r.command for r in list_runs(tmp_path / "runs", "score")] == ["test-all"]
    assert list_runs(tmp_path / "runs", "other") == []


def test_history_leaves_out_a_report_too_large_not_json_or_a_fifo(tmp_path: Path) -> None:
    import os

    from orchestrator.files import MAX_FILE_BYTES
    from orchestrator.report.history import list_runs
    from orchestrator.report.model import Suite, build_report

    runs = tmp_path / "runs"
    report = build_report("test-all", [Suite(name="prep", kind="script", outcome=Outcome.PASSED)])
    folders = {
        name: runs / f"20260101-00000{i}-{name}"
        for i, name in enumerate(["good", "large", "garbage", "fifo"])
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
    (folders["good"] / "report.json").write_text(report.model_dump_json())
    padded = report.model_copy(update={"cit_version": "x" * MAX_FILE_BYTES})
    (folders["large"] / "report.json").write_text(padded.model_dump_json())
    (folders["garbage"] / "report.json").write_text("{not json")
    os.mkfifo(folders["fifo"] / "report.json")  # read, it would wait for a writer
    assert [r.run_dir for r in list_runs(runs)] == [str(folders["good"])]
    done = runner.invoke(app, ["history", "--cit-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert folders["good"].name in done.output and "large" not in done.output
    args = ["report", "--test-results", str(folders["large"]), "--format", "json"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "report.json: is larger than 10.0 MiB, the most cit reads" in refused.output


def test_junit_message_is_the_first_line_and_the_body_has_all(tmp_path: Path) -> None:
    from orchestrator.report.junit import render_junit
    from orchestrator.report.model import Suite, TestItem, build_report

    item = TestItem(
        name="s",
        classname="s",
        kind="step",
        outcome=Outcome.FAILED,
        message="failed (exit code 1): Traceback\n  File x\nValueError: no",
        details=["failed (exit code 1): Traceback\n  File x\nValueError: no"],
    )
    suite = Suite(name="p", kind="pipeline", outcome=Outcome.FAILED, tests=[item])
    path = tmp_path / "r.xml"
    path.write_text(render_junit(build_report("run", [suite])))
    (parsed,) = list(JUnitXml.fromfile(str(path)))
    (case,) = list(parsed)
    failure = case.result[0]
    assert failure.message == "failed (exit code 1): Traceback"
    assert "ValueError: no" in (failure.text or "")


def test_html_without_plots_keeps_the_tables(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project / "cit.yaml"
    config.write_text("reporting:\n  formats: [html]\n  include_plots: false\n")
    args = ("run", "--dag", str(project / "pipeline.yaml"), "--config", str(config))
    done = cit(project, monkeypatch, *args)
    assert done.exit_code == 0, done.output
    page = (the_run_dir(project) / "report.html").read_text()
    assert 'class="plot"' not in page
    assert "auc" in page  # the metrics table is still there


# -- cit report and cit history -----------------------------------------------------------------


def test_cit_report_renders_an_earlier_run_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cit(project, monkeypatch, "run", "--dag", str(project / "pipeline.yaml"), use_exit=3)
    run_dir = the_run_dir(project)
    target = project / "out" / "junit.xml"
    args = ["report", "--test-results", str(run_dir), "--format", "junit", "--output", str(target)]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert f"junit report of run (failed): {target}" in done.output
    (suite,) = list(JUnitXml.fromfile(str(target)))
    assert suite.failures == 1
    again = runner.invoke(app, args)  # a file cit wrote may be written again
    assert again.exit_code == 0, again.output
    default = runner.invoke(
        app, ["report", "--test-results", str(run_dir / "report.json"), "--format", "json"]
    )
    assert default.exit_code == 0, default.output
    assert load_report(run_dir / "report.json").outcome is Outcome.FAILED


def test_cit_report_rebuilds_a_run_from_before_reports(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cit(project, monkeypatch, "run", "--dag", str(project / "pipeline.yaml"))
    run_dir = the_run_dir(project)
    (run_dir / "report.json").unlink()
    done = runner.invoke(app, ["report", "--test-results", str(run_dir), "--format", "json"])
    assert done.exit_code == 0, done.output
    report = load_report(run_dir / "report.json")
    assert report.outcome is Outcome.PASSED
    assert [t.name for t in report.tests][:3] == ["prep", "use", "late"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "nor a path to one: give a run id, a run's folder or its report.json"),
        ("empty", "holds neither report.json nor manifest.json"),
        ("garbage", "not a cit report: not JSON"),
        ("newer", "written by a newer cit (report schema 99"),
        ("wrong-suffix", "a junit report is written to a .xml file"),
        ("user-file", "exists and is not a cit report"),
    ],
)
def test_cit_report_refuses_in_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, setup: str, message: str
) -> None:
    cit(project, monkeypatch, "run", "--dag", str(project / "pipeline.yaml"))
    run_dir = the_run_dir(project)
    args = ["report", "--test-results", str(run_dir)]
    if setup == "missing":
        args = ["report", "--test-results", str(project / "nope")]
    elif setup == "empty":
        (project / "empty").mkdir()
        args = ["report", "--test-results", str(project / "empty")]
    elif setup == "garbage":
        (project / "report.json").write_text("{not json")
        args = ["report", "--test-results", str(project / "report.json")]
    elif setup == "newer":
        data = json.loads((run_dir / "report.json").read_text())
        (project / "report.json").write_text(json.dumps({**data, "schema_version": 99}))
        args = ["report", "--test-results", str(project / "report.json")]
    elif setup == "wrong-suffix":
        args += ["--format", "junit", "--output", str(run_dir / "report.json")]
    else:
        mine = project / "mine.html"
        mine.write_text("<html>my own page</html>")
        args += ["--output", str(mine)]
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    assert message in done.output
    assert "Traceback" not in done.output
    if setup == "user-file":
        assert (project / "mine.html").read_text() == "<html>my own page</html>"
    assert load_report(run_dir / "report.json").cit_report == "run"  # the run's report is intact


def test_cit_history_lists_runs_newest_first_with_durations(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cit(project, monkeypatch, "run", "--dag", str(project / "pipeline.yaml"))
    # the fake engine fails a step the pipeline did not change: the step cache would reuse it
    cit(
        project,
        monkeypatch,
        "run",
        "--dag",
        str(project / "pipeline.yaml"),
        "--no-cache",
        use_exit=3,
    )
    (project / ".cit" / "runs" / "not-a-run").mkdir()
    from orchestrator.report.history import list_runs

    runs = list_runs(project / ".cit" / "runs")
    assert [r.outcome for r in runs] == ["failed", "passed"]  # the reports' verdicts
    assert runs[0].failed == ["use"]
    assert set(runs[0].steps) == {"prep", "use", "late"}
    assert runs[1].duration_seconds is not None
    args = ["history", "--dag", str(project / "pipeline.yaml"), "--cit-dir", str(project / ".cit")]
    done = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert done.output.index("failed") < done.output.index("passed")
    assert "broke: use" in done.output
    none = runner.invoke(app, ["history", "--name", "other", "--cit-dir", str(project / ".cit")])
    assert "no runs of other" in none.output
