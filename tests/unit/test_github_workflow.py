"""The GitHub Actions workflow in examples/: every cit command in it parses against the CLI,
and its JUnit reports are the ones the commands write and the report action reads."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from orchestrator.cli.app import app
from orchestrator.report.formats import ReportFormat

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "cit.yml"


def steps() -> list[dict[str, Any]]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (job,) = data["jobs"].values()
    return list(job["steps"])


def cit_commands() -> list[list[str]]:
    """The arguments of each ``run:`` that calls cit (a folded command is one line)."""
    runs = [" ".join(str(step.get("run", "")).split()) for step in steps()]
    return [words[1:] for words in map(shlex.split, runs) if words[:1] == ["cit"]]


def parsed(args: list[str]) -> dict[str, Any]:
    """The values of ``args`` as cit's command would receive them, without running it: an
    unknown option or a value it does not accept raises here."""
    command = typer.main.get_command(app)
    while hasattr(command, "commands"):  # a group: the next word names its subcommand
        name, *args = args
        command = command.commands[name]
    return dict(command.make_context(name, args).params)


def test_every_cit_command_in_the_workflow_parses() -> None:
    commands = cit_commands()
    assert [c[0] for c in commands] == ["image", "run", "test-script"]
    values = [parsed(args) for args in commands]
    assert values[1]["report_format"] == [ReportFormat.JUNIT, ReportFormat.HTML]
    assert values[2]["report_format"] == [ReportFormat.JUNIT]


def test_a_value_a_command_does_not_accept_fails_the_parse() -> None:
    with pytest.raises(Exception, match="'htmll' is not one of"):
        parsed(["run", "--dag", "p.py", "--format", "htmll"])
    with pytest.raises(Exception, match="No such option: --nope"):
        parsed(["run", "--dag", "p.py", "--nope"])


def test_a_failed_cit_command_fails_the_job() -> None:
    """cit exits 1 on any failure; nothing in the workflow swallows it, and the published
    check is red too (the report action passes by default)."""
    cit_steps = [s for s in steps() if str(s.get("run", "")).startswith("cit ")]
    assert all(not s.get("continue-on-error") for s in cit_steps)
    assert all("|| true" not in str(s["run"]) and "set +e" not in str(s["run"]) for s in cit_steps)
    (publish,) = [s for s in steps() if "action-junit-report" in str(s.get("uses", ""))]
    assert publish["with"]["fail_on_failure"] is True


def test_the_junit_reports_are_written_and_published() -> None:
    commands = cit_commands()
    for args in commands[1:]:
        assert "--format" in args and args[args.index("--format") + 1] == "junit"
    publish = [s for s in steps() if "action-junit-report" in str(s.get("uses", ""))]
    (step,) = publish
    assert step["with"]["report_paths"] == ".cit/runs/*/report.xml"
    assert step["if"] == "always()"
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert data["permissions"]["checks"] == "write"
