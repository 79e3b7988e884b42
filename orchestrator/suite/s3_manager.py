"""The seed's ``S3IntegrationManager``: S3 data for tests with one set of S3 settings.

manager = S3IntegrationManager(config="integration_test_config.yaml")
folder = manager.download_pipeline_outputs(execution_arn, "preprocess")  # <folder>/<output>/
issues = manager.validate_s3_data_schema("s3://bucket/runs/42/train/", "schemas/f.yaml")
with manager.setup_test_s3_environment("fraud") as env:
    env.upload(Path("out/train"), "preprocess", "train")
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..aws.discovery import ExecutionDiscovery, SageMakerDiscovery, StepOutputs
from ..aws.s3 import Download, S3Settings, TestEnvironment, download, link_or_copy, test_environment
from ..data.capture import capture_output
from ..data.compatibility import check_output
from ..data.profiles import OutputProfile
from ..data.schemas import DataSchema, load_schema, schema_from_data
from ..errors import CitError, InputError, S3NothingFound
from ..files import FieldError
from ..issues import Issue
from ..run.results import RunResult
from ..sizes import human_size
from .config import S3IntegrationConfig, load_config


class S3IntegrationManager:
    """Downloads, checks and isolates S3 test data with one set of S3 settings.

    Settings come from ``settings``, else from ``config`` (the ``s3_integration`` section of
    a configuration file, or the file's path), else from the defaults and the AWS environment.
    """

    def __init__(
        self,
        settings: S3Settings | None = None,
        *,
        default_bucket: str | None = None,
        config: S3IntegrationConfig | str | Path | None = None,
        discovery: ExecutionDiscovery | None = None,
    ) -> None:
        section = (
            load_config(Path(config)).s3_integration if isinstance(config, str | Path) else config
        )
        section = section or S3IntegrationConfig()
        self.settings = settings or section.s3_settings()
        self.default_bucket = default_bucket or section.default_bucket
        self.cleanup_after_test = section.cleanup_after_test
        self.discovery = discovery or SageMakerDiscovery(self.settings)

    def download(self, s3_path: str) -> Download:
        """The data at ``s3_path``, fetched into the local cache (unchanged objects are not
        downloaded again)."""
        return download(s3_path, self.settings)

    def step_outputs(self, pipeline_execution_id: str, step_name: str) -> StepOutputs:
        """Where a step of a pipeline execution (its ARN) wrote its outputs."""
        return self.discovery.step_outputs(pipeline_execution_id, step_name)

    def download_pipeline_outputs(self, pipeline_execution_id: str, step_name: str) -> str:
        """A local folder holding each output of the step as ``<folder>/<output>/`` (a
        training step's model as ``model/model.tar.gz``); an output the job may not have
        written (a training job's ``output_data``) is left out when it is not there."""
        found = self.step_outputs(pipeline_execution_id, step_name)
        downloads: dict[str, Path] = {}
        for output, uri in found.outputs.items():
            try:
                downloads[output] = self.download(uri).path
            except S3NothingFound:
                if output not in found.optional:
                    raise
        return str(_joined(self.settings.cache_dir, found, downloads))

    def capture_s3_data(self, s3_path: str) -> OutputProfile:
        """The captured schema of the data at ``s3_path``, as ``cit run`` captures outputs."""
        return capture_output(s3_path, self.download(s3_path).path)

    def validate_s3_data_schema(
        self, s3_path: str, schema: DataSchema | Mapping[str, Any] | str | Path
    ) -> list[Issue]:
        """The compatibility issues of the data at ``s3_path`` against ``schema`` (a schema,
        a mapping written as in a schema file, or a schema file); an empty list when it fits."""
        expected = _schema(schema)
        return [
            issue.located(file=expected.source)
            for issue in check_output(self.capture_s3_data(s3_path), expected)
        ]

    def setup_test_s3_environment(
        self, name: str, *, bucket: str | None = None, cleanup: bool | None = None
    ) -> AbstractContextManager[TestEnvironment]:
        """A unique prefix ``s3://<bucket>/cit-tests/<name>/<time>-<random>/`` for what a test
        uploads, removed at the end unless ``cleanup`` (default: ``cleanup_after_test``) is
        False."""
        chosen = bucket or self.default_bucket
        if chosen is None:
            raise InputError(
                "no bucket: give bucket=, default_bucket=, or s3_integration.default_bucket "
                "in the configuration",
                field="default_bucket",
            )
        keep_or_not = self.cleanup_after_test if cleanup is None else cleanup
        return test_environment(chosen, name, self.settings, cleanup=keep_or_not)


def upload_run_outputs(env: TestEnvironment, run: RunResult) -> Iterator[str]:
    """Upload the outputs of every step of ``run`` that succeeded into ``env``, as SageMaker
    would; a line per output, saying where it went, as each is done."""

    for step in (s for s in run.steps if s.status.ok):
        for output in step.outputs:
            done = env.upload(Path(output.path), step.name, output.name)
            files = "1 file" if done.files == 1 else f"{done.files} files"
            size = human_size(done.bytes)
            links = f" ({done.links} link(s) not followed, not uploaded)" if done.links else ""
            yield f"uploaded {step.name}/{output.name}: {files}, {size} -> {done.uri}{links}"


def _schema(schema: DataSchema | Mapping[str, Any] | str | Path) -> DataSchema:
    if isinstance(schema, str | Path):
        return load_schema(Path(schema))
    try:
        return schema_from_data(dict(schema) if isinstance(schema, Mapping) else schema)
    except FieldError as exc:
        raise InputError(
            exc.message, field=f"schema.{exc.field}" if exc.field else "schema"
        ) from None


def _joined(cache_dir: Path, found: StepOutputs, downloads: Mapping[str, Path]) -> Path:
    """One folder with each download as ``<output>/``, made of hard links to the cached
    files; named by its content, so it is built once and never changes."""
    listing = json.dumps(
        [found.execution_arn, found.step_name, sorted((k, str(v)) for k, v in downloads.items())]
    )
    folder = cache_dir / "steps" / hashlib.sha256(listing.encode()).hexdigest()[:40]
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".staging-"))
    try:
        for output, path in downloads.items():
            target = staging / output
            if path.is_dir():
                shutil.copytree(path, target, copy_function=_link_or_copy_names)
            else:
                target.mkdir()
                link_or_copy(path, target / path.name)
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():
                raise
    except OSError as exc:
        raise CitError(
            f"cannot assemble the outputs of {found.step_name} in {folder}: {exc}"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _link_or_copy_names(source: str, target: str) -> None:
    """``link_or_copy`` as ``shutil.copytree`` calls its copy function: with file names."""
    link_or_copy(Path(source), Path(target))
