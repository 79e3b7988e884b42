"""The shipped example, end to end, in real containers."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from orchestrator import RunSettings, Status
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.context import RunContext
from orchestrator.run.pipeline_run import execute_pipeline

from .conftest import EXAMPLE


@pytest.mark.parametrize("pipeline_file", ["pipeline.py", "pipeline.yaml"])
def test_example_pipeline_runs_green(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    no_leftovers: None,
    pipeline_file: str,
) -> None:
    result = execute_pipeline(EXAMPLE / pipeline_file, engine, settings=settings)
    assert result.ok, [(s.name, s.status, s.reason, s.log_tail[-5:]) for s in result.steps]
    assert [s.name for s in result.steps] == ["preprocess", "train", "evaluate"]
    run_dir = Path(result.run_dir)

    for split in ("train", "val", "test"):
        assert (run_dir / f"steps/preprocess/outputs/{split}/{split}.csv").stat().st_size > 0

    tarball = run_dir / "steps/train/outputs/model/model.tar.gz"
    with tarfile.open(tarball) as archive:
        assert "xgboost-model.json" in archive.getnames()

    evaluate = result.step("evaluate")
    assert any("model.tar.gz" in line for line in evaluate.log_tail)
    metrics = json.loads((run_dir / "steps/evaluate/outputs/metrics/metrics.json").read_text())
    assert metrics["auc_roc"] > 0.75
    assert metrics["row_count"] == 357

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert all(s["image_id"].startswith("sha256:") for s in manifest["steps"])
    assert all(s["exit_code"] == 0 for s in manifest["steps"])
    assert (run_dir / "steps/train/log.txt").read_text().count("validation-auc") > 0
    assert result.step("train").status is Status.SUCCEEDED


def test_example_test_cases_of_preprocess(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path
) -> None:
    from orchestrator.scripttest.cases import load_test_cases
    from orchestrator.scripttest.runner import resolve_step, run_script_tests

    step, source = resolve_step("preprocess", dag=EXAMPLE / "pipeline.py")
    cases = load_test_cases(EXAMPLE / "test_cases" / "preprocess.yaml").test_cases
    settings = RunSettings(cit_dir=tmp_path / ".cit", max_workers=1)
    result = run_script_tests(
        step, cases, RunContext(engine=engine, settings=settings), source_file=source
    )
    verdicts = {r.name: (r.passed, r.error_message) for r in result.test_results}
    assert verdicts == {
        "committed-raw-data": (True, None),
        "synthetic-raw-data": (True, None),
        "refuses-raw-data-without-its-columns": (True, None),
    }
