"""What a user expects of any command line, through ``cit`` with the fake engine: ``--version``,
``-h`` and an example on every command, flags shown as flags, ``--json`` summaries,
``.cit/runs/latest``, settings from ``CIT_*`` and a configuration file found up the tree, one
word for each verdict, and a clear refusal on native Windows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator._version import __version__
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.cli.summary import SUMMARY_KEYS, Summary
from orchestrator.errors import CitError, RunDirectoryError
from orchestrator.pipeline.resources import host_cpus
from orchestrator.run import rundir
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.verdict import EXPECTED_FAILURE, Outcome, outcome_word

from ..runs import run_dirs

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
OUT = "/opt/ml/processing/output/out/data.csv"
PIPELINE = """
name: small
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out]}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-step pipeline in the working directory, run on the fake engine."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/prep.py").write_text("print('prep')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/raw.csv").write_text("id,label\n1,0\n")
    (tmp_path / "pipeline.yaml").write_text(textwrap.dedent(PIPELINE).lstrip())
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    behaviours = {
        "prep": FakeBehaviour(writes={OUT: "id,label\n1,0\n"}),
        "tool": FakeBehaviour(exit_code=1),
    }
    engine = FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner", "mine:1": "sha256:m"})
    monkeypatch.setattr(cli, "connect", lambda: engine)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    return engine


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env={**WIDE, **(env or {})})


def summary(result: Result) -> dict[str, Any]:
    """The --json summary: stdout is one JSON object with every key, and nothing else."""
    data = json.loads(result.stdout)
    assert isinstance(data, dict) and tuple(data) == SUMMARY_KEYS, result.stdout
    Summary.model_validate(data)
    return data


# -- help ---------------------------------------------------------------------------------------


def command_paths() -> list[tuple[list[str], bool]]:
    """Every command of ``cit``, groups included, as the words that name it, and whether it
    is a group."""

    def walk(command: Any, path: list[str]) -> list[tuple[list[str], bool]]:
        subcommands = getattr(command, "commands", {})
        found = [(path, bool(subcommands))]
        for name, sub in subcommands.items():
            found += walk(sub, [*path, name])
        return found

    return walk(typer.main.get_command(app), [])


@pytest.mark.parametrize(
    ("path", "group"),
    command_paths(),
    ids=lambda v: (" ".join(v) or "cit") if isinstance(v, list) else "",
)
def test_every_command_takes_h_shows_flags_without_a_value_and_an_example(
    path: list[str], group: bool
) -> None:
    short, long = invoke(*path, "-h"), invoke(*path, "--help")
    assert short.exit_code == 0 and short.output == long.output
    assert "Example:" in short.output and f"cit {' '.join(path)}".strip() in short.output
    assert "<bool>" not in short.output
    assert ("--json" in short.output) == (not group)


