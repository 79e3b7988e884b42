"""The GitHub Actions workflow in examples/: every cit command in it parses against the CLI,
its actions are current, the runner image is cached under cit's own key, any failure turns
the job red, and the reports are published and kept whatever happened."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from orchestrator.cli.app import app
from orchestrator.report.formats import ReportFormat

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "cit.yml"
CURRENT_MAJORS = {
    # the first major of each action that runs on Node 24 (Node 20 left GitHub's runners in 2026)
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/cache/restore": 5,
    "actions/cache/save": 5,
    "actions/upload-artifact": 6,
    "mikepenz/action-junit-report": 6,
}


def workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text(encoding="utf-8")))


def job() -> dict[str, Any]:
    (only,) = workflow()["jobs"].values()
    return dict(only)


def steps() -> list[dict[str, Any]]:
    return list(job()["steps"])


def step_using(action: str) -> dict[str, Any]:
    (found,) = [s for s in steps() if str(s.get("uses", "")).startswith(action + "@")]
    return found


def cit_commands() -> list[list[str]]:
    """The arguments of each ``run:`` line that calls cit (a folded command is one line), the
    workflow's env values put in."""
    env = {k: str(v) for k, v in workflow()["env"].items()}
    commands = []
    for step in steps():
        for line in str(step.get("run", "")).splitlines():
            words = shlex.split(re.sub(r'"\$(\w+)"', lambda m: env.get(m.group(1), "x"), line))
            if words[:1] == ["cit"]:
                commands.append(words[1:])
            elif "$(cit " in line:
                commands.append(shlex.split(line.split("$(cit ", 1)[1].split(")", 1)[0]))
    return commands


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
    assert [c[:2] for c in commands] == [
        ["image", "key"],
        ["image", "build"],
        ["run", "--dag"],
        ["test-script", "--script"],
    ]
    values = [parsed(args) for args in commands]
    assert values[2]["report_format"] == [ReportFormat.JUNIT, ReportFormat.HTML]
    assert values[3]["report_format"] == [ReportFormat.JUNIT, ReportFormat.HTML]
    repo = WORKFLOW.parents[2]
    assert (repo / values[2]["dag"]).is_file() and (repo / values[3]["test_cases"]).is_file()


def test_a_value_a_command_does_not_accept_fails_the_parse() -> None:
    with pytest.raises(Exception, match="'htmll' is not one of"):
        parsed(["run", "--dag", "p.py", "--format", "htmll"])
    with pytest.raises(Exception, match="No such option: --nope"):
        parsed(["run", "--dag", "p.py", "--nope"])


def test_every_action_runs_on_a_current_node() -> None:
    used = [str(s["uses"]) for s in steps() if "uses" in s]
    assert used, "the workflow uses actions"
    for ref in used:
        name, _, version = ref.partition("@")
        assert name in CURRENT_MAJORS, f"{ref}: an action this test does not know"
        major = int(version.lstrip("v").split(".")[0])
        assert major >= CURRENT_MAJORS[name], f"{ref} runs on a Node runtime GitHub removed"


def test_a_failed_cit_command_fails_the_job() -> None:
    """cit exits 1 on any failure; nothing in the workflow swallows it, every run line is
    bash with pipefail, and the published check is red too (the action passes by default)."""
    assert job()["defaults"]["run"]["shell"] == "bash"  # GitHub runs it as bash -eo pipefail
    for step in steps():
        run = str(step.get("run", ""))
        assert not step.get("continue-on-error"), step
        assert "|| true" not in run and "set +e" not in run and "|| :" not in run, step
        assert "shell" not in step, "one shell for every step: the job's bash"
    assert step_using("mikepenz/action-junit-report")["with"]["fail_on_failure"] is True


def test_the_reports_are_published_and_kept_whatever_happened() -> None:
    publish = step_using("mikepenz/action-junit-report")
    assert publish["with"]["report_paths"] == ".cit/runs/*/report.xml"
    assert not publish["with"].get("follow_symlink")  # .cit/runs/latest: not a second copy
    assert publish["if"] == "always()"
    assert workflow()["permissions"]["checks"] == "write"
    keep = step_using("actions/upload-artifact")
    assert keep["if"] == "always()"
    paths = str(keep["with"]["path"]).split()
    assert ".cit/runs/*/report.html" in paths and ".cit/runs/*/report.xml" in paths
    assert "!.cit/runs/latest/" in paths  # the alias of the newest run: kept once, not twice
    for args in cit_commands()[2:]:
        assert "--format" in args and args[args.index("--format") + 1] == "junit"


def test_the_runner_image_is_cached_under_the_key_cit_reports() -> None:
    """Not cit's wheel cache (empty where a registry builds the image) nor a file inside cit's
    package: the saved image, keyed by `cit image key`, loaded when the key hits."""
    (key_step,) = [s for s in steps() if "$(cit image key)" in str(s.get("run", ""))]
    cache = step_using("actions/cache/restore")
    assert cache["with"]["key"] == "${{ steps." + key_step["id"] + ".outputs.key }}"
    assert cache["with"]["path"].rstrip("/") != "~/.cache/cit"
    assert "runner_image/" not in str(cache["with"])
    (load,) = [s for s in steps() if "docker load" in str(s.get("run", ""))]
    run = str(load["run"])
    assert cache["with"]["path"] in run.replace("--input ", "").replace("--output ", "")
    assert "docker save cit-runner" in run and "cit image build" in run
    assert f"steps.{cache['id']}.outputs.cache-hit" in str(load.get("env", {}))


def test_a_built_image_is_saved_before_any_cit_run_so_a_red_job_keeps_it() -> None:
    """actions/cache saves only when the whole job passes; the save is its own step, right
    after the build, run whenever the restore missed."""
    restore, save = step_using("actions/cache/restore"), step_using("actions/cache/save")
    assert save["with"] == restore["with"]
    assert f"steps.{restore['id']}.outputs.cache-hit != 'true'" in str(save.get("if", ""))
    order = [str(s.get("uses", "")) + str(s.get("run", "")) for s in steps()]
    saved_at = order.index(str(save["uses"]))
    first_run = min(i for i, text in enumerate(order) if text.startswith("cit run"))
    assert order.index(str(restore["uses"])) < saved_at < first_run
