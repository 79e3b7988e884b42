"""cit test-all on the shipped example's integration_test_config.yaml, in real containers: the
whole configuration passes; a variant with test data, an upload to (moto's) S3 and a script
test case that cannot pass gives a failed script suite while the rest still passes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.report.model import Outcome, shipped_schema
from orchestrator.report.write import write_reports
from orchestrator.run.context import RunContext
from orchestrator.run.rundir import create_run_dir, new_run_id
from orchestrator.run.settings import RunSettings
from orchestrator.suite.config import load_config
from orchestrator.suite.run import run_all
from tests.s3_server import S3Server

from .conftest import EXAMPLE

CONFIG = "integration_test_config.yaml"


def example(tmp_path: Path) -> Path:
    """A copy of the example, so that its runs and reports stay under ``tmp_path``."""
    folder = tmp_path / "tabular"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".cit"))
    return folder


def test_the_example_configuration_passes(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    tmp_path: Path,
    no_leftovers: None,
) -> None:
    folder = example(tmp_path)
    config = load_config(folder / CONFIG)
    started = time.time()
    result = run_all(config, RunContext(engine=engine, settings=settings))
    outcomes = {s.name: [(t.name, t.outcome.value) for t in s.tests] for s in result.suites}
    assert result.exit_code == 0, outcomes
    pipeline, script = result.suites
    assert (pipeline.name, pipeline.outcome) == ("tabular-xgboost", Outcome.PASSED)
    assert pipeline.run is not None and pipeline.run.ok
    quality = [t.name for t in pipeline.tests if t.kind == "quality"]
    assert "max_missing_ratio on preprocess.train" in quality
    assert "statistics(probability) on evaluate.predictions" in quality
    assert "distribution_drift on preprocess.test" in quality
    assert all(spec["timeout_seconds"] <= 600 for spec in _container_specs(pipeline.run.run_dir))
    assert (script.name, script.outcome) == ("preprocess", Outcome.PASSED)
    assert [t.name for t in script.tests] == [
        "committed-raw-data",
        "refuses-raw-data-without-its-columns",
    ]

    report = result.report(started)
    run_dir = create_run_dir(settings.runs_dir, new_run_id())
    written = write_reports(report, run_dir, config.reporting, config.source)
    reports = folder / ".cit" / "reports"
    assert {p.name for p in written} == {"report.json", "report.xml", "report.html"}
    assert {p.parent for p in written} == {run_dir, reports}
    data = json.loads((reports / "report.json").read_text())
    jsonschema.validate(data, shipped_schema())
    assert data["cit_report"] == "test-all" and data["outcome"] == "passed"


def _container_specs(run_dir: str) -> list[dict[str, Any]]:
    manifest = json.loads((Path(run_dir) / "manifest.json").read_text())
    return [step["container"] for step in manifest["steps"]]


def test_a_failing_script_case_fails_its_suite_and_the_rest_still_runs(
    engine: DockerEngine,
    runner_image: str,
    settings: RunSettings,
    tmp_path: Path,
    no_leftovers: None,
    s3_server: S3Server,
) -> None:
    folder = example(tmp_path)
    shards = folder / "test_data" / "preprocess.raw"
    shards.mkdir(parents=True)
    for name in ("part-000.csv", "part-001.csv"):
        shutil.copy(folder / "data" / "raw" / name, shards / name)
    bucket = s3_server.bucket()
    data = yaml.safe_load((folder / CONFIG).read_text())
    scenario = data["test_scenarios"][0]
    scenario.update(test_data_path="test_data", s3_bucket=bucket, s3_prefix="tabular-tests")
    case = data["script_tests"]["preprocess"]["test_cases"][0]
    case["expected_outputs"].append("train/missing.csv")
    (folder / "variant.yaml").write_text(yaml.safe_dump(data))

    result = run_all(
        load_config(folder / "variant.yaml"), RunContext(engine=engine, settings=settings)
    )
    assert result.exit_code == 1
    pipeline, script = result.suites
    assert pipeline.outcome is Outcome.PASSED, [(t.name, t.message) for t in pipeline.tests]
    assert pipeline.run is not None
    raw = next(
        m for m in pipeline.run.step("preprocess").container["mounts"] if "raw" in m["target"]
    )
    assert raw["source"] == str(shards.resolve())  # the test data, not data/raw
    upload = next(t for t in pipeline.tests if t.name == "upload outputs")
    assert f"uploaded under s3://{bucket}/tabular-tests/cit-tests/tabular-xgboost/" in (
        upload.message or ""
    )
    assert "then removed" in (upload.message or "")
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert script.outcome is Outcome.FAILED
    outcomes = {t.name: t.outcome for t in script.tests}
    assert outcomes == {
        "committed-raw-data": Outcome.FAILED,
        "refuses-raw-data-without-its-columns": Outcome.PASSED,
    }
    failed = next(t for t in script.tests if t.name == "committed-raw-data")
    assert "train/missing.csv" in (failed.message or "")
