"""`cit test-script` on real containers: each case of `script_cases/cases.yaml` runs score.py
in its own container and is judged on every expectation it names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestrator.engines.docker_engine import DockerEngine

from ..runs import run_dirs
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


HOG = """
import os, time
print("starting", flush=True)
if os.environ["MODE"] == "oom":
    blocks = []
    while True:
        blocks.append(bytearray(50 * 2**20))
time.sleep(600)
"""
HOG_PIPELINE = """
name: hog
steps:
  hog:
    kind: processing
    script: hog.py
    inputs: {data: data}
    instance: {type: ml.m5.large, memory: 256m}
    timeout_seconds: 3
"""
HOG_CASES = """
test_cases:
  - {name: oom, input_data: {data: data}, environment_vars: {MODE: oom}}
  - {name: slow, input_data: {data: data}, environment_vars: {MODE: sleep}}
"""


def test_a_case_that_runs_out_of_memory_or_time_says_so_with_its_log(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    folder = tmp_path / "hog"
    shutil.copytree(CASES / "data", folder / "data")
    for name, text in {"hog.py": HOG, "p.yaml": HOG_PIPELINE, "cases.yaml": HOG_CASES}.items():
        (folder / name).write_text(text.lstrip())
    command = [
        sys.executable, "-m", "orchestrator", "test-script", "--script", "hog",
        "--dag", str(folder / "p.yaml"), "--test-cases", str(folder / "cases.yaml"),
        "--cit-dir", str(tmp_path / ".cit"), "--quiet", "--format", "junit",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"}
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "the script ran out of memory (killed at its memory limit of 256 MiB" in out
    assert "the script timed out (ran past its timeout of 3 s; container killed" in out
    assert "exited 137" not in out and "exited 143" not in out
    for case, status in (("oom", "oom"), ("slow", "timeout")):
        panel = out[out.index(f"case {case} · hog: {status}") :]
        assert "starting" in panel and "full log: " in panel
    [command_dir] = [p for p in run_dirs(tmp_path / ".cit" / "runs") if p.name.count("-") == 2]
    report = json.loads((command_dir / "report.json").read_text())
    assert (report["outcome"], report["exit_code"]) == ("failed", 1)
    runs = sorted(Path(t["run_dir"]).name for t in report["suites"][0]["tests"])
    assert runs == [f"{command_dir.name}-oom", f"{command_dir.name}-slow"]  # one run id
    junit = (command_dir / "report.xml").read_text()
    assert "ran out of memory" in junit and "timed out" in junit
