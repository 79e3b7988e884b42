"""The shipped example as the SageMaker SDK describes it (its definition JSON, and the SDK
file itself) runs end to end in real containers, with the edges and row counts of the
example's own pipeline.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestrator.engines.docker_engine import DockerEngine

from ..runs import run_dirs

"""The definition's processing steps name scikit-learn 1.2-1, which the runner image (1.4)
does not hold: they are mapped to it, as a user without that image would."""


def cit_run(pipeline: Path, cit_dir: Path, *given: str) -> dict[str, Any]:
    """``cit run`` on ``pipeline`` with the options ``given`` as a user starts it; its report."""
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(pipeline), *given]
    done = subprocess.run(
        [*command, "--cit-dir", str(cit_dir), "-q"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = run_dirs(cit_dir / "runs")
    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return report


def edges_and_rows(report: dict[str, Any]) -> dict[str, list[int | None]]:
    [suite] = report["suites"]
    return {
        edge["edge"]: [d["rows"] for d in (edge["captured"] or {}).get("datasets", [])]
        for edge in suite["edges"]
    }


def test_the_example_definition_runs_as_pipeline_py_does(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tabular_definition: Path
) -> None:
    folder = tabular_definition.parent
    from_definition = cit_run(tabular_definition, folder.parent / ".cit")
    from_python = cit_run(folder / "pipeline.py", folder.parent / ".cit-python")
    from_sdk = cit_run(folder / "sagemaker_pipeline.py", folder.parent / ".cit-sdk")

    edges = edges_and_rows(from_definition)
    assert edges == edges_and_rows(from_python) == edges_and_rows(from_sdk)
    assert sorted(edges) == [
        "preprocess.test -> evaluate.test",
        "preprocess.train -> train.train",
        "preprocess.val -> train.validation",
        "train.model -> evaluate.model",
    ]
    assert edges["preprocess.test -> evaluate.test"] == [357]
    [suite] = from_definition["suites"]
    assert [s["name"] for s in suite["run"]["steps"]] == ["preprocess", "train", "evaluate"]
    assert {s["status"] for s in suite["run"]["steps"]} == {"succeeded"}
    [sdk_suite] = from_sdk["suites"]
    assert sdk_suite["name"] == "tabular-xgboost"
    assert [s["status"] for s in sdk_suite["run"]["steps"]] == ["succeeded"] * 3
