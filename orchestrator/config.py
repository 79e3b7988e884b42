"""The integration-test configuration file (``--config integration_test_config.yaml``).

Its ``s3_integration`` section decides how cit reaches S3::

    s3_integration:
      default_bucket: my-pipeline-test-bucket   # cit test-s3 without --s3-bucket; the manager
      download_timeout_seconds: 300             # the whole download of one URI
      retry_attempts: 3                         # attempts of one request (1: no retry)
      temp_directory: /tmp/cit-s3               # where downloads are cached (~/.cache/cit/s3)
      cleanup_after_test: true                  # remove what a test uploaded (--keep-uploads)

Endpoint, region and credentials are not configured here: they come from the usual AWS
environment and profiles, so a file works against AWS, MinIO and LocalStack alike.

The file's other sections (``test_scenarios``, ``script_tests``, ``data_quality_checks``,
``reporting``, ``execution``) are accepted as they are and read by the commands that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import S3UriError
from .input_files import FieldError, first_error, load_data_file, reject_unknown
from .s3 import S3Settings, S3Uri

CONFIG_SECTIONS = (
    "test_scenarios",
    "script_tests",
    "data_quality_checks",
    "s3_integration",
    "reporting",
    "execution",
)


class S3IntegrationConfig(BaseModel):
    """The ``s3_integration`` section; every field is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_bucket: str | None = None
    download_timeout_seconds: float = Field(default=300, gt=0)
    retry_attempts: int = Field(default=3, ge=1, le=20)
    temp_directory: Path | None = None
    cleanup_after_test: bool = True

    @field_validator("default_bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                S3Uri.parse(f"s3://{value}/")
            except S3UriError as exc:
                raise ValueError(str(exc).replace(f"s3://{value}/", value)) from None
        return value

    def s3_settings(self, **overrides: Any) -> S3Settings:
        """The S3 settings these fields give (``overrides`` win, e.g. a command-line timeout)."""
        fields: dict[str, Any] = {
            "download_timeout_seconds": self.download_timeout_seconds,
            "retry_attempts": self.retry_attempts,
        }
        if self.temp_directory is not None:
            fields["cache_dir"] = self.temp_directory
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return S3Settings(**fields)


class IntegrationTestConfig(BaseModel):
    """A whole configuration file; ``source`` is the file it was read from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    s3_integration: S3IntegrationConfig = Field(default_factory=S3IntegrationConfig)
    test_scenarios: Any = None
    script_tests: Any = None
    data_quality_checks: Any = None
    reporting: Any = None
    execution: Any = None
    source: str | None = None


def load_config(path: Path) -> IntegrationTestConfig:
    """Read a configuration file (.yaml, .yml or .json); a mistake is one ``InputError``
    naming the file and field. A relative ``temp_directory`` is taken from the file's folder."""
    return load_data_file(path, "configuration", lambda data: config_from_data(data, path))


def config_from_data(data: Any, path: Path) -> IntegrationTestConfig:
    """The configuration in parsed ``data`` read from ``path``; raises ``FieldError``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FieldError("", f"a configuration file is a mapping of sections: {CONFIG_SECTIONS}")
    reject_unknown(data, CONFIG_SECTIONS)
    section = data.get("s3_integration")
    section = {} if section is None else section
    if not isinstance(section, dict):
        raise FieldError("s3_integration", "must be a mapping of settings")
    reject_unknown(section, tuple(S3IntegrationConfig.model_fields), "s3_integration.")
    try:
        config = IntegrationTestConfig.model_validate(
            {**data, "s3_integration": section, "source": str(path)}
        )
    except ValidationError as exc:
        raise first_error(exc) from None
    return _resolved(config, path.resolve().parent)


def _resolved(config: IntegrationTestConfig, base: Path) -> IntegrationTestConfig:
    temp = config.s3_integration.temp_directory
    if temp is None or temp.expanduser().is_absolute():
        return config
    s3 = config.s3_integration.model_copy(update={"temp_directory": base / temp})
    return config.model_copy(update={"s3_integration": s3})


def s3_config(path: Path | None) -> S3IntegrationConfig:
    """The ``s3_integration`` section of the file at ``path``, or the defaults without one."""
    return load_config(path).s3_integration if path is not None else S3IntegrationConfig()
