"""Hints on real containers: a step that fails for a cause cit can tell says so, on the
console, in report.json and in JUnit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.settings import RUNNER_IMAGE

TRAIN = """
import json, os
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
    json.dump({"weights": [1, 2]}, f)
"""
EVALUATE = """
import json
# Written for extracted model files; SageMaker (and cit) hand over model.tar.gz.
with open("/opt/ml/processing/input/model/model.json") as f:
    json.load(f)
"""
ARCHIVE_PIPELINE = """
name: archive
steps:
  train: {kind: training, script: train.py}
  evaluate: {kind: processing, script: evaluate.py, outputs: [metrics],
             inputs: {model: {step: train, output: model}}}
"""
NEEDS_A_PACKAGE = """
import lightgbm  # not in the runner image
"""
CASES = """
test_cases:
  - {name: imports, input_data: {data: data}}
"""


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def cit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args, "--quiet", "--format", "junit"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "300"},
        check=False,
    )


def test_a_step_failing_on_a_model_archive_is_told_to_extract_it(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write(
        tmp_path,
        {"train.py": TRAIN, "evaluate.py": EVALUATE, "pipeline.yaml": ARCHIVE_PIPELINE},
    )
    done = cit("run", "--dag", "pipeline.yaml", "--cit-dir", str(tmp_path / ".cit"), cwd=tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    said = "input 'model' is training step 'train''s model.tar.gz, as SageMaker hands"
    assert f"hint: {said}" in done.stdout
    [run_dir] = (tmp_path / ".cit" / "runs").iterdir()
    report = json.loads((run_dir / "report.json").read_text())
    steps = {t["name"]: t for t in report["suites"][0]["tests"]}
    assert steps["train"]["hints"] == []
    (hint,) = steps["evaluate"]["hints"]
    assert hint.startswith(said) and "extract it (tarfile)" in hint
    assert "(hint: " + said in steps["evaluate"]["message"]
    assert "FileNotFoundError" in "\n".join(steps["evaluate"]["log_tail"])
    assert said in (run_dir / "report.xml").read_text().replace("&apos;", "'")


def test_a_missing_module_says_how_to_add_it_to_the_image(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    write(tmp_path, {"score.py": NEEDS_A_PACKAGE, "cases.yaml": CASES, "data/rows.csv": "a\n1\n"})
    args = ("test-script", "--script", "score.py", "--test-cases", "cases.yaml")
    done = cit(*args, "--cit-dir", str(tmp_path / ".cit"), cwd=tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    said = f"module 'lightgbm' is not in the runner image {RUNNER_IMAGE}: add it with"
    assert f"hint: {said}" in done.stdout  # on the case's failure panel
    assert "ModuleNotFoundError: No module named 'lightgbm'" in done.stdout
    [command_dir] = [p for p in (tmp_path / ".cit" / "runs").iterdir() if p.name.count("-") == 2]
    report = json.loads((command_dir / "report.json").read_text())
    (case,) = report["suites"][0]["tests"]
    (hint,) = case["hints"]
    assert hint.startswith(said) and "cit image build --add lightgbm" in hint
    assert said in (command_dir / "report.xml").read_text().replace("&apos;", "'")
