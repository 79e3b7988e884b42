"""Expectations on the whole pipeline in real containers, through the command a user runs: the
example is green with its expectations; a training step that learns noise, a scoring step that
drops rows and a test-all scenario's own bounds turn `cit run`, `cit test-flow` and
`cit test-all` red, and report.json and JUnit say which bound the run missed and by what."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.report.model import shipped_schema

from ..runs import run_dirs
from .conftest import EXAMPLE, write_script

AUC = "evaluate: auc_roc >= 0.8"

NOISY_TRAIN = """
    \"\"\"train.py on shuffled labels: the model learns noise, and every step still succeeds.\"\"\"
    import numpy as np

    import train

    read = train.read_channel


    def shuffled(channel_dir):
        frame = read(channel_dir)
        frame["label"] = np.random.default_rng(7).permutation(frame["label"].to_numpy())
        return frame


    train.read_channel = shuffled
    train.main()
    """


def cit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchestrator", *args, "--cit-dir", str(cwd / ".cit")]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=cwd)


def example(tmp_path: Path) -> Path:
    folder = tmp_path / "tabular"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".cit"))
    return folder


def only_run(folder: Path) -> Path:
    (run_dir,) = run_dirs(folder / ".cit" / "runs")
    return run_dir


def report(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    jsonschema.validate(data, shipped_schema())
    return data


def expectations(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        test["name"]: test
        for suite in data["suites"]
        for test in suite["tests"]
        if test["kind"] == "expectation"
    }


def junit_failures(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {
        case.get("name", ""): failure
        for case in root.iter("testcase")
        if (failure := case.find("failure")) is not None
    }


def test_the_example_meets_its_expectations(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    folder = example(tmp_path)
    done = cit("run", "--dag", str(folder / "pipeline.py"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "expectations: 8 passed, 0 failed" in done.stdout
    data = report(only_run(tmp_path))
    found = expectations(data)
    assert {name: test["outcome"] for name, test in found.items()} == dict.fromkeys(
        [
            "preprocess.train: row_count {at_least: 3x preprocess.test}",
            AUC,
            "evaluate: accuracy >= 0.75",
            "evaluate: output predictions/*.csv",
            "evaluate: output metrics/metrics.json",
            "evaluate.predictions: no_nan_predictions",
            "evaluate.predictions: predictions_in_range_0_1",
            "evaluate.predictions: row_count {equals: preprocess.test}",
        ],
        "passed",
    )
    assert found[AUC]["expectation"]["actual"] > 0.8
    count = found["evaluate.predictions: row_count {equals: preprocess.test}"]["expectation"]
    assert count["actual"]["measured"] == {"rows": 357, "equals": 357}


def test_a_model_that_learns_noise_fails_cit_run(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    folder = example(tmp_path)
    write_script(folder / "scripts", "noisy_train.py", NOISY_TRAIN)
    pipeline = yaml.safe_load((folder / "pipeline.yaml").read_text())
    train = pipeline["steps"]["train"]
    train.update({"script": "noisy_train.py", "source_dir": "scripts"})
    del train["contract"]
    (folder / "noisy.yaml").write_text(yaml.safe_dump(pipeline))

    done = cit("run", "--dag", str(folder / "noisy.yaml"), "--format", "junit", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    run_dir = only_run(tmp_path)
    data = report(run_dir)
    assert (data["outcome"], data["exit_code"]) == ("failed", 1)
    assert data["suites"][0]["run"]["status"] == "succeeded"  # every step went green
    auc = expectations(data)[AUC]
    assert auc["outcome"] == "failed" and auc["classname"] == "evaluate"
    bound, value = auc["expectation"]["expected"], auc["expectation"]["actual"]
    assert bound == {"metric": "auc_roc", "op": ">=", "value": 0.8, "upper": None}
    assert 0.3 < value < 0.7, value
    assert auc["message"] == f"auc_roc is {value!r}, expected >= 0.8"

    failure = junit_failures(run_dir / "report.xml")[AUC]
    assert failure.get("type") == "metric"
    assert failure.get("message") == f"auc_roc is {value!r}, expected >= 0.8"
    assert "expectations:" in done.stdout and "failed" in done.stdout

    only_steps = tmp_path / "steps-only"
    only_steps.mkdir()
    done = cit("run", "--dag", str(folder / "noisy.yaml"), "--steps-only", cwd=only_steps)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(not judged: --steps-only)" in done.stdout
    skipped = expectations(report(only_run(only_steps)))[AUC]
    assert skipped["outcome"] == "skipped"
    assert skipped["message"].startswith("not judged (--steps-only): auc_roc is ")


PREP = """
    from pathlib import Path

    out = Path("/opt/ml/processing/output/test")
    out.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i},{i % 2}\\n" for i in range(10))
    (out / "test.csv").write_text("id,label\\n" + rows)
    """
SCORE = """
    from pathlib import Path

    lines = Path("/opt/ml/processing/input/test/test.csv").read_text().splitlines()
    out = Path("/opt/ml/processing/output/predictions")
    out.mkdir(parents=True, exist_ok=True)
    kept = lines[1:-1]  # the last row is silently dropped
    scored = [f"{line.split(',')[0]},0.5" for line in kept]
    (out / "predictions.csv").write_text("\\n".join(["id,probability", *scored]) + "\\n")
    print(f"scored {len(kept)} rows")
    """
SCORED = """
name: scored
steps:
  prep: {kind: processing, script: prep.py, outputs: [test]}
  score:
    kind: processing
    script: score.py
    inputs: {test: {step: prep, output: test}}
    outputs: [predictions]
