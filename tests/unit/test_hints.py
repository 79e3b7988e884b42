"""Hints: what points at the cause of a step's failure, from its result and its inputs; and
where they are shown (console panel, report.json, JUnit, HTML), on the fake engine."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.engines.base import PROCESS_IMAGE_ID
from orchestrator.pipeline.model import Pipeline
from orchestrator.run.hints import ArchiveInput, archive_inputs, missing_module, step_hints
from orchestrator.run.results import Status, StepResult
from orchestrator.run.settings import RUNNER_IMAGE

TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/opt/ml/processing/input/code/evaluate.py", line 3, in <module>',
    "    import lightgbm",
    "ModuleNotFoundError: No module named 'lightgbm'",
]


def failed(
    log: list[str],
    status: Status = Status.FAILED,
    image: str = RUNNER_IMAGE,
    image_id: str = "sha256:x",
) -> StepResult:
    return StepResult(
        name="evaluate", kind="processing", status=status, log_tail=log, image=image,
        image_id=image_id,
    )  # fmt: skip


MODEL = ArchiveInput("model", "train")


# -- missing modules ------------------------------------------------------------------------


def test_a_missing_module_in_the_runner_image_says_how_to_add_it() -> None:
    (hint,) = step_hints(failed(TRACEBACK), [MODEL])  # the module, not the archive
    assert hint.startswith(f"module 'lightgbm' is not in the runner image {RUNNER_IMAGE}")
    assert "cit image build --add lightgbm" in hint and "requirements.txt" in hint
    assert "image:" in hint


def test_the_package_of_an_import_name_is_named() -> None:
    log = ["ModuleNotFoundError: No module named 'sklearn'"]
    (hint,) = step_hints(failed(log))
    assert "cit image build --add scikit-learn'" in hint


def test_a_missing_module_in_another_image_names_that_image() -> None:
    (hint,) = step_hints(failed(TRACEBACK, image="mine:1"))
    assert hint.startswith("module 'lightgbm' is not in the step's image mine:1: add lightgbm")


def test_a_missing_module_in_process_isolation_names_the_host_python() -> None:
    (hint,) = step_hints(failed(TRACEBACK, image_id=PROCESS_IMAGE_ID))
    assert "process isolation: pip install lightgbm there" in hint


def test_a_missing_submodule_is_a_version_mismatch() -> None:
    log = ["ModuleNotFoundError: No module named 'sklearn.ensemble._gb_losses'"]
    (hint,) = step_hints(failed(log))
    assert "'sklearn' may be installed" in hint and "scikit-learn==" in hint


def test_the_last_missing_module_counts() -> None:
    log = ["ModuleNotFoundError: No module named 'a'", "ModuleNotFoundError: No module named 'b'"]
    assert missing_module(log) == "b"
    assert missing_module(["ImportError: cannot import name 'x'"]) is None


# -- model archives -------------------------------------------------------------------------


def test_a_failed_step_reading_a_model_archive_is_told_to_extract_it() -> None:
    (hint,) = step_hints(failed(["NotADirectoryError: /opt/ml/processing/input/model"]), [MODEL])
    assert hint == (
        "input 'model' is training step 'train''s model.tar.gz, as SageMaker hands a trained "
        "model on; extract it (tarfile) before loading the model"
    )


@pytest.mark.parametrize("status", [Status.OOM, Status.TIMEOUT, Status.SUCCEEDED, Status.SKIPPED])
def test_no_archive_hint_unless_the_script_itself_failed(status: Status) -> None:
    assert step_hints(failed([], status=status), [MODEL]) == []


def test_no_hint_without_a_clue() -> None:
    assert step_hints(failed(["ValueError: bad"])) == []


def test_archive_inputs_are_a_training_steps_model_or_a_tar_gz_file(tmp_path: Path) -> None:
    pipeline = Pipeline("p", base_dir=tmp_path)
    (tmp_path / "s.py").write_text("")
    (tmp_path / "model.tar.gz").write_bytes(b"")
    train = pipeline.training("train", script="s.py")
    prep = pipeline.processing("prep", script="s.py", outputs=["model"])
    pipeline.processing(
        "evaluate",
        script="s.py",
        inputs={
            "model": train.model,
            "other": prep.output("model"),  # named model, but not a training step's archive
            "given": "model.tar.gz",
        },
    )
    found = archive_inputs(pipeline.steps["evaluate"], pipeline.steps)
    assert found == [ArchiveInput("model", "train"), ArchiveInput("given", None, "model.tar.gz")]


# -- where hints are shown ------------------------------------------------------------------

PIPELINE = """
name: hinted
steps:
  train: {kind: training, script: scripts/train.py, inputs: {train: data}}
  evaluate: {kind: processing, script: scripts/evaluate.py, outputs: [metrics],
             inputs: {model: {step: train, output: model}}}
"""


def test_a_hint_is_on_the_panel_in_report_json_junit_and_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in {
        "scripts/train.py": "print('train')\n",
        "scripts/evaluate.py": "print('evaluate')\n",
        "data/train.csv": "x\n1\n",
        "pipeline.yaml": PIPELINE,
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    crash = FakeBehaviour(exit_code=1, logs=["IsADirectoryError: [Errno 21] model"])
    fake = FakeEngine({"evaluate": crash}, images={RUNNER_IMAGE: "sha256:runner"})
    monkeypatch.setattr(cli, "connect", lambda: fake)
    monkeypatch.setattr(cli, "stop_on_signals", lambda cancel, observer: None)
    args = ["run", "--dag", str(tmp_path / "pipeline.yaml"), "--cit-dir", str(tmp_path / ".cit")]
    done = CliRunner().invoke(
        app, [*args, "-q", "--format", "junit", "--format", "html"], env={"COLUMNS": "300"}
    )
    assert done.exit_code == 1, done.output
    said = "input 'model' is training step 'train''s model.tar.gz"
    assert f"hint: {said}" in done.output  # on the failure panel
    [run_dir] = (tmp_path / ".cit" / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    evaluate = next(s for s in manifest["steps"] if s["name"] == "evaluate")
    assert evaluate["hints"] and evaluate["hints"][0].startswith(said)
    report = json.loads((run_dir / "report.json").read_text())
    item = next(t for t in report["suites"][0]["tests"] if t["name"] == "evaluate")
    assert item["hints"] == evaluate["hints"]
    assert item["message"].startswith("failed (exit code 1): exited with code 1 (hint: " + said)
    assert f'message="failed (exit code 1): exited with code 1 (hint: {said}' in (
        (run_dir / "report.xml").read_text().replace("&apos;", "'")
    )
    assert said.replace("'", "&#x27;") in (run_dir / "report.html").read_text()
