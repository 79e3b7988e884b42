"""The SageMaker SDK's definition of a pipeline with a condition on a property file
(tests/fixtures/sagemaker/conditions_pipeline.py) runs in real containers, both ways: the
If branch with the default threshold, the Fail step with a threshold no model reaches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engines.docker_engine import DockerEngine

from ..runs import run_dirs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"


@pytest.fixture
def definition(tmp_path: Path) -> Path:
    """The definition and its scripts, copied where the run leaves its files."""
    folder = tmp_path / "conditions"
    shutil.copytree(FIXTURES / "scripts", folder / "scripts")
    target = folder / "conditions.definition.json"
    shutil.copy(FIXTURES / "conditions.definition.json", target)
    return target


def cit_run(pipeline: Path, cit_dir: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    """``cit run`` as a user starts it: exit code, output and report."""
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(pipeline), *args]
    done = subprocess.run(
        [*command, "--cit-dir", str(cit_dir)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    [run_dir] = run_dirs(cit_dir / "runs")
    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return done.returncode, done.stdout + done.stderr, report


def steps_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [suite] = report["suites"]
    return {step["name"]: step for step in suite["run"]["steps"]}


def accuracy_of(run_dir: str) -> float:
    evaluation = Path(run_dir) / "steps" / "evaluate" / "outputs" / "evaluation"
    value: float = json.loads((evaluation / "evaluation.json").read_text())["metrics"]["accuracy"][
        "value"
    ]
    return value


def test_the_default_threshold_takes_the_if_branch(
    engine: DockerEngine, runner_image: str, no_leftovers: None, definition: Path
) -> None:
    code, output, report = cit_run(definition, definition.parent / ".cit")
    assert code == 0, output
    assert report["exit_code"] == 0 and report["outcome"] == "passed"
    steps = steps_of(report)
    assert {name: s["status"] for name, s in steps.items()} == {
        "prepare": "succeeded",
        "train": "succeeded",
        "evaluate": "succeeded",
        "CheckAccuracy": "succeeded",
        "report": "succeeded",
        "AccuracyTooLow": "skipped",
    }
    [suite] = report["suites"]
    accuracy = accuracy_of(suite["run_dir"])
    check = steps["CheckAccuracy"]
    assert check["kind"] == "condition" and check["container"] == {}
    assert check["condition"]["met"] is True and check["condition"]["branch"] == "If"
    assert check["message"] == (
        "condition 'CheckAccuracy' was true (evaluate.EvaluationReport metrics.accuracy.value "
        f"= {accuracy}, needs >= 0.7): took the If branch (report)"
    )
    fail = steps["AccuracyTooLow"]
    assert fail["branch_not_taken"] is True
    assert fail["reason"].endswith("this step is in its Else branch")
    report_file = Path(suite["run_dir"]) / "steps" / "report" / "outputs" / "report" / "report.txt"
    assert report_file.read_text() == f"model accepted: accuracy {accuracy}\n"


def test_a_threshold_too_high_reaches_the_fail_step(
    engine: DockerEngine, runner_image: str, no_leftovers: None, definition: Path
) -> None:
    code, output, report = cit_run(
        definition, definition.parent / ".cit", "--param", "AccuracyThreshold=0.99"
    )
    assert code == 1, output
    assert report["exit_code"] == 1 and report["outcome"] == "failed"
    assert "accuracy is below the threshold 0.99" in output
    steps = steps_of(report)
    fail = steps["AccuracyTooLow"]
    assert fail["status"] == "failed" and fail["kind"] == "fail"
    assert fail["message"] == "accuracy is below the threshold 0.99"
    [suite] = report["suites"]
    accuracy = accuracy_of(suite["run_dir"])
    assert accuracy < 0.99
    skipped = steps["report"]
    assert skipped["status"] == "skipped" and skipped["branch_not_taken"] is True
    assert skipped["reason"] == (
        "condition 'CheckAccuracy' was false (evaluate.EvaluationReport metrics.accuracy.value "
        f"= {accuracy}, needs >= 0.99): this step is in its If branch"
    )
    assert not (Path(suite["run_dir"]) / "steps" / "report" / "log.txt").exists()
    tests = {t["name"]: t for t in suite["tests"]}
    assert tests["AccuracyTooLow"]["outcome"] == "failed"
    assert tests["report"]["outcome"] == "skipped"
