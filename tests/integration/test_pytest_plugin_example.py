"""pytest collecting and running a copy of the example as a user would: its test cases (one made
to fail) and its pipeline, in real containers, through the plugin's entry point; and the
plugin's fixtures, active in this very session, running the example."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import RUN_LABEL
from orchestrator.testing.pytest_plugin import CitRun, CitTestScript

from ..runs import run_dirs
from .conftest import EXAMPLE

FAILING_CASE = """
  - name: more-rows-than-there-are
    description: a training split no raw data of the example can fill
    input_data: {raw: ../data/raw}
    data_quality_assertions:
      - {check: row_count, min: 100000, output: train}
"""
CASES = ["committed-raw-data", "synthetic-raw-data", "refuses-raw-data-without-its-columns"]
STEPS = ["preprocess", "train", "evaluate"]
EDGES = [
    "preprocess.train -> train.train",
    "preprocess.val -> train.validation",
    "train.model -> evaluate.model",
    "preprocess.test -> evaluate.test",
]
EXPECTATIONS = [
    "preprocess.train: row_count {at_least: 3x preprocess.test}",
    "evaluate: auc_roc >= 0.8",
    "evaluate: accuracy >= 0.75",
    "evaluate: output predictions/*.csv",
    "evaluate: output metrics/metrics.json",
    "evaluate.predictions: no_nan_predictions",
    "evaluate.predictions: predictions_in_range_0_1",
    "evaluate.predictions: row_count {equals: preprocess.test}",
]


def run_pytest(project: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``python -m pytest`` in ``project``, its JUnit XML beside it."""
    junit = project.parent / "junit.xml"
    command = [
        sys.executable, "-m", "pytest", *args,
        "--rootdir", str(project),
        "-p", "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=project, capture_output=True, text=True, timeout=900, check=False
    )
    return done, junit


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """Each test case of a JUnit XML file: name -> (outcome, failure message)."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        problem = next(iter(case), None)
        outcome = "passed" if problem is None else problem.tag
        found[case.attrib["name"]] = (
            outcome,
            "" if problem is None else problem.get("message", ""),
        )
    return found


def containers_left(engine: DockerEngine, project: Path) -> list[str]:
    runs = project / ".cit" / "runs"
    return [c.name for run in runs.iterdir() for c in engine.list_containers({RUN_LABEL: run.name})]


def test_pytest_runs_the_example_cases_and_pipeline(
    engine: DockerEngine, runner_image: str, tmp_path: Path
) -> None:
    project = tmp_path / "tabular"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".cit", "__pycache__"))
    cases = project / "test_cases" / "preprocess.yaml"
    cases.write_text(cases.read_text() + FAILING_CASE)

    done, junit = run_pytest(project, str(cases))
    assert done.returncode == 1, done.stdout + done.stderr
    found = outcomes(junit)
    assert found == {
        **{name: ("passed", "") for name in CASES},
        "more-rows-than-there-are": ("failure", found["more-rows-than-there-are"][1]),
    }
    message = found["more-rows-than-there-are"][1]
    assert message.startswith("data_quality: ") and "fewer than min 100000" in message, message
    assert "run directory: " in done.stdout and "Traceback" not in done.stdout
    assert "1 failed, 3 passed" in done.stdout

    done, junit = run_pytest(project, "pipeline.py", "-o", "cit_pipelines=pipeline.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert outcomes(junit) == {name: ("passed", "") for name in STEPS + EDGES + EXPECTATIONS}
    runs = list(run_dirs(project / ".cit" / "runs"))
    assert len(runs) == len(CASES) + 2  # a run per case, the failing one too, and the pipeline's
    assert containers_left(engine, project) == []


def test_the_fixtures_run_the_example_in_containers(
    engine: DockerEngine,
    runner_image: str,
    tmp_path: Path,
    cit_run: CitRun,
    cit_test_script: CitTestScript,
) -> None:
    outcome = cit_run(EXAMPLE / "pipeline.py")
    assert outcome.ok, outcome.problems
    assert list(outcome.steps) == STEPS
    assert outcome.run_dir.parent == tmp_path / ".cit" / "runs"
    assert [t.name for t in outcome.report.tests] == STEPS + EDGES + EXPECTATIONS
    cases = EXAMPLE / "test_cases" / "preprocess.yaml"
    result = cit_test_script("preprocess", cases, dag=EXAMPLE / "pipeline.py")
    assert (result.total, result.passed) == (len(CASES), len(CASES))
