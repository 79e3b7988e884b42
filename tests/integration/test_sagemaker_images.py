"""A SageMaker definition on framework images, with a FrameworkProcessor and steps cit does not
run, in real containers: a mapped image is the one the step runs on, an image that can be
neither found nor pulled stops the run with one line, and --skip-unsupported runs the rest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engines.docker_engine import DockerEngine

from ..runs import run_dirs

SAGEMAKER_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn"
TORCH = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.0.0-cpu-py310"


@pytest.fixture
def frameworks(tmp_path: Path) -> Path:
    """The frameworks definition, its code in ``code/`` beside it and 8 rows in ``data/``."""
    shutil.copy(SAGEMAKER_FIXTURES / "frameworks.definition.json", tmp_path / "p.definition.json")
    shutil.copytree(SAGEMAKER_FIXTURES / "frameworks" / "src", tmp_path / "code")
    (tmp_path / "data").mkdir()
    rows = "".join(f"{i},{i * i}\n" for i in range(8))
    (tmp_path / "data" / "rows.csv").write_text("x,y\n" + rows)
    return tmp_path / "p.definition.json"


@pytest.fixture
def torch_image(engine: DockerEngine, runner_image: str) -> Iterator[str]:
    """The runner image under another name, standing in for a local PyTorch image."""
    tag = f"cit-test-torch:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "tag", runner_image, tag], check=True)
    yield tag
    subprocess.run(["docker", "rmi", tag], check=False, capture_output=True)


def cit(definition: Path, *given: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(definition)]
    data = f"InputData={definition.parent / 'data'}"
    options = ["--cit-dir", str(definition.parent / ".cit"), "--param", data, *given]
    return subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "COLUMNS": "250"},
    )  # fmt: skip


def report_steps(definition: Path) -> dict[str, dict[str, Any]]:
    [run_dir] = run_dirs(definition.parent / ".cit" / "runs")
    report = json.loads((run_dir / "report.json").read_text())
    [suite] = report["suites"]
    return {step["name"]: step for step in suite["run"]["steps"]}


def test_mapped_images_run_the_rest_of_a_definition_with_skip_unsupported(
    engine: DockerEngine, runner_image: str, torch_image: str, frameworks: Path,
    no_leftovers: None,
) -> None:  # fmt: skip
    done = cit(
        frameworks,
        "--skip-unsupported",
        "--image-map", f"{SKLEARN}={runner_image}",
        "--image-map", f"{TORCH.partition(':')[0]}={torch_image}",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert f"image of train: {TORCH} → {torch_image}" in out
    assert "skipped transform: Transform steps are not run by cit (--skip-unsupported)" in out
    steps = report_steps(frameworks)
    assert steps["train"]["image"] == torch_image
    assert steps["train"]["sagemaker_image"] == TORCH
    assert steps["train"]["image_id"] == engine.image_id(torch_image)
    assert steps["prep"]["image"] == runner_image
    assert steps["xgb"]["image"] == runner_image  # xgboost 1.7: the runner's own
    assert {n: s["status"] for n, s in steps.items()} == {
        "prep": "succeeded",
        "train": "succeeded",
        "xgb": "succeeded",
        "model-CreateModel": "skipped",
        "register-RegisterModel": "skipped",
        "transform": "skipped",
    }
    # the FrameworkProcessor's entry point ran in its source dir, importing its helpers
    log = Path(steps["prep"]["log_file"]).read_text()
    assert "prep: 6 train rows, 2 test rows" in log
    assert "train: 6 rows" in Path(steps["train"]["log_file"]).read_text()


def test_an_image_neither_local_nor_pullable_stops_the_run_naming_uri_and_image_map(
    engine: DockerEngine, runner_image: str, frameworks: Path, no_leftovers: None
) -> None:
    done = cit(frameworks, "--skip-unsupported", "--image-map", f"{SKLEARN}={runner_image}")
    assert done.returncode == 2, done.stdout + done.stderr
    text = " ".join((done.stdout + done.stderr).split())
    assert f"step 'train' runs on {TORCH}" in text
    assert "cannot be pulled" in text
    assert f"--image-map {TORCH}=IMAGE" in text
    assert "Traceback" not in text
    assert not (frameworks.parent / ".cit" / "runs").exists() or not any(
        run_dirs(frameworks.parent / ".cit" / "runs")
    )
