"""`cit test-script` on real containers: each case of `script_cases/cases.yaml` runs score.py
in its own container and is judged on every expectation it names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from orchestrator.docker_engine import DockerEngine

from .conftest import cit_test_script

CASES = Path(__file__).resolve().parent / "script_cases"


def test_script_cases_pass_and_fail_for_the_right_reasons(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    folder = tmp_path / "cases"
    shutil.copytree(CASES, folder)
    done, report = cit_test_script(folder / "score.py", folder / "cases.yaml", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 of 4 test case(s) passed" in done.stdout
    data: dict[str, Any] = json.loads(report.read_text())
    assert (data["total"], data["passed"], data["failed"]) == (4, 3, 1)
    results = {r["name"]: r for r in data["test_results"]}
    assert results["scores-in-range"]["passed"] and results["synthetic-input"]["passed"]
    assert results["refuses-bad-input"]["passed"]  # should_complete: false, and it failed
    failed = results["too-demanding"]
    assert not failed["passed"] and failed["isolation"] == "container"
    kinds = [(f["kind"], f["expectation"]) for f in failed["failures"]]
    assert kinds == [
        ("metric", "mean_probability < 0.5"),
        ("output", "expected_outputs: roc_curve.jpg"),
        ("warning", "warnings_expected: small_dataset_warning"),
    ], failed["failures"]
    assert failed["failures"][0]["message"] == "mean_probability is 0.9625, expected < 0.5"
    runs = {r["run_dir"] for r in data["test_results"]}
    assert len(runs) == 4  # each case in its own run directory


def test_a_data_quality_failure_is_reported_with_counts(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    folder = tmp_path / "cases"
    shutil.copytree(CASES, folder)
    (folder / "q.yaml").write_text(
        "test_cases:\n"
        "  - name: out-of-range\n"
        "    input_data: {data: data}\n"
        "    environment_vars: {SCALE: '-100'}\n"
        "    data_quality_assertions:\n"
        "      - {check: numeric_ranges, ranges: {probability: {min: 0.1, max: 1}}}\n"
    )
    done, report = cit_test_script(folder / "score.py", folder / "q.yaml", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    (case,) = json.loads(report.read_text())["test_results"]
    (failure,) = case["failures"]
    assert failure["kind"] == "data_quality" and failure["expectation"] == "numeric_ranges"
    assert "of 40 rows" in failure["message"], failure["message"]