def test_help_read_through_a_pipe_is_wide_and_cuts_no_default() -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES")}
    shown = subprocess.run(
        [sys.executable, "-m", "orchestrator", "run", "-h"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "execution.container_image of the configuration" in shown
    assert "…" not in shown


def test_version_as_a_flag_and_as_a_command() -> None:
    assert invoke("--version").stdout.strip() == __version__
    assert invoke("version").stdout.strip() == __version__
    data = summary(invoke("version", "--json"))
    assert (data["command"], data["cit_version"], data["verdict"]) == ("version", __version__, None)


# -- --json -------------------------------------------------------------------------------------


def test_run_json_names_the_run_its_reports_and_counts(project: Path, fake: FakeEngine) -> None:
    result = invoke("run", "--dag", "pipeline.yaml", "--format", "junit", "--json")
    assert result.exit_code == 0, result.stderr
    data = summary(result)
    [run_dir] = run_dirs(project / ".cit/runs")
    assert (data["command"], data["verdict"], data["exit_code"]) == ("run", "passed", 0)
    assert (data["run_id"], data["run_dir"]) == (run_dir.name, str(run_dir))
    assert data["manifest"] == str(run_dir / "manifest.json")
    assert (data["report"], data["junit"], data["html"]) == (
        str(run_dir / "report.json"),
        str(run_dir / "report.xml"),
        None,
    )
    assert data["counts"]["passed"] == data["counts"]["total"] >= 1
    assert "run succeeded" in result.stderr  # the human output, kept off stdout


@pytest.mark.parametrize(
    "args",
    [
        ["test-flow", "--dag", "pipeline.yaml"],
        ["validate-contracts", "--dag", "pipeline.yaml"],
        ["history"],
        ["clean"],
        ["generate-data", "--schema", "schema.yaml", "--rows", "3", "--output", "made"],
        ["test-all"],
    ],
    ids=lambda args: args[0],
)
def test_each_command_prints_one_summary(project: Path, fake: FakeEngine, args: list[str]) -> None:
    (project / "schema.yaml").write_text("format: csv\ncolumns: {id: integer}\n")
    (project / "cit.yaml").write_text("test_scenarios: [{name: small, dag_file: pipeline.yaml}]\n")
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    data = summary(result)
    assert data["command"] == args[0] and data["error"] is None
    if args[0] == "generate-data":
        assert data["files"] and all(Path(f).is_file() for f in data["files"])
    if args[0] in ("test-flow", "test-all"):
        assert data["verdict"] == "passed" and Path(data["report"]).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["test-s3", "--script", "scripts/prep.py"], "give --pipeline-execution ARN"),
        (["image", "build", "--requirements", "none.txt"], "--requirements: no such file"),
        (["import", "sagemaker", "pipeline.yaml", "-o", "x.yaml"], "is not a SageMaker pipeline"),
        (["import", "sagemaker", "p.json", "-o", "-"], "--json and --output -"),
        (["test-script", "--script", "scripts/prep.py"], "give --test-cases FILE"),
        (["report"], "no run under"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else "",
)
def test_bad_input_still_ends_in_one_summary_with_the_error(
    project: Path, fake: FakeEngine, args: list[str], message: str
) -> None:
    result = invoke(*args, "--json")
    assert result.exit_code == 2, result.output
    data = summary(result)
    assert (data["verdict"], data["exit_code"]) == ("error", 2)
    assert data["command"] == " ".join(args[:2]) if args[0] in ("image", "import") else args[0]
    assert message in data["error"] and message in result.stderr


# -- latest -------------------------------------------------------------------------------------


def test_latest_names_the_newest_run_and_report_defaults_to_it(
    project: Path, fake: FakeEngine
) -> None:
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    runs = project / ".cit/runs"
    newest = max(run_dirs(runs), key=lambda p: p.stat().st_mtime_ns)
    assert (runs / "latest").is_symlink() and rundir.latest_run(runs) == runs / newest.name
    rendered = invoke("report", "--format", "junit", "--json")
    assert rendered.exit_code == 0, rendered.output
    assert summary(rendered)["junit"] == str(runs / newest.name / "report.xml")
    by_id = invoke("report", "--test-results", newest.name, "--format", "html")
    assert by_id.exit_code == 0 and (newest / "report.html").is_file()
    listed = summary(invoke("history", "--json"))["details"]["runs"]
    assert sorted(run["run_id"] for run in listed) == sorted(p.name for p in run_dirs(runs))


def test_latest_is_a_file_naming_the_run_where_symlinks_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("symlinks are not supported")

    monkeypatch.setattr(os, "symlink", refuse)
    rundir.create_run_dir(tmp_path, "20260101-000000-aaaaaa")
    made = rundir.create_run_dir(tmp_path, "20260101-000001-bbbbbb")
    latest = tmp_path / "latest"
    assert not latest.is_symlink() and latest.read_text().strip() == made.name
    assert rundir.latest_run(tmp_path) == made
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("written", ["../elsewhere", "gone", ""])
def test_a_latest_that_names_no_run_is_refused(tmp_path: Path, written: str) -> None:
    (tmp_path / "latest").write_text(written)
    with pytest.raises(RunDirectoryError, match=r"latest|no run"):
        rundir.latest_run(tmp_path)


# -- naming a run ------------------------------------------------------------------------------


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs folder with two runs (the second the latest), the working directory beside it."""
    folder = tmp_path / ".cit/runs"
    for run_id in ("20260101-000000-aaaaaa", "20260101-000001-bbbbbb"):
        (rundir.create_run_dir(folder, run_id) / rundir.MANIFEST).write_text("{}")
    monkeypatch.chdir(tmp_path)
    return folder


def test_no_name_or_latest_is_the_latest_run(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newest = runs / "20260101-000001-bbbbbb"
    assert rundir.find_run(runs, None).resolve() == newest.resolve()
    assert rundir.find_run(runs, "latest") == newest
    (runs / "latest").unlink()
    (runs / "latest").write_text("20260101-000000-aaaaaa\n")  # where symlinks are refused
    assert rundir.find_run(runs, "latest") == runs / "20260101-000000-aaaaaa"


def test_a_run_id_names_the_run_under_the_runs_folder_before_a_folder_here(runs: Path) -> None:
    Path("20260101-000000-aaaaaa").mkdir()  # the same name in the working directory
    assert rundir.find_run(runs, "20260101-000000-aaaaaa") == runs / "20260101-000000-aaaaaa"
    assert rundir.find_run(runs, Path("20260101-000000-aaaaaa")) == runs / "20260101-000000-aaaaaa"


def test_a_report_to_render_is_read_from_the_path_given_first(runs: Path) -> None:
    """`cit report --test-results ./ID` gets a Path, which drops the "./": the folder here,
    which exists, is the one meant."""
    Path("20260101-000000-aaaaaa").mkdir()
    found = rundir.find_run(runs, Path("./20260101-000000-aaaaaa"), report_file=True)
    assert found == Path("20260101-000000-aaaaaa")


def test_a_folder_under_runs_without_a_manifest_is_no_run_to_open(runs: Path) -> None:
    """A test-all run has a report and no manifest: a report can be rendered, no shell opened;
    a manifest that is a FIFO is never opened."""
    import os

    suite_run = runs / "20260101-000002-cccccc"
    suite_run.mkdir()
    with pytest.raises(RunDirectoryError, match="no run '20260101-000002-cccccc' under"):
        rundir.find_run(runs, suite_run.name)
    assert rundir.find_run(runs, suite_run.name, report_file=True) == suite_run
    os.mkfifo(suite_run / rundir.MANIFEST)
    with pytest.raises(RunDirectoryError, match="no run '20260101-000002-cccccc' under"):
        rundir.find_run(runs, suite_run.name)


def test_a_path_names_a_run_folder_wherever_it_is(runs: Path) -> None:
    moved = Path("kept/run")
    moved.mkdir(parents=True)
    (moved / rundir.MANIFEST).write_text("{}")
    assert rundir.find_run(runs, "kept/run") == moved
    assert rundir.find_run(runs, str(runs / "20260101-000000-aaaaaa")) == (
        runs / "20260101-000000-aaaaaa"
    )


def test_a_folder_or_file_that_is_not_a_run_is_refused_unless_a_report_may_be_named(
    runs: Path,
) -> None:
    Path("plain").mkdir()
    Path("report.json").write_text("{}")
    with pytest.raises(RunDirectoryError, match="'plain' is a folder but not a run's"):
        rundir.find_run(runs, "plain")
    with pytest.raises(RunDirectoryError, match=r"no run 'report\.json'"):
        rundir.find_run(runs, "report.json")
    assert rundir.find_run(runs, "plain", report_file=True) == Path("plain")
    assert rundir.find_run(runs, Path("report.json"), report_file=True) == Path("report.json")


@pytest.mark.parametrize("name", ["gone", ".", "..", "a/b"])
def test_a_name_that_is_neither_a_run_id_nor_a_run_folder_is_refused(
    runs: Path, name: str
) -> None:
    for report_file in (False, True):
        if report_file and Path(name).exists():
            continue  # an existing folder is the report reader's to judge
        with pytest.raises(RunDirectoryError) as raised:
            rundir.find_run(runs, name, report_file=report_file)
        assert name in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--test-results", "gone"),
        ("report", "--test-results", "gone", "--format", "json", "--json"),
        ("shell", "gone", "prep"),
        ("shell", "gone", "prep", "--json"),
    ],
)
def test_both_commands_refuse_a_name_that_is_no_run_in_one_line_with_exit_2(
    runs: Path, args: tuple[str, ...]
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no run 'gone' under" in lines[0], result.stderr
    assert "Traceback" not in result.output


# -- settings without flags ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        ([], {}, "from-file"),
        ([], {"CIT_DIR": "from-env"}, "from-env"),
        (["--cit-dir", "from-flag"], {"CIT_DIR": "from-env"}, "from-flag"),
    ],
)
def test_flag_then_environment_then_the_file_found_up_the_tree(
    project: Path,
    fake: FakeEngine,
    monkeypatch: pytest.MonkeyPatch,
    flag: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    (project / "cit.yaml").write_text("execution: {cit_dir: from-file, container_image: mine:1}\n")
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = invoke("run", "--dag", "../pipeline.yaml", *flag, env=env)
    assert result.exit_code == 0, result.output
    base = project if expected == "from-file" else project / "sub"  # the file's paths: its own
    assert len(run_dirs(base / expected / "runs")) == 1
    assert {spec.image for spec in fake.specs} == {"mine:1"}


PRECEDENCE = [
    ("default", [], {}, None),
    ("file", [], {}, "file"),
    ("environment", [], {"CIT_DIR": "env", "CIT_IMAGE": "env:1", "CIT_MAX_WORKERS": "3"}, "file"),
    (
        "flag",
        ["--cit-dir", "flag", "--image", "flag:1"],
        {"CIT_DIR": "env", "CIT_IMAGE": "env:1", "CIT_MAX_WORKERS": "3"},
        "file",
    ),
]


@pytest.mark.parametrize("command", ["run", "test-flow"])
@pytest.mark.parametrize(
    ("expected", "flags", "env", "file"), PRECEDENCE, ids=[row[0] for row in PRECEDENCE]
)
def test_each_setting_comes_from_its_flag_then_its_variable_then_the_file(
    project: Path,
    fake: FakeEngine,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    expected: str,
    flags: list[str],
    env: dict[str, str],
    file: str | None,
) -> None:
    from orchestrator.suite import pipeline

    fake.images.update({"file:1": "sha256:f", "env:1": "sha256:e", "flag:1": "sha256:g"})
    if file:
        (project / "cit.yaml").write_text(
            "execution: {cit_dir: file, container_image: 'file:1', max_workers: 2}\n"
        )
    workers: list[int] = []
    real = pipeline.run_pipeline

    def run_pipeline(*args: Any, **kwargs: Any) -> Any:
        workers.append(kwargs["settings"].max_workers)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_pipeline", run_pipeline)
    if command == "run" and expected == "flag":
        flags = [*flags, "--max-workers", "4"]
    extra = ["--parallel"] if command == "test-flow" else []
    result = invoke(command, "--dag", "pipeline.yaml", *flags, *extra, env=env)
    assert result.exit_code == 0, result.output
    folder = {"default": ".cit", "file": "file", "environment": "env", "flag": "flag"}[expected]
    assert len(run_dirs(project / folder / "runs")) == 1
    image = {"default": RUNNER_IMAGE, "file": "file:1", "environment": "env:1"}
    assert {spec.image for spec in fake.specs} == {image.get(expected, "flag:1")}
    most = {"file": 2, "environment": 3, "flag": 4 if command == "run" else 3}
    assert workers == [most.get(expected, host_cpus())]


def test_pyproject_tool_cit_is_read_and_its_mistakes_name_file_and_key(
    project: Path, fake: FakeEngine
) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n\n[tool.cit.execution]\ncit_dir = "elsewhere"\n')
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    assert len(run_dirs(project / "elsewhere/runs")) == 1
    pyproject.write_text("[tool.cit.execution]\nmax_workers = 0\n")
    result = invoke("run", "--dag", "pipeline.yaml")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{pyproject}: tool.cit.execution.max_workers" in lines[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CIT_MAX_WORKERS", "many"), ("CIT_ISOLATION", "vm"), ("CIT_FORMAT", "pdf")],
)
def test_a_bad_environment_value_is_one_line_naming_the_variable(
    project: Path, fake: FakeEngine, variable: str, value: str
) -> None:
    result = invoke("run", "--dag", "pipeline.yaml", env={variable: value})
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{variable}='{value}'" in lines[0]


def test_environment_formats_and_workers_come_before_the_file(
    project: Path, fake: FakeEngine
) -> None:
    (project / "cit.yaml").write_text("reporting: {formats: [json]}\n")
    result = invoke("run", "--dag", "pipeline.yaml", env={"CIT_FORMAT": "junit,html"})
    assert result.exit_code == 0, result.output
    [run_dir] = run_dirs(project / ".cit/runs")
    assert (run_dir / "report.xml").is_file() and (run_dir / "report.html").is_file()


def test_find_config_prefers_the_nearest_and_skips_a_pyproject_without_tool_cit(
    tmp_path: Path,
) -> None:
    from orchestrator.cli.defaults import find_config

    (tmp_path / "cit.yaml").write_text("{}\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a/pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    (tmp_path / "a/b").mkdir()
    assert find_config(tmp_path / "a/b") == tmp_path / "cit.yaml"
    (tmp_path / "a/pyproject.toml").write_text("[tool.cit.reporting]\nformats = ['json']\n")
    assert find_config(tmp_path / "a/b") == tmp_path / "a/pyproject.toml"


def test_environment_reads_only_what_is_set() -> None:
    from orchestrator.cli.defaults import environment

    env = environment({"CIT_IMAGE": "mine:1", "CIT_MAX_WORKERS": "3", "CIT_DIR": "", "HOME": "x"})
    assert (env.image, env.max_workers, env.cit_dir) == ("mine:1", 3, None)
    with pytest.raises(CitError, match="CIT_MAX_WORKERS='0'"):
        environment({"CIT_MAX_WORKERS": "0"})


# -- verdict words ------------------------------------------------------------------------------


def test_a_case_that_was_to_fail_says_it_failed_as_expected_everywhere(
    project: Path, fake: FakeEngine
) -> None:
    (project / "tool.py").write_text("raise SystemExit(1)\n")
    (project / "cases.yaml").write_text(
        "test_cases:\n  - {name: refuses, expected_behavior: {should_complete: false}}\n"
    )
    result = invoke(
        "test-script", "--script", "tool.py", "--test-cases", "cases.yaml",
        "--format", "junit", "--format", "html", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = summary(result)
    assert EXPECTED_FAILURE in result.stderr
    report = json.loads(Path(data["report"]).read_text())
    [case] = report["suites"][0]["tests"]
    assert (case["outcome"], case["expected_failure"], case["message"]) == (
        "passed",
        True,
        EXPECTED_FAILURE,
    )
    out = ET.parse(data["junit"]).getroot().find(".//testcase/system-out")
    assert out is not None and EXPECTED_FAILURE in (out.text or "")
    assert EXPECTED_FAILURE in Path(data["html"]).read_text()


def test_history_calls_an_old_run_passed_not_succeeded(project: Path, fake: FakeEngine) -> None:
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    [run_dir] = run_dirs(project / ".cit/runs")
    (run_dir / "report.json").unlink()  # a run from before reports: its manifest alone
    [run] = summary(invoke("history", "--json"))["details"]["runs"]
    assert run["outcome"] == "passed"
    assert "succeeded" not in invoke("history").stdout


def test_outcome_words() -> None:
    assert [outcome_word(o) for o in Outcome] == [o.value for o in Outcome]
    assert outcome_word(Outcome.PASSED, expected_failure=True) == EXPECTED_FAILURE
    assert outcome_word(Outcome.FAILED, expected_failure=True) == "failed"


# -- platforms ----------------------------------------------------------------------------------


def test_native_windows_is_refused_in_one_line_before_anything_fails_to_import() -> None:
    code = (
        "import signal, sys\n"
        "sys.platform = 'win32'\n"
        "sys.modules['fcntl'] = None\n"  # as on Windows: importing it fails
        "del signal.SIGHUP\n"
        "from orchestrator.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "WSL2" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_platform_check_passes_here(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.cli.platform_check import refuse_native_windows

    refuse_native_windows()  # Linux or macOS: nothing to say
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(SystemExit) as stopped:
        refuse_native_windows()
    assert stopped.value.code == 2


def test_test_all_names_where_each_report_lands(project: Path, fake: FakeEngine) -> None:
    (project / "conf").mkdir()
    (project / "conf/cit.yaml").write_text(
        "test_scenarios: [{name: small, dag_file: ../pipeline.yaml}]\n"
        "reporting: {formats: [json, junit], output_directory: copies}\n"
    )
    result = invoke("test-all", "--config", "conf/cit.yaml")
    assert result.exit_code == 0, result.output
    copies = project / "conf/copies"  # relative to the configuration file
    assert f"copied to {copies}: report.json, report.xml" in result.stdout
    [said] = [line for line in result.stdout.splitlines() if line.startswith("report: ")]
    assert Path(said.split()[1]).is_file() and (copies / "report.xml").is_file()
    data = summary(invoke("test-all", "--config", "conf/cit.yaml", "--json"))
    assert data["files"] == [str(copies / "report.json"), str(copies / "report.xml")]


# -- usage errors, formats and names under --json ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "Missing option '--dag'"),
        (["history", "--no-such-option"], "No such option"),
        (["image", "build", "--mode", "nowhere"], "Invalid value for '--mode'"),
    ],
)
def test_a_usage_error_with_json_still_prints_one_summary(args: list[str], message: str) -> None:
    result = invoke(*args, "--json")
    assert result.exit_code == 2
    data = summary(result)
    assert (data["verdict"], data["exit_code"]) == ("error", 2)
    assert data["command"] == (" ".join(args[:2]) if args[0] == "image" else args[0])
    assert message in data["error"]


def test_report_renders_every_format_asked_for(project: Path, fake: FakeEngine) -> None:
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    result = invoke("report", "--format", "junit", "--format", "html", "--json")
    assert result.exit_code == 0, result.output
    data = summary(result)
    assert data["junit"] and Path(data["junit"]).is_file()
    assert data["html"] and Path(data["html"]).is_file()
    both = invoke("report", "--format", "junit", "--format", "html", "--output", "x.xml")
    assert both.exit_code == 2 and "--output names one file" in both.output


def test_report_renders_the_formats_of_cit_format(project: Path, fake: FakeEngine) -> None:
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    data = summary(invoke("report", "--json", env={"CIT_FORMAT": "junit"}))
    assert data["junit"] is not None and data["html"] is None


def test_history_json_gives_absolute_run_directories(project: Path, fake: FakeEngine) -> None:
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    [listed] = summary(invoke("history", "--json"))["details"]["runs"]
    assert Path(listed["run_dir"]).is_absolute() and Path(listed["run_dir"]).is_dir()


def test_a_missing_cit_config_is_named_as_the_variable(project: Path, fake: FakeEngine) -> None:
    result = invoke("run", "--dag", "pipeline.yaml", env={"CIT_CONFIG": "/nope.yaml"})
    assert result.exit_code == 2
    assert "CIT_CONFIG='/nope.yaml': no such configuration file" in result.output


def test_a_latest_made_a_folder_is_refused_in_one_line(project: Path, fake: FakeEngine) -> None:
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    latest = project / ".cit/runs/latest"
    latest.unlink()
    latest.mkdir()
    result = invoke("report")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "latest is a folder" in lines[0] and "no run under" not in lines[0]


def test_report_errors_name_the_latest_run_not_flags_never_given(
    project: Path, fake: FakeEngine
) -> None:
    assert invoke("run", "--dag", "pipeline.yaml").exit_code == 0
    [run_dir] = run_dirs(project / ".cit/runs")
    (run_dir / "report.json").unlink()
    (run_dir / "manifest.json").unlink()
    missing = invoke("report")
    assert missing.exit_code == 2 and f"runs/{run_dir.name}: holds neither" in missing.output
    assert "--test-results" not in missing.output and "--output" not in missing.output


def test_a_report_that_cannot_be_written_into_its_run_names_the_file_not_a_flag(
    tmp_path: Path,
) -> None:
    from orchestrator.report.formats import ReportFormat
    from orchestrator.report.model import build_report
    from orchestrator.report.write import write_report_file

    (tmp_path / "run").write_text("a file where the run folder should be")
    target = tmp_path / "run/report.html"
    with pytest.raises(CitError) as raised:
        write_report_file(build_report("run", []), ReportFormat.HTML, target, None)
    assert str(raised.value).startswith("cannot write") and str(tmp_path / "run") in str(
        raised.value
    )
    assert "--output" not in str(raised.value)


def test_a_pyproject_that_is_a_fifo_or_too_large_never_hangs_or_misleads(tmp_path: Path) -> None:
    from orchestrator.cli.defaults import PYPROJECT_LIMIT, find_config

    (tmp_path / "a").mkdir()
    os.mkfifo(tmp_path / "a" / "pyproject.toml")  # nobody writes to it: a read would wait
    assert find_config(tmp_path / "a") is None
    big = "[tool.cit]\n" + "# padding\n" * (PYPROJECT_LIMIT // 10 + 1)
    (tmp_path / "pyproject.toml").write_text(big)
    with pytest.raises(CitError, match=r"pyproject\.toml: is larger than 4\.0 MiB"):
        find_config(tmp_path / "a")
