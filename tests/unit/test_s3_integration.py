"""S3IntegrationManager against a moto S3 server process: schema checks of data in S3 and
isolated test prefixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.s3 import S3Settings
from orchestrator.s3_integration import S3IntegrationManager
from tests.s3_server import S3Server

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