expectations:
  score:
    data_quality:
      predictions: [no_nan_predictions, {row_count: {equals: prep.test}}]
"""


def test_a_scoring_step_that_drops_rows_fails_cit_test_flow(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write_script(tmp_path, "prep.py", PREP)
    write_script(tmp_path, "score.py", SCORE)
    path = write_script(tmp_path, "scored.yaml", SCORED)
    done = cit("test-flow", "--dag", str(path), "--format", "junit", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "data flow compatible" in done.stdout  # the edge itself is fine
    run_dir = only_run(tmp_path)
    found = expectations(report(run_dir))
    name = "score.predictions: row_count {equals: prep.test}"
    assert found["score.predictions: no_nan_predictions"]["outcome"] == "passed"
    assert found[name]["outcome"] == "failed"
    message = "row_count: 9 rows, not as many as prep.test (10 rows)"
    assert found[name]["message"] == message
    assert found[name]["expectation"]["actual"]["measured"] == {"rows": 9, "equals": 10}
    assert junit_failures(run_dir / "report.xml")[name].get("message") == message


CONFIG = """
test_scenarios:
  - name: demanding
    dag_file: pipeline.yaml
    expectations:
      evaluate:
        metrics: {auc_roc: ">= 0.99"}
        data_quality:
          predictions: [{row_count: {at_most: 0.5x preprocess.test}}]
reporting:
  formats: [json, junit]
"""


def test_a_scenarios_own_expectations_fail_cit_test_all(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    folder = example(tmp_path)
    write_script(folder, "demanding.yaml", CONFIG)
    done = cit("test-all", "--config", str(folder / "demanding.yaml"), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pipeline demanding: failed" in done.stdout
    run_dir = next(
        d for d in run_dirs(tmp_path / ".cit" / "runs") if (d / "report.json").is_file()
    )
    data = report(run_dir)
    assert (data["cit_report"], data["outcome"], data["exit_code"]) == ("test-all", "failed", 1)
    found = expectations(data)
    assert found[AUC]["outcome"] == "passed"  # the pipeline's own still pass
    strict = found["evaluate: auc_roc >= 0.99"]
    assert strict["outcome"] == "failed"
    assert strict["expectation"]["declared_at"] == (
        "test_scenarios.demanding.expectations.evaluate.metrics.auc_roc"
    )
    half = found["evaluate.predictions: row_count {at_most: 0.5x preprocess.test}"]
    assert half["message"] == (
        "row_count: 357 rows, more than 0.5x preprocess.test (0.5 * 357 = 178.5 rows)"
    )
    failures = junit_failures(run_dir / "report.xml")
    assert set(failures) == {"evaluate: auc_roc >= 0.99", half["name"]}
