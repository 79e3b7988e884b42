"""Secrets: named in Python or YAML, read from the host once before anything runs, given to the
container and to nothing else: masked in every file cit writes and everything it shows."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine, Pipeline, RunSettings, Status
from orchestrator.cli.app import app
from orchestrator.data.contracts import ScriptContract
from orchestrator.dataflow import tester as dataflow
from orchestrator.dataflow.contract_check import check_step
from orchestrator.engines.spec import SECRET_MASK, ContainerSpec
from orchestrator.errors import InputError
from orchestrator.report.console import print_flow
from orchestrator.report.model import build_report, pipeline_suite
from orchestrator.report.write import write_run_reports
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import load_and_validate
from orchestrator.run.progress import ConsoleObserver
from orchestrator.run.rundir import read_manifest
from orchestrator.run.secrets import masker, read_host_secrets
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs
from .conftest import write

VALUE = "tok-8f2c1e77d0"
PIPELINE = """
    name: secretive
    steps:
      prep:
        kind: processing
        script: scripts/prep.py
        env: {LABEL: label}
        secrets: [API_TOKEN]
        outputs: [out]
      train:
        kind: training
        script: scripts/train.py
        inputs: {train: {step: prep, output: out}}
        secrets: {WANDB_API_KEY: CI_WANDB_KEY}
