"""Executing plans on the fake engine: order, skipping, statuses, manifest, interruption."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator import FakeBehaviour, FakeEngine, RunSettings, Status
from orchestrator.errors import ImageError, RunDirectoryError
from orchestrator.run.pipeline_run import execute_pipeline
from orchestrator.run.results import StepResult
from orchestrator.run.rundir import create_run_dir
from orchestrator.run.settings import RUNNER_IMAGE

from .conftest import write

DIAMOND = """
name: diamond
steps:
  a: {kind: processing, script: scripts/prep.py, outputs: [out]}
  b: {kind: processing, script: scripts/prep.py, outputs: [out],
      inputs: {x: {step: a, output: out}}}
  c: {kind: processing, script: scripts/prep.py, outputs: [out],
      inputs: {x: {step: a, output: out}}}
  d: {kind: processing, script: scripts/prep.py,
      inputs: {b: {step: b, output: out}, c: {step: c, output: out}}}
  e: {kind: processing, script: scripts/prep.py}
"""

TRAIN = """
name: t
steps:
  train: {kind: training, script: scripts/train.py, inputs: {train: data}}
  evaluate: {kind: processing, script: scripts/evaluate.py, outputs: [metrics],
             inputs: {model: {step: train, output: model}}}
"""


def settings(tmp: Path, workers: int = 2) -> RunSettings:
    return RunSettings(
        cit_dir=tmp / ".cit",
        max_workers=workers,
        cpus_available=2,
        memory_available=8 * 2**30,
        user=None,
    )


def engine(**behaviours: FakeBehaviour) -> FakeEngine:
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


def test_diamond_runs_in_dag_order(project: Path) -> None:
    fake = engine()
    result = execute_pipeline(write(project, "d.yaml", DIAMOND), fake, settings=settings(project))
    assert result.ok and result.exit_code == 0
    order = [spec.labels["cit.step"] for spec in fake.specs]
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")


def test_failure_skips_descendants_but_not_independent_steps(project: Path) -> None:
    fake = engine(b=FakeBehaviour(exit_code=3, logs=["Traceback", "ValueError: bad"]))
    result = execute_pipeline(write(project, "d.yaml", DIAMOND), fake, settings=settings(project))
    assert result.status is Status.FAILED and result.exit_code == 1
    statuses = {s.name: s.status for s in result.steps}
    assert statuses == {
        "a": Status.SUCCEEDED,
        "b": Status.FAILED,
        "c": Status.SUCCEEDED,
        "d": Status.SKIPPED,
        "e": Status.SUCCEEDED,
    }
    b = result.step("b")
    assert b.exit_code == 3 and b.reason == "exited with code 3"
    assert b.log_tail == ["Traceback", "ValueError: bad"]
    assert "upstream step 'b'" in (result.step("d").reason or "")


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [
        (FakeBehaviour(seconds=5), Status.TIMEOUT),
        (FakeBehaviour(oom_killed=True), Status.OOM),
        (FakeBehaviour(engine_error="no such image"), Status.ERROR),
    ],
)
def test_fault_statuses(project: Path, behaviour: FakeBehaviour, status: Status) -> None:
    text = (
        "name: x\nsteps:\n  s: {kind: processing, script: scripts/prep.py, timeout_seconds: 0.2}\n"
    )
    result = execute_pipeline(
        write(project, "x.yaml", text), engine(s=behaviour), settings=settings(project)
    )
    assert result.step("s").status is status
    assert result.step("s").reason


def test_writing_into_an_input_fails_and_leaves_upstream_output(project: Path) -> None:
    text = """
    name: ro
    steps:
      a: {kind: processing, script: scripts/prep.py, outputs: [out]}
      b: {kind: processing, script: scripts/prep.py, inputs: {x: {step: a, output: out}}}
    """
    fake = engine(
        a=FakeBehaviour(writes={"/opt/ml/processing/output/out/data.csv": "original"}),
        b=FakeBehaviour(writes={"/opt/ml/processing/input/x/data.csv": "changed"}),
    )
    result = execute_pipeline(write(project, "ro.yaml", text), fake, settings=settings(project))
    assert result.step("b").status is Status.FAILED
    produced = Path(result.run_dir) / "steps/a/outputs/out/data.csv"
    assert produced.read_text() == "original"


def test_training_output_is_packaged_as_model_tarball(project: Path) -> None:
    import tarfile

    fake = engine(
        train=FakeBehaviour(
            writes={"/opt/ml/model/model.json": "{}", "/opt/ml/output/data/summary.json": "[]"}
        )
    )
    result = execute_pipeline(write(project, "t.yaml", TRAIN), fake, settings=settings(project))
    assert result.ok
    tarball = Path(result.run_dir) / "steps/train/outputs/model/model.tar.gz"
    with tarfile.open(tarball) as archive:
        assert archive.getnames() == ["model.json"]
    with tarfile.open(Path(result.run_dir) / "steps/train/outputs/output_data/output.tar.gz") as a:
        assert a.getnames() == ["summary.json"]
    evaluate = next(s for s in fake.specs if s.labels["cit.step"] == "evaluate")
    model_mount = next(m for m in evaluate.mounts if m.target == "/opt/ml/processing/input/model")
    assert model_mount.read_only and Path(model_mount.source) == tarball.parent


def test_failure_message_file_is_reported(project: Path) -> None:
    fake = engine(train=FakeBehaviour(exit_code=1, writes={"/opt/ml/output/failure": "no data"}))
    result = execute_pipeline(write(project, "t.yaml", TRAIN), fake, settings=settings(project))
    assert result.step("train").message == "no data"
    assert result.step("evaluate").status is Status.SKIPPED


def test_manifest_records_steps_specs_and_status(project: Path) -> None:
    result = execute_pipeline(write(project, "t.yaml", TRAIN), engine(), settings=settings(project))
    manifest = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["status"] == "succeeded"
    assert [s["name"] for s in manifest["steps"]] == ["train", "evaluate"]
    train = manifest["steps"][0]
    assert train["image_id"] == "sha256:runner"
    assert train["container"]["image"] == RUNNER_IMAGE
    assert train["container"]["labels"]["cit.step"] == "train"
    assert train["outputs"][0]["name"] == "model"
    assert (Path(result.run_dir) / "steps/train/log.txt").exists()


def test_each_run_gets_a_new_directory(project: Path) -> None:
    path = write(project, "t.yaml", TRAIN)
    first = execute_pipeline(path, engine(), settings=settings(project))
    second = execute_pipeline(path, engine(), settings=settings(project))
    assert first.run_dir != second.run_dir
    assert (Path(first.run_dir) / "manifest.json").exists()
    with pytest.raises(RunDirectoryError):
        create_run_dir(Path(first.run_dir).parent, Path(first.run_dir).name)


def test_missing_custom_image_is_an_input_error(project: Path) -> None:
    text = "name: x\nsteps:\n  s: {kind: processing, script: scripts/prep.py, image: mine:1}\n"
    with pytest.raises(ImageError, match="mine:1"):
        execute_pipeline(write(project, "x.yaml", text), engine(), settings=settings(project))
    assert not (project / ".cit").exists()


def test_missing_runner_image_is_built(project: Path) -> None:
    built: list[str] = []
    fake = FakeEngine()
    execute_pipeline(
        write(project, "t.yaml", TRAIN),
        fake,
        settings=settings(project),
        build_default=built.append,
    )
    assert built == [RUNNER_IMAGE]


def test_cancel_marks_run_interrupted_and_keeps_finished_outputs(project: Path) -> None:
    text = """
    name: long
    steps:
      a: {kind: processing, script: scripts/prep.py, outputs: [out]}
      b: {kind: processing, script: scripts/prep.py, inputs: {x: {step: a, output: out}}}
      c: {kind: processing, script: scripts/prep.py, inputs: {x: {step: a, output: out}},
          outputs: [out]}
      d: {kind: processing, script: scripts/prep.py, inputs: {x: {step: c, output: out}}}
    """
    cancel = threading.Event()
    fake = engine(
        a=FakeBehaviour(writes={"/opt/ml/processing/output/out/f": "kept"}),
        b=FakeBehaviour(seconds=30),
        c=FakeBehaviour(seconds=30),
    )
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    result = execute_pipeline(
        write(project, "l.yaml", text), fake, settings=settings(project), cancel=cancel
    )
    statuses = {s.name: s.status for s in result.steps}
    assert result.status is Status.INTERRUPTED
    assert statuses == {
        "a": Status.SUCCEEDED,
        "b": Status.INTERRUPTED,
        "c": Status.INTERRUPTED,
        "d": Status.SKIPPED,
    }
    assert (Path(result.run_dir) / "steps/a/outputs/out/f").read_text() == "kept"
    manifest = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"


def dead_owner() -> str:
    """'host:pid' of a cit process of this machine that has ended."""
    import socket
    import subprocess
    import sys

    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{process.stdout.strip()}"


def test_orphans_of_this_machine_are_swept_other_machines_are_left(project: Path) -> None:
    from orchestrator.engines.base import ContainerInfo

    fake = engine()
    fake.leftovers["old"] = ContainerInfo(
        "old", {"cit.managed": "true", "cit.owner": dead_owner()}, "running"
    )
    fake.leftovers["theirs"] = ContainerInfo(
        "theirs", {"cit.managed": "true", "cit.owner": "other-ci-host:1"}, "running"
    )
    execute_pipeline(write(project, "t.yaml", TRAIN), fake, settings=settings(project))
    assert "old" in fake.removed
    assert "theirs" not in fake.removed


def test_containers_are_created_ahead_and_discarded_when_skipped(project: Path) -> None:
    text = """
    name: ahead
    steps:
      a: {kind: processing, script: scripts/prep.py, outputs: [out]}
      b: {kind: processing, script: scripts/prep.py, outputs: [out],
          inputs: {x: {step: a, output: out}}}
      c: {kind: processing, script: scripts/prep.py, inputs: {x: {step: b, output: out}}}
    """
    fake = engine(a=FakeBehaviour(seconds=0.5), b=FakeBehaviour(exit_code=1, seconds=0.5))
    result = execute_pipeline(write(project, "a.yaml", text), fake, settings=settings(project))
    names = {s.name: s.container_name for s in result.steps}
    assert names["b"] in fake.created and names["c"] in fake.created
    assert result.step("c").status is Status.SKIPPED
    assert names["c"] in fake.removed


def test_cancel_before_a_created_ahead_step_starts_discards_its_container(
    project: Path,
) -> None:
    from orchestrator.run.observer import NullObserver

    text = """
    name: ahead
    steps:
      a: {kind: processing, script: scripts/prep.py, outputs: [out]}
      b: {kind: processing, script: scripts/prep.py, inputs: {x: {step: a, output: out}}}
    """
    cancel = threading.Event()

    class CancelWhenBIsCreated(NullObserver):
        def step_started(self, step: object) -> None:
            threading.Timer(0.3, cancel.set).start()

    fake = engine(a=FakeBehaviour(seconds=1.0))
    result = execute_pipeline(
        write(project, "c.yaml", text),
        fake,
        settings=settings(project),
        observer=CancelWhenBIsCreated(),
        cancel=cancel,
    )
    b = result.step("b")
    assert b.status is Status.SKIPPED and b.container_name in fake.created
    assert b.container_name in fake.removed


def test_manifest_that_cannot_be_written_is_reported_after_clean_up(project: Path) -> None:
    import shutil

    from orchestrator.errors import RunDirectoryError
    from orchestrator.run.observer import NullObserver

    class RemoveRunDir(NullObserver):
        def step_finished(self, step: StepResult) -> None:
            runs = project / ".cit" / "runs"
            for run in runs.iterdir():
                if run.is_symlink():  # latest, the alias of this run
                    run.unlink()
                else:
                    shutil.rmtree(run)

    with pytest.raises(RunDirectoryError, match="manifest"):
        execute_pipeline(
            write(project, "t.yaml", TRAIN),
            engine(),
            settings=settings(project),
            observer=RemoveRunDir(),
        )


def test_a_steps_log_is_cut_at_the_log_limit_and_says_so(project: Path) -> None:
    lines = [f"line {i:04d} " + "x" * 40 for i in range(100)]
    fake = engine(a=FakeBehaviour(logs=lines))
    one = "name: one\nsteps:\n  a: {kind: processing, script: scripts/prep.py}\n"
    path = write(project, "one.yaml", one)
    limited = replace(settings(project), log_limit_bytes=1000)
    step = execute_pipeline(path, fake, settings=limited).step("a")
    log = Path(str(step.log_file)).read_text()
    saved = log.splitlines()
    assert saved[:-2] == lines[:19]  # 19 lines of 51 bytes fit in 1000
    assert saved[-2] == "[cit] log.txt is cut here at 1000 B (log limit)"
    assert saved[-1].startswith("[cit] 81 more line(s), 4.0 KiB, were not saved")
    assert len(log.encode()) < 1200
    assert step.log_tail[-1] == lines[-1]  # the tail still shows how the step ended
