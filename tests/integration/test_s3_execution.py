"""`cit test-s3` end to end: the example's evaluation script run in its container on the
outputs of an earlier pipeline execution, fetched from a real S3 server (moto, a separate
process on loopback). The training and processing jobs are moto's; only the list of execution
steps, which moto's server lacks, is answered by a hook on the SageMaker client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.aws.s3 import S3Settings
from orchestrator.cli.app import app
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.run.settings import RunSettings
from orchestrator.scripttest.tester import ScriptUnitTester
from orchestrator.suite.s3_manager import S3IntegrationManager

from ..runs import run_dirs
from ..s3_server import (
    SECRET_ACCESS_KEY,
    S3Server,
    answer_execution_steps,
    execution_arn,
    step_item,
)
from .conftest import EXAMPLE


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The outputs of one real run of the example: steps/<step>/outputs/<output>/..."""
    root = tmp_path_factory.mktemp("earlier")
    example = root / "example"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns(".cit", "*.snapshots"))
    command = [sys.executable, "-m", "orchestrator", "run", "--dag", str(example / "pipeline.py")]
    command += ["--cit-dir", str(root / ".cit"), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = run_dirs(root / ".cit" / "runs")
    return run_dir / "steps"


def upload_folder(s3_server: S3Server, bucket: str, folder: Path, prefix: str) -> None:
    s3_server.put(
        bucket,
        {
            f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file()
        },
    )


def make_execution(
    s3_server: S3Server, earlier: Path, bucket: str, run: str
) -> tuple[str, list[dict[str, Any]]]:
    """An execution whose 'preprocess' processing job and 'train' training job wrote the
    earlier run's outputs to S3, as SageMaker lays them out: its ARN and its steps."""
    base = f"s3://{bucket}/{run}"
    for name in ("train", "val", "test"):
        upload_folder(s3_server, bucket, earlier / "preprocess" / "outputs" / name, f"{run}/{name}")
    model = (earlier / "train" / "outputs" / "model" / "model.tar.gz").read_bytes()
    s3_server.put(bucket, {f"{run}/models/{run}-train/output/model.tar.gz": model})
    outputs = {name: f"{base}/{name}" for name in ("train", "val", "test")}
    prep_job = s3_server.processing_job(f"{run}-preprocess", outputs)
    train_job = s3_server.training_job(f"{run}-train", f"{base}/models")
    steps = [step_item("preprocess", prep_job), step_item("train", train_job)]
    return execution_arn("tabular", run), steps


@dataclass(frozen=True)
class Execution:
    """An earlier execution in S3 and SageMaker (moto): its bucket, run folder and ARN."""

    bucket: str
    run: str
    arn: str


@pytest.fixture
def execution(s3_server: S3Server, earlier_run: Path, monkeypatch: pytest.MonkeyPatch) -> Execution:
    bucket = s3_server.bucket()
    run = f"exec{uuid.uuid4().hex[:8]}"
    arn, steps = make_execution(s3_server, earlier_run, bucket, run)
    answer_execution_steps(monkeypatch, {arn: steps})
    return Execution(bucket, run, arn)


def cit_test_s3(tmp_path: Path, arn: str, step: str, script: str, *options: str) -> Any:
    """`cit test-s3` on a step of ``arn`` with a step of the example pipeline, in this process
    (so that the execution-steps hook applies); runs under ``tmp_path``."""
    args = [
        "test-s3", "--pipeline-execution", arn, "--step", step, "--next-script", script,
        "--dag", str(EXAMPLE / "pipeline.py"), "--cit-dir", str(tmp_path / ".cit"), "--quiet",
        *options,
    ]  # fmt: skip
    env = {"HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def test_evaluation_runs_on_training_outputs_of_an_execution(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    execution: Execution,
    tmp_path: Path,
) -> None:
    bucket, arn, run = execution.bucket, execution.arn, execution.run
    report = tmp_path / "report.json"
    options = ("--validate-schema", "--output-report", str(report))
    done = cit_test_s3(tmp_path, arn, "train", "evaluate", *options)
    assert done.exit_code == 0, done.output
    assert f"s3://{bucket}/{run}/models/{run}-train/output/model.tar.gz: 1 file" in done.output
    assert f"s3://{bucket}/{run}/test: 1 file" in done.output
    assert "S3 data test passed" in done.output
    result = json.loads(report.read_text())
    assert result["passed"] is True
    assert result["sources"]["model"].endswith(f"/{run}-train/output/model.tar.gz")
    test_input = next(i for i in result["inputs"] if i["channel"] == "test")
    assert test_input["issues"] == []
    assert test_input["captured"]["datasets"][0]["rows"] > 0
    assert result["performance_metrics"], result  # evaluate.py writes metrics.json
    run_dir = Path(result["test"]["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (step,) = manifest["steps"]
    assert step["status"] == "succeeded"
    assert not [k for k in step["container"]["env"] if k.startswith("AWS")]
    assert SECRET_ACCESS_KEY not in json.dumps(manifest) + done.output


def test_broken_execution_data_is_reported_against_the_declared_schema(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    s3_server: S3Server,
    earlier_run: Path,
    execution: Execution,
    tmp_path: Path,
) -> None:
    text = (earlier_run / "preprocess" / "outputs" / "test" / "test.csv").read_text()
    header, *rows = text.splitlines()
    broken = header.replace("age", "age_years") + "\n" + "\n".join(rows) + "\n"
    s3_server.put(execution.bucket, {f"{execution.run}/test/test.csv": broken})
    done = cit_test_s3(tmp_path, execution.arn, "preprocess", "evaluate", "--validate-schema")
    assert done.exit_code == 1, done.output
    assert "missing_column" in done.output
    assert "age" in done.output
    assert "S3 data test failed" in done.output


def test_training_runs_on_preprocessing_outputs_of_an_execution(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    execution: Execution,
    tmp_path: Path,
) -> None:
    bucket, arn, run = execution.bucket, execution.arn, execution.run
    done = cit_test_s3(tmp_path, arn, "preprocess", "train", "--validate-schema")
    assert done.exit_code == 0, done.output
    assert f"s3://{bucket}/{run}/train: 1 file" in done.output
    assert f"s3://{bucket}/{run}/val: 1 file" in done.output
    assert "S3 data test passed" in done.output
    assert "data quality score" not in done.output  # a training step writes no tables
    runs = run_dirs(tmp_path / ".cit" / "runs")
    (run_dir,) = [p for p in runs if (p / "manifest.json").exists()]  # the case, not the report
    model = run_dir / "steps" / "train" / "outputs" / "model" / "model.tar.gz"
    assert model.stat().st_size > 0


def test_a_prefix_feeds_the_script_as_a_separate_process(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    s3_server: S3Server,
    earlier_run: Path,
    tmp_path: Path,
) -> None:
    bucket = s3_server.bucket()
    upload_folder(s3_server, bucket, earlier_run / "train" / "outputs" / "model", "day/model")
    upload_folder(s3_server, bucket, earlier_run / "preprocess" / "outputs" / "test", "day/test")
    command = [
        sys.executable, "-m", "orchestrator", "test-s3",
        "--s3-bucket", bucket, "--s3-prefix", "day/",
        "--script", "evaluate", "--dag", str(EXAMPLE / "pipeline.py"),
        "--download-timeout", "120",
        "--cit-dir", str(tmp_path / ".cit"), "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"s3://{bucket}/day/model/: 1 file" in done.stdout
    assert "1 of 1 test case(s) passed" in done.stdout


def test_the_python_api_downloads_outputs_and_tests_a_script_on_them(
    engine: DockerEngine,
    runner_image: str,
    no_leftovers: None,
    execution: Execution,
    tmp_path: Path,
) -> None:
    bucket, arn, run = execution.bucket, execution.arn, execution.run
    manager = S3IntegrationManager(S3Settings(cache_dir=tmp_path / "cache"))
    trained = manager.download_pipeline_outputs(arn, "train")
    tester = ScriptUnitTester(
        EXAMPLE / "contracts" / "evaluate.yaml",
        settings=RunSettings(cit_dir=tmp_path / ".cit", max_workers=1),
    )
    result = tester.test_with_s3_data(
        {"model": trained + "/model", "test": f"s3://{bucket}/{run}/test"},
        s3_settings=manager.settings,
    )
    assert result.passed, result.test
    assert result.performance_metrics["accuracy"] > 0.5
    assert result.data_quality_score == 1.0
    assert [c.channel for c in result.inputs] == ["model", "test"]
    assert result.schema_issues == []
