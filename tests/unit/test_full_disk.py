"""A run directory on a full disk (ENOSPC raised by the write functions, with the fake engine):
each step keeps its exit code and status, the failure names the path and its disk, the last
manifest is written into the space the run set aside, and nothing is left half-written."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator import FakeBehaviour, FakeEngine, Status
from orchestrator.errors import RunDirectoryError
from orchestrator.files import mount_point, write_problem, write_text_atomic
from orchestrator.run import rundir, step_runner
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.rundir import RESERVE
from orchestrator.run.settings import RUNNER_IMAGE

from ..runs import run_dirs
from .conftest import write
from .test_executor import TRAIN, settings

ONE = "name: one\nsteps:\n  a: {kind: processing, script: scripts/prep.py}\n"
NO_SPACE = "No space left on device"


def engine(**behaviours: FakeBehaviour) -> FakeEngine:
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


def full_disk(path: object = None) -> OSError:
    return (
        OSError(errno.ENOSPC, NO_SPACE) if path is None else OSError(errno.ENOSPC, NO_SPACE, path)
    )


class FullLog:
    """A log file on a disk that is full: every write and the final flush fail."""

    def write(self, text: str) -> int:
        raise full_disk()

    def close(self) -> None:
        raise full_disk()


class FullOnClose(FullLog):
    """A log whose lines fit in the buffer; the disk is found full when it is flushed."""

    def write(self, text: str) -> int:
        return len(text)


def log_on_full_disk(monkeypatch: pytest.MonkeyPatch, log_file: type[FullLog] = FullLog) -> None:
    def enter(log: step_runner.StepLog) -> step_runner.StepLog:
        log.path.touch()
        log.handle = log_file()  # type: ignore[assignment]
        return log

    monkeypatch.setattr(step_runner.StepLog, "__enter__", enter)


def manifest_full_while(
    monkeypatch: pytest.MonkeyPatch, full: Callable[[Path], bool]
) -> list[Path]:
    """Manifest writes raise ENOSPC while ``full(path)``; the paths that failed."""
    failed: list[Path] = []
    real = rundir.write_json_atomic

    def write_json(path: Path, data: Any) -> None:
        if full(path):
            failed.append(path)
            raise OSError(errno.ENOSPC, NO_SPACE, str(path))
        real(path, data)

    monkeypatch.setattr(rundir, "write_json_atomic", write_json)
    return failed


def test_a_log_on_a_full_disk_keeps_exit_code_status_and_tail(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_on_full_disk(monkeypatch)
    fake = engine(a=FakeBehaviour(exit_code=3, logs=["working", "ValueError: bad"]))
    result = execute_pipeline(write(project, "one.yaml", ONE), fake, settings=settings(project))
    step = result.step("a")
    assert step.status is Status.FAILED and step.exit_code == 3
    assert step.fault is not None and step.log_file is not None
    assert f"no space left on device writing {step.log_file}" in step.fault
    assert f"(the disk mounted at {mount_point(project)} is full)" in step.fault
    assert step.reason == f"exited with code 3; {step.fault}"
    assert "ValueError: bad" in step.log_tail
    assert result.status is Status.FAILED and result.reason == step.fault
    on_disk = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert on_disk["status"] == "failed" and on_disk["steps"][0]["exit_code"] == 3


@pytest.mark.parametrize("log_file", [FullLog, FullOnClose])
def test_a_step_that_succeeded_but_could_not_be_logged_whole_is_an_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, log_file: type[FullLog]
) -> None:
    log_on_full_disk(monkeypatch, log_file)
    fake = engine(a=FakeBehaviour(logs=["done"]))
    result = execute_pipeline(write(project, "one.yaml", ONE), fake, settings=settings(project))
    step = result.step("a")
    assert step.status is Status.ERROR and step.exit_code == 0
    assert step.fault == (
        f"cit could not save the whole log: {write_problem(full_disk(), step.log_file)}"
    )
    assert step.reason == f"exited with code 0, but {step.fault}"
    assert not result.ok and result.reason == step.fault


def test_outputs_that_cannot_be_packed_keep_the_exit_code_and_skip_downstream(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pack(paths: Any, hosts: Any = None) -> None:
        raise full_disk(str(paths.root / "model.tar.gz"))

    monkeypatch.setattr(step_runner, "package_training_outputs", pack)
    result = execute_pipeline(write(project, "t.yaml", TRAIN), engine(), settings=settings(project))
    train = result.step("train")
    assert train.status is Status.ERROR and train.exit_code == 0
    assert train.fault is not None and "model.tar.gz" in train.fault
    assert train.fault.startswith("cit could not save what it left: no space left on device")
    assert result.step("evaluate").status is Status.SKIPPED


def test_the_last_manifest_is_written_into_the_space_set_aside(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = manifest_full_while(monkeypatch, lambda path: (path.parent / RESERVE).exists())
    fake = engine(a=FakeBehaviour(exit_code=3))
    result = execute_pipeline(write(project, "one.yaml", ONE), fake, settings=settings(project))
    run_dir = Path(result.run_dir)
    assert failed, "the manifest writes during the run were meant to find the disk full"
    on_disk = json.loads((run_dir / "manifest.json").read_text())
    assert on_disk["status"] == "failed" and on_disk["steps"][0]["exit_code"] == 3
    assert on_disk["reason"] == write_problem(full_disk(str(run_dir / "manifest.json")))
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "steps"]


def test_a_manifest_that_can_never_be_written_names_the_path(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest_full_while(monkeypatch, lambda path: True)
    with pytest.raises(RunDirectoryError) as raised:
        execute_pipeline(write(project, "one.yaml", ONE), engine(), settings=settings(project))
    message = str(raised.value)
    assert "no space left on device writing" in message and "manifest.json" in message
    assert "(None)" not in message
    [run_dir] = run_dirs(project / ".cit" / "runs")
    assert list(run_dir.glob(".*")) == [], "a partial file or the reserve was left behind"


def test_a_disk_too_full_for_the_reserve_stops_the_run_before_any_step(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def allocate(fd: int, size: int) -> None:
        raise full_disk()

    monkeypatch.setattr(rundir, "_allocate", allocate)
    fake = engine()
    with pytest.raises(RunDirectoryError, match=r"no space left on device writing .*space-reserve"):
        execute_pipeline(write(project, "one.yaml", ONE), fake, settings=settings(project))
    assert fake.specs == []


def test_a_finished_run_leaves_no_reserve(project: Path) -> None:
    result = execute_pipeline(write(project, "one.yaml", ONE), engine(), settings=settings(project))
    assert result.ok and not (Path(result.run_dir) / RESERVE).exists()


def test_an_atomic_write_that_fails_keeps_the_old_file_and_names_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def replace(source: object, destination: object) -> None:
        raise full_disk()

    monkeypatch.setattr("orchestrator.files.os.replace", replace)
    with pytest.raises(OSError) as raised:
        write_text_atomic(target, "new")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]


def test_write_problem_names_the_path_and_the_full_disk(tmp_path: Path) -> None:
    target = tmp_path / "run" / "log.txt"
    line = write_problem(full_disk(), target)
    assert line == (
        f"no space left on device writing {target} (the disk mounted at "
        f"{mount_point(tmp_path)} is full)"
    )
    denied = write_problem(OSError(errno.EACCES, "Permission denied", str(target)))
    assert denied == f"permission denied writing {target}"


def test_a_config_file_that_cannot_be_written_is_an_error_naming_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.write_text

    def write_text(path: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if path.parent.name == "config":
            raise full_disk()
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    fake = engine()
    result = execute_pipeline(write(project, "one.yaml", ONE), fake, settings=settings(project))
    step = result.step("a")
    assert step.status is Status.ERROR and step.exit_code is None and fake.specs == []
    assert step.fault is not None
    assert step.fault.startswith("cit could not prepare or run this step: no space left on ")
    assert f"{Path(result.run_dir) / 'steps' / 'a' / 'config'}/" in step.fault
    assert result.reason == step.fault