"""
ENVIRON = {"API_TOKEN": VALUE, "CI_WANDB_KEY": VALUE + "-w"}


def yaml_step(project: Path, fields: str) -> Path:
    return write(
        project,
        "pipeline.yaml",
        f"name: p\nsteps:\n  prep: {{kind: processing, script: scripts/prep.py, {fields}}}\n",
    )


# Declaring secrets ---------------------------------------------------------------------------


def test_a_list_names_host_variables_and_a_mapping_renames_them(project: Path) -> None:
    pipeline = load_and_validate(write(project, "pipeline.yaml", PIPELINE))
    assert pipeline.steps["prep"].secrets == {"API_TOKEN": "API_TOKEN"}
    assert pipeline.steps["train"].secrets == {"WANDB_API_KEY": "CI_WANDB_KEY"}
    built = Pipeline("p", base_dir=project)
    built.processing("a", script="scripts/prep.py", secrets=["API_TOKEN"])
    built.processing("b", script="scripts/prep.py", secrets={"TOKEN": "CI_TOKEN"})
    assert built.steps["a"].secrets == {"API_TOKEN": "API_TOKEN"}
    assert built.steps["b"].secrets == {"TOKEN": "CI_TOKEN"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            "secrets: [1TOKEN]",
            "steps.prep.secrets.1TOKEN: an environment variable name has letters, digits and "
            "'_', and does not start with a digit",
        ),
        (
            "secrets: {TOKEN: 'ci token'}",
            "steps.prep.secrets.TOKEN: an environment variable name has letters",
        ),
        (
            "secrets: API_TOKEN",
            "steps.prep.secrets: must be a list of variable names, or a mapping of container "
            "to host variable",
        ),
        (
            "env: {API_TOKEN: x}, secrets: [API_TOKEN]",
            "steps.prep: API_TOKEN is in both 'env' and 'secrets'; give it in one of them",
        ),
    ],
)
def test_a_bad_secret_is_one_line_naming_the_field(
    project: Path, fields: str, expected: str
) -> None:
    path = yaml_step(project, fields)
    with pytest.raises(InputError) as caught:
        load_and_validate(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {expected}") and "\n" not in message


def test_a_secret_counts_as_setting_a_variable_the_contract_requires(project: Path) -> None:
    contract = ScriptContract(entry_point="prep.py", required_env_vars=["API_TOKEN"])
    built = Pipeline("p", base_dir=project)
    built.processing("a", script="scripts/prep.py", secrets=["API_TOKEN"])
    built.processing("b", script="scripts/prep.py")
    assert not [i for i in check_step(built.steps["a"], contract) if i.rule == "missing_env_var"]
    assert [i for i in check_step(built.steps["b"], contract) if i.rule == "missing_env_var"]


# Reading them from the host ------------------------------------------------------------------


def test_a_missing_host_variable_stops_cit_before_anything_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(project, "pipeline.yaml", PIPELINE)
    monkeypatch.setenv("API_TOKEN", VALUE)
    monkeypatch.delenv("CI_WANDB_KEY", raising=False)
    monkeypatch.chdir(project)
    result = CliRunner().invoke(app, ["run", "--dag", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {path}: steps.train.secrets.WANDB_API_KEY: the host environment has no "
        "variable CI_WANDB_KEY; set it before running cit (its value is the container's "
        "WANDB_API_KEY)"
    )
    assert not (project / ".cit").exists()


def test_values_given_in_settings_are_not_read_again(project: Path) -> None:
    pipeline = load_and_validate(write(project, "pipeline.yaml", PIPELINE))
    steps = list(pipeline.steps.values())
    known = {"API_TOKEN": "given"}
    values = read_host_secrets(steps, "p.yaml", known, environ={"CI_WANDB_KEY": "w"})
    assert values == {"API_TOKEN": "given", "CI_WANDB_KEY": "w"}
    assert "given" not in repr(RunSettings(secrets=values))


# Where the values go -------------------------------------------------------------------------


def run_secretive(project: Path, behaviours: dict[str, FakeBehaviour]) -> tuple[FakeEngine, str]:
    """The pipeline run on the fake engine, as `cit run` runs it, with its secrets in the host
    environment and every report written; the engine and what the terminal showed."""
    path = write(project, "pipeline.yaml", PIPELINE)
    engine = FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:r"})
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    settings = RunSettings(cit_dir=project / ".cit", max_workers=1)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRON.items():
            patch.setenv(name, value)
        context = RunContext(engine=engine, settings=settings, observer=ConsoleObserver(console))
        flow = dataflow.test_flow(load_and_validate(path), path, context)
    print_flow(console, flow)
    run = read_manifest(Path(flow.run_dir))
    report = build_report("run", [pipeline_suite(flow, run)], started=run.started_at)
    write_run_reports(report, Path(flow.run_dir), ("json", "junit", "html"))
    return engine, out.getvalue()


def files_holding(folder: Path, text: str, skip: tuple[str, ...] = ()) -> list[str]:
    return [
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and path.name not in skip and text.encode() in path.read_bytes()
    ]


def test_the_container_gets_the_value_and_no_file_or_line_of_cit_does(project: Path) -> None:
    leak = FakeBehaviour(
        exit_code=1,
        logs=[f"token is {VALUE}", "nothing secret here"],
        writes={"/opt/ml/output/failure": f"bad token {VALUE}-w"},
    )
    engine, shown = run_secretive(project, {"prep": FakeBehaviour(logs=[VALUE]), "train": leak})
    prep, train = engine.specs
    assert prep.environment()["API_TOKEN"] == VALUE and "API_TOKEN" not in prep.env
    assert train.environment()["WANDB_API_KEY"] == VALUE + "-w"
    assert VALUE not in repr(prep)
    [run_dir] = run_dirs(project / ".cit" / "runs")
    # The failure file is the step's own; everything cit wrote is clean.
    assert files_holding(run_dir, VALUE, skip=("failure",)) == []
    assert VALUE not in shown
    assert f"token is {SECRET_MASK}" in shown and f"bad token {SECRET_MASK}" in shown
    manifest = json.loads((run_dir / "manifest.json").read_text())
    steps = {s["name"]: s for s in manifest["steps"]}
    assert steps["prep"]["container"]["secret_env"] == {"API_TOKEN": SECRET_MASK}
    assert steps["prep"]["log_tail"] == [SECRET_MASK]
    assert steps["train"]["status"] == Status.FAILED.value
    assert steps["train"]["message"] == f"bad token {SECRET_MASK}"
    config = json.loads((run_dir / "steps/prep/config/processingjobconfig.json").read_text())
    assert config["Environment"] == {"LABEL": "label", "API_TOKEN": SECRET_MASK}
    assert (run_dir / "steps/train/log.txt").read_text() == (
        f"token is {SECRET_MASK}\nnothing secret here\n"
    )


def test_masking_covers_every_occurrence_and_each_line_of_a_value() -> None:
    hide = masker(["abc", "abcdef", "", "line one\nline two"])
    assert hide("abcdef abc xabcx") == "*** *** x***x"
    assert hide("got line two") == "got ***"
    assert masker([])("unchanged") == "unchanged"


def test_the_spec_records_secrets_masked() -> None:
    spec = ContainerSpec(name="c", image="i", command=(), env={"A": "1"}, secret_env={"T": "v"})
    assert spec.to_dict()["secret_env"] == {"T": SECRET_MASK}
    assert spec.to_dict()["env"] == {"A": "1"}
    assert spec.environment() == {"A": "1", "T": "v"}
    assert "'v'" not in repr(spec)


def test_a_case_that_sets_the_variable_needs_no_host_value(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.scripttest.cases import cases_from_data
    from orchestrator.scripttest.runner import run_script_tests

    monkeypatch.delenv("API_TOKEN", raising=False)
    pipeline = load_and_validate(yaml_step(project, "secrets: [API_TOKEN], outputs: [out]"))
    cases = cases_from_data(
        {"test_cases": [{"name": "stand-in", "environment_vars": {"API_TOKEN": "fake"}}]},
        project,
    ).test_cases
    engine = FakeEngine(images={RUNNER_IMAGE: "sha256:r"})
    settings = RunSettings(cit_dir=project / ".cit", max_workers=1)
    context = RunContext(engine=engine, settings=settings)
    source = project / "pipeline.yaml"
    result = run_script_tests(pipeline.steps["prep"], cases, context, source_file=source)
    assert result.test_results[0].passed, result.test_results[0]
    [spec] = engine.specs
    assert spec.env["API_TOKEN"] == "fake" and spec.secret_env == {}
    assert os.environ.get("API_TOKEN") is None
