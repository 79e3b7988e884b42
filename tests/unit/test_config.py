"""The configuration file's s3_integration section (orchestrator.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import S3IntegrationConfig, load_config, s3_config
from orchestrator.errors import InputError

SEED_CONFIG = """
test_scenarios:
  - name: fraud
    dag_file: pipelines/fraud.py
s3_integration:
  default_bucket: my-pipeline-test-bucket
  download_timeout_seconds: 120
  retry_attempts: 5
  temp_directory: cache/s3
  cleanup_after_test: false
reporting:
  formats: [html, json, junit]
execution:
  max_workers: 4
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_seed_section_is_read_and_becomes_s3_settings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SEED_CONFIG))
    section = config.s3_integration
    assert section.default_bucket == "my-pipeline-test-bucket"
    assert section.cleanup_after_test is False
    assert section.temp_directory == tmp_path / "cache" / "s3"  # relative to the file
    settings = section.s3_settings()
    assert settings.download_timeout_seconds == 120
    assert settings.retry_attempts == 5
    assert settings.cache_dir == tmp_path / "cache" / "s3"
    assert config.execution == {"max_workers": 4}


def test_a_command_line_value_overrides_the_file(tmp_path: Path) -> None:
    section = load_config(write(tmp_path, SEED_CONFIG)).s3_integration
    assert section.s3_settings(download_timeout_seconds=7).download_timeout_seconds == 7
    assert section.s3_settings(download_timeout_seconds=None).download_timeout_seconds == 120


def test_without_a_file_the_defaults_apply() -> None:
    section = s3_config(None)
    assert section == S3IntegrationConfig()
    assert section.cleanup_after_test is True
    assert section.s3_settings().download_timeout_seconds == 300


def test_an_absolute_or_home_temp_directory_is_kept(tmp_path: Path) -> None:
    text = f"s3_integration:\n  temp_directory: {tmp_path / 'abs'}\n"
    assert load_config(write(tmp_path, text)).s3_integration.temp_directory == tmp_path / "abs"
    home = load_config(write(tmp_path, "s3_integration:\n  temp_directory: ~/x\n", "h.yaml"))
    assert home.s3_integration.s3_settings().cache_dir == Path.home() / "x"


def test_an_empty_file_is_all_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).s3_integration == S3IntegrationConfig()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3_integratoin: {}\n", "unknown field 's3_integratoin' (did you mean 's3_integration'?)"),
        ("s3_integration:\n  bucket: b\n", "s3_integration.bucket: unknown field 'bucket'"),
        ("s3_integration:\n  retry_attempts: 0\n", "s3_integration.retry_attempts"),
        ("s3_integration:\n  download_timeout_seconds: -1\n", "download_timeout_seconds"),
        ("s3_integration:\n  cleanup_after_test: maybe\n", "cleanup_after_test"),
        ("s3_integration:\n  default_bucket: My_Bucket\n", "bucket name 'My_Bucket'"),
        ("s3_integration: [1]\n", "s3_integration: must be a mapping"),
        ("- a\n", "a configuration file is a mapping of sections"),
        ("s3_integration:\n  retry_attempts: 1\n  retry_attempts: 2\n", "duplicate key"),
    ],
)
def test_each_mistake_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_a_missing_file_or_other_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such configuration file"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="unknown configuration format"):
        load_config(write(tmp_path, "x = 1", "config.toml"))


def test_json_works_too(tmp_path: Path) -> None:
    path = write(tmp_path, '{"s3_integration": {"default_bucket": "abc"}}', "c.json")
    assert load_config(path).s3_integration.default_bucket == "abc"
