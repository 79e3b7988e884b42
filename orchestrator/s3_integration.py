"""The seed's ``S3IntegrationManager``: S3 data for tests, through ``orchestrator.s3``.

    manager = S3IntegrationManager(S3Settings(), default_bucket="my-test-bucket")
    issues = manager.validate_s3_data_schema("s3://bucket/runs/42/train/", "schemas/f.yaml")
    with manager.setup_test_s3_environment("fraud") as env:
        env.upload(Path("out/train"), "preprocess", "train")

Discovery of a SageMaker pipeline execution's outputs is not here yet.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from .capture import capture_output
from .compatibility import check_output
from .errors import InputError
from .issues import Issue
from .profiles import OutputProfile
from .s3 import Download, S3Settings, TestEnvironment, download, test_environment
from .schemas import DataSchema, load_schema


class S3IntegrationManager:
    """Downloads, checks and isolates S3 test data with one set of S3 settings."""

    def __init__(
        self, settings: S3Settings | None = None, *, default_bucket: str | None = None
    ) -> None:
        self.settings = settings or S3Settings()
        self.default_bucket = default_bucket

    def download(self, s3_path: str) -> Download:
        """The data at ``s3_path``, fetched into the local cache (unchanged objects are not
        downloaded again)."""
        return download(s3_path, self.settings)

    def capture_s3_data(self, s3_path: str) -> OutputProfile:
        """The captured schema of the data at ``s3_path``, as ``cit run`` captures outputs."""
        fetched = self.download(s3_path)
        folder = fetched.path if fetched.path.is_dir() else fetched.path.parent
        return capture_output(s3_path, folder)

    def validate_s3_data_schema(
        self, s3_path: str, schema: DataSchema | str | Path
    ) -> list[Issue]:
        """The compatibility issues of the data at ``s3_path`` against ``schema`` (a schema
        or a schema file); an empty list when it fits."""
        expected = schema if isinstance(schema, DataSchema) else load_schema(Path(schema))
        return [
            issue.located(file=expected.source)
            for issue in check_output(self.capture_s3_data(s3_path), expected)
        ]

    def setup_test_s3_environment(
        self, name: str, *, bucket: str | None = None, cleanup: bool = True
    ) -> AbstractContextManager[TestEnvironment]:
        """A unique prefix ``s3://<bucket>/cit-tests/<name>/<time>-<random>/`` for what a test
        uploads, removed at the end unless ``cleanup`` is False."""
        chosen = bucket or self.default_bucket
        if chosen is None:
            raise InputError(
                "no bucket: give bucket= or S3IntegrationManager(default_bucket=...)",
                field="default_bucket",
            )
        return test_environment(chosen, name, self.settings, cleanup=cleanup)
