"""One rule for a run whose manifest says ``running``: its cit process gone, it was interrupted
(in ``cit history`` and ``cit report`` alike); its cit process alive, it is running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import FakeEngine, Status
from orchestrator.engines.owner import Owner, owner_alive, this_process
from orchestrator.errors import InputError
from orchestrator.report.history import list_runs, report_of
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.rundir import read_manifest
from orchestrator.run.settings import RUNNER_IMAGE

from .conftest import write
from .test_executor import DIAMOND, settings


def ended_pid() -> int:
    """The pid of a process of this machine that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def left_running(project: Path, owner: Owner) -> Path:
    """A run directory as a cit killed mid-run leaves it: the manifest says running, step 'a'
    done, 'b' and 'e' running, the rest pending; no report."""
    fake = FakeEngine(images={RUNNER_IMAGE: "sha256:runner"})
    run = execute_pipeline(write(project, "d.yaml", DIAMOND), fake, settings=settings(project))
    run_dir = Path(run.run_dir)
    data = json.loads((run_dir / "manifest.json").read_text())
    states = {"a": "succeeded", "b": "running", "e": "running"}
    for step in data["steps"]:
        step["status"] = states.get(step["name"], "pending")
    data.update(status="running", finished_at=None, owner=owner.model_dump(mode="json"))
    (run_dir / "manifest.json").write_text(json.dumps(data))
    for report in run_dir.glob("report.*"):
        report.unlink()
    return run_dir


def outcomes(project: Path, run_dir: Path) -> tuple[str, str]:
    """What ``cit history`` and ``cit report`` say of the run."""
    [record] = list_runs(project / ".cit" / "runs")
    return record.outcome, report_of(run_dir).outcome.value


def test_a_run_whose_cit_is_gone_is_interrupted_in_history_and_report(project: Path) -> None:
    me = this_process()
    run_dir = left_running(project, me.model_copy(update={"pid": ended_pid(), "started": None}))
    assert outcomes(project, run_dir) == ("interrupted", "interrupted")
    run = read_manifest(run_dir)
    assert run.reason is not None and "ended without finishing the run" in run.reason
    statuses = {s.name: s.status for s in run.steps}
    assert statuses == {
        "a": Status.SUCCEEDED,
        "b": Status.INTERRUPTED,
        "c": Status.SKIPPED,
        "d": Status.SKIPPED,
        "e": Status.INTERRUPTED,
    }
    assert run.finished_at is None, "when it ended is not known"


def test_a_run_whose_cit_is_alive_is_running_in_history_and_report(project: Path) -> None:
    run_dir = left_running(project, this_process())
    [record] = list_runs(project / ".cit" / "runs")
    assert record.outcome == "running"
    with pytest.raises(InputError, match=r"the run is still running \(cit pid \d+ on "):
        report_of(run_dir)


@pytest.mark.parametrize(
    ("change", "alive"),
    [
        ({}, True),
        ({"boot_id": "an-earlier-boot"}, False),
        ({"started": -1}, False),  # the pid now belongs to a process that started later
        ({"host": "another-machine"}, None),
    ],
)
def test_an_owner_is_judged_by_machine_boot_pid_and_start_time(
    change: dict[str, object], alive: bool | None
) -> None:
    me = this_process()
    if me.boot_id is None and "boot_id" in change:
        pytest.skip("this system gives no boot id")
    if me.started is None and "started" in change:
        pytest.skip("this system gives no process start time")
    assert owner_alive(me.model_copy(update=change)) is alive


def test_a_run_of_another_machine_is_left_running(project: Path) -> None:
    other = this_process().model_copy(update={"host": "another-machine"})
    left_running(project, other)
    [record] = list_runs(project / ".cit" / "runs")
    assert record.outcome == "running"


def test_a_run_records_its_owner(project: Path) -> None:
    fake = FakeEngine(images={RUNNER_IMAGE: "sha256:runner"})
    run = execute_pipeline(write(project, "d.yaml", DIAMOND), fake, settings=settings(project))
    data = json.loads((Path(run.run_dir) / "manifest.json").read_text())
    assert Owner.model_validate(data["owner"]) == this_process()


def test_a_run_whose_report_cannot_be_read_is_listed_from_its_manifest(project: Path) -> None:
    """A report too large or damaged does not hide the run: its manifest still speaks for it."""
    fake = FakeEngine(images={RUNNER_IMAGE: "sha256:runner"})
    run = execute_pipeline(write(project, "d.yaml", DIAMOND), fake, settings=settings(project))
    run_dir = Path(run.run_dir)
    (run_dir / "report.json").write_text('{"outcome": "passed", "outcome": "failed"}')
    [record] = list_runs(project / ".cit" / "runs")
    assert (record.run_id, record.command, record.outcome) == (run.run_id, "run", "passed")
    assert set(record.steps) == {step.name for step in run.steps}


def test_a_manifest_that_is_a_fifo_is_refused_without_waiting(project: Path) -> None:
    import os

    from orchestrator.errors import RunDirectoryError

    run_dir = project / ".cit" / "runs" / "20260101-000000-fifo"
    run_dir.mkdir(parents=True)
    os.mkfifo(run_dir / "manifest.json")
    with pytest.raises(RunDirectoryError, match=r"manifest\.json: is not a regular file"):
        read_manifest(run_dir)
