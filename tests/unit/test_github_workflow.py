"""The GitHub Actions workflow in examples/: every cit command in it parses against the CLI,
and its JUnit reports are the ones the commands write and the report action reads."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from orchestrator.cli import app

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "cit.yml"


def steps() -> list[dict[str, Any]]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (job,) = data["jobs"].values()
    return list(job["steps"])


def cit_commands() -> list[list[str]]:
    """The arguments of each ``run:`` that calls cit (a folded command is one line)."""
    runs = [" ".join(str(step.get("run", "")).split()) for step in steps()]
    return [words[1:] for words in map(shlex.split, runs) if words[:1] == ["cit"]]


def test_every_cit_command_in_the_workflow_parses() -> None:
    commands = cit_commands()
    assert [c[0] for c in commands] == ["image", "run", "test-script"]
    for args in commands:
        # --help is handled once every option is known, so an unknown one fails here.
        done = CliRunner().invoke(app, [*args, "--help"])
        assert done.exit_code == 0, (args, done.output)
        assert "Usage:" in done.output


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
