"""S3IntegrationManager against a moto S3 server process: schema checks of data in S3 and
isolated test prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.aws.s3 import S3Settings
from orchestrator.errors import InputError
from orchestrator.suite.s3_manager import S3IntegrationManager
from tests.s3_server import S3Server, answer_execution_steps, execution_arn, step_item

ROWS = "id,label\n1,0\n2,1\n3,0\n"


@pytest.fixture
def manager(tmp_path: Path, s3_server: S3Server) -> S3IntegrationManager:
    settings = S3Settings(cache_dir=tmp_path / "cache", download_timeout_seconds=60)
    return S3IntegrationManager(settings)


def test_data_in_s3_against_a_schema(
    manager: S3IntegrationManager, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.bucket({"run/train/part-0.csv": ROWS, "run/bad/part-0.csv": "id,lbl\n1,0\n"})
    schema = tmp_path / "s.yaml"
    schema.write_text("format: csv\ncolumns: {id: integer, label: {type: integer}}\n")
    assert manager.validate_s3_data_schema(f"s3://{bucket}/run/train/", schema) == []
    issues = manager.validate_s3_data_schema(f"s3://{bucket}/run/bad", schema)
    assert [(i.rule, i.severity.value) for i in issues] == [
        ("missing_column", "error"),
        ("extra_columns", "warning"),
    ]
    assert {i.file for i in issues} == {str(schema)}
    profile = manager.capture_s3_data(f"s3://{bucket}/run/train")
    assert profile.datasets[0].rows == 3


def test_a_test_environment_is_unique_and_removed(
    manager: S3IntegrationManager, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.bucket({"keep/me.csv": ROWS})
    manager.default_bucket = bucket
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.csv").write_text(ROWS)
    with (
        manager.setup_test_s3_environment("fraud") as first,
        manager.setup_test_s3_environment("fraud") as second,
    ):
        assert first.uri != second.uri and "/cit-tests/fraud/" in first.uri
        first.upload(tmp_path / "out", "prep", "train")
        listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
        assert any(item["Key"].endswith("prep/train/a.csv") for item in listed)
    remaining = [i["Key"] for i in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert remaining == ["keep/me.csv"]


def test_a_test_environment_needs_a_bucket(manager: S3IntegrationManager) -> None:
    with pytest.raises(InputError, match="no bucket"):
        manager.setup_test_s3_environment("x")


def test_pipeline_outputs_of_a_processing_and_a_training_step(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket(
        {
            "exec/train/part-0.csv": ROWS,
            "exec/test/part-0.csv": ROWS,
            "exec/test/nested/part-1.csv": ROWS,
            "exec/models/job-t/output/model.tar.gz": b"model bytes",
        }
    )
    base = f"s3://{bucket}/exec"
    prep = s3_server.processing_job("job-p", {"train": f"{base}/train", "test": f"{base}/test"})
    train = s3_server.training_job("job-t", f"{base}/models")
    arn = execution_arn("tabular", "exec1")
    asked = answer_execution_steps(
        monkeypatch, {arn: [step_item("prep", prep), step_item("fit", train)]}
    )
    config = tmp_path / "config.yaml"
    config.write_text(f"s3_integration:\n  default_bucket: {bucket}\n  temp_directory: cache\n")
    manager = S3IntegrationManager(config=config)
    assert manager.settings.cache_dir == tmp_path / "cache"

    folder = Path(manager.download_pipeline_outputs(arn, "prep"))
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv")) == [
        "test/nested/part-1.csv",
        "test/part-0.csv",
        "train/part-0.csv",
    ]
    assert folder.is_relative_to(tmp_path / "cache")
    assert Path(manager.download_pipeline_outputs(arn, "prep")) == folder  # built once

    model = Path(manager.download_pipeline_outputs(arn, "fit"))
    assert [p.name for p in model.iterdir()] == ["model"]  # no output.tar.gz was written
    assert (model / "model" / "model.tar.gz").read_bytes() == b"model bytes"
    assert asked == [arn]  # one listing of the execution's steps for both


def test_a_bucket_comes_from_the_configuration(tmp_path: Path, s3_server: S3Server) -> None:
    bucket = s3_server.bucket({"keep/me.csv": ROWS})
    config = tmp_path / "config.yaml"
    config.write_text(f"s3_integration:\n  default_bucket: {bucket}\n  cleanup_after_test: false\n")
    manager = S3IntegrationManager(config=config)
    with manager.setup_test_s3_environment("kept") as env:
        env.upload(_folder(tmp_path, {"a.csv": ROWS}), "step", "out")
    keys = [i["Key"] for i in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.startswith(env.root.key) for k in keys)  # kept: cleanup_after_test is false
    assert env.removed is None


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "upload"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder
