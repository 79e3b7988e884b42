"""The configuration file (orchestrator.suite.config): the s3_integration section, and the typed
sections cit test-all reads (test_scenarios, script_tests, data_quality_checks, execution)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.issues import Severity
from orchestrator.suite.config import (
    DataDriftDetection,
    ExecutionConfig,
    MissingValueDetection,
    S3IntegrationConfig,
    SchemaValidation,
    StatisticalValidation,
    load_config,
    s3_config,
)

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
    assert config.execution == ExecutionConfig(max_workers=4)


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


SEED_SECTIONS = """
test_scenarios:
  - name: "fraud_detection_pipeline"
    dag_file: "pipelines/fraud_detection.py"
    test_data_path: "test_data/fraud_detection/"
    s3_bucket: "my-pipeline-test-bucket"
    s3_prefix: "fraud-detection-tests/"
    timeout_minutes: 30
  - name: "credit_scoring_pipeline"
    dag_file: "/abs/pipelines/credit_scoring.py"

script_tests:
  tabular_preprocessing:
    test_cases:
      - name: "standard_preprocessing"
        input_data:
          raw_data_dir: "test_data/raw/standard_dataset"
        data_quality_checks: ["no_missing_values"]
  evaluate:
    dag: pipelines/fraud_detection.py
    test_cases: [{name: one}]

data_quality_checks:
  - check_type: "schema_validation"
    enabled: true
    strict_mode: true
  - check_type: "data_drift_detection"
    enabled: true
    threshold: 0.1
    reference: data/reference.csv
  - check_type: "statistical_validation"
    column: income
    mean: [100, 200]
    severity: warning
    outputs: [preprocess.train]
  - check_type: "missing_value_detection"
    enabled: false
    max_missing_ratio: 0.05

execution:
  parallel_execution: false
  max_workers: 4
  timeout_minutes: 60
  isolation_mode: "process"
  container_image: "cursus-test-runner:latest"
"""


def test_the_test_all_sections_are_typed_with_paths_from_the_files_folder(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, SEED_SECTIONS))
    first, second = config.test_scenarios
    assert first.name == "fraud_detection_pipeline"
    assert first.dag_file == tmp_path / "pipelines" / "fraud_detection.py"
    assert first.test_data_path == tmp_path / "test_data" / "fraud_detection"
    assert (first.s3_bucket, first.s3_prefix, first.timeout_minutes) == (
        "my-pipeline-test-bucket",
        "fraud-detection-tests",
        30,
    )
    assert second.dag_file == Path("/abs/pipelines/credit_scoring.py")
    assert (second.test_data_path, second.s3_bucket, second.timeout_minutes) == (None, None, None)
    preprocessing = config.script_tests["tabular_preprocessing"]
    assert preprocessing.test_cases[0]["data_quality_checks"] == ["no_missing_values"]
    assert config.script_tests["evaluate"].dag == tmp_path / "pipelines" / "fraud_detection.py"
    schema, drift, stats, missing = config.data_quality_checks
    assert isinstance(schema, SchemaValidation) and schema.strict_mode
    assert isinstance(drift, DataDriftDetection)
    assert (drift.reference, drift.threshold) == (tmp_path / "data" / "reference.csv", 0.1)
    assert isinstance(stats, StatisticalValidation)
    assert (stats.mean, stats.std, stats.severity) == ((100, 200), None, Severity.WARNING)
    assert stats.outputs == ["preprocess.train"]
    assert isinstance(missing, MissingValueDetection) and not missing.enabled
    assert config.execution == ExecutionConfig(
        parallel_execution=False,
        max_workers=4,
        timeout_minutes=60,
        isolation_mode="process",
        container_image="cursus-test-runner:latest",
    )


def test_without_the_sections_nothing_is_configured(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "reporting: {formats: [json]}\n"))
    assert (config.test_scenarios, config.script_tests, config.data_quality_checks) == ([], {}, [])
    assert config.execution == ExecutionConfig()
    assert config.execution.isolation_mode == "container"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "test_scenarios: [{name: a, dag_fle: p.py}]",
            "test_scenarios.a.dag_fle: unknown field 'dag_fle' (did you mean 'dag_file'?); "
            "allowed: name, dag_file,",
        ),
        ("test_scenarios: [{dag_file: p.py}]", "test_scenarios.0.name: Field required"),
        ("test_scenarios: [{name: 'a b', dag_file: p.py}]", "'a b' is not a scenario name"),
        (
            "test_scenarios: [{name: a, dag_file: p.py}, {name: a, dag_file: q.py}]",
            "test_scenarios.a: the name 'a' is used by two scenarios",
        ),
        (
            "test_scenarios: [{name: a, dag_file: p.py, timeout_minutes: 0}]",
            "test_scenarios.a.timeout_minutes: Input should be greater than 0",
        ),
        (
            "test_scenarios: [{name: a, dag_file: p.py, s3_bucket: Bad_Bucket}]",
            "test_scenarios.a.s3_bucket: not a valid S3 URI 'Bad_Bucket': bucket name 'Bad_Bucket'",
        ),
        ("test_scenarios: {a: 1}", "test_scenarios: must be a list of scenarios"),
        ("script_tests: [a]", "script_tests: must be a mapping of script name"),
        ("script_tests: {prep: {cases: []}}", "script_tests.prep.cases: unknown field 'cases'"),
        ("script_tests: {prep: {test_cases: []}}", "script_tests.prep.test_cases: List should"),
        ("script_tests: {prep: {test_cases: [x]}}", "script_tests.prep.test_cases.0: Input should"),
        (
            "script_tests: {prep: {test_cases: [{name: a}], dag: p.py, contract: c.yaml}}",
            "script_tests.prep.contract: goes with a script file",
        ),
        (
            "data_quality_checks: [{check_type: drift}]",
            "data_quality_checks.0.check_type: unknown check type 'drift'; allowed: "
            "schema_validation, missing_value_detection, statistical_validation, "
            "data_drift_detection",
        ),
        (
            "data_quality_checks: [{check_type: missing_value_detecton}]",
            "(did you mean 'missing_value_detection'?)",
        ),
        ("data_quality_checks: [{enabled: true}]", "data_quality_checks.0: must be a mapping with"),
        (
            "data_quality_checks: [{check_type: data_drift_detection, threshold: 0.1}]",
            "data_quality_checks.0: data_drift_detection compares each column with a reference "
            "dataset: give reference: PATH",
        ),
        (
            "data_quality_checks: [{check_type: statistical_validation, column: x, mean: [0, 1],"
            " confidence_level: 0.95}]",
            "data_quality_checks.0.confidence_level: is not supported",
        ),
        (
            "data_quality_checks: [{check_type: statistical_validation, confidence_level: 0.95}]",
            "data_quality_checks.0.confidence_level: is not supported",
        ),
        (
            "data_quality_checks: [{check_type: statistical_validation, column: x}]",
            "data_quality_checks.0.mean: give mean: [low, high], std: [low, high] or both",
        ),
        (
            "data_quality_checks: [{check_type: statistical_validation, column: x, std: [2, 1]}]",
            "data_quality_checks.0.std: low bound 2 is above high bound 1",
        ),
        (
            "data_quality_checks: [{check_type: missing_value_detection, max_missing_ratio: 2}]",
            "data_quality_checks.0.max_missing_ratio: Input should be less than or equal to 1",
        ),
        (
            "data_quality_checks: [{check_type: schema_validation, threshold: 1}]",
            "data_quality_checks.0.threshold: unknown field 'threshold'",
        ),
        (
            "data_quality_checks: [{check_type: missing_value_detection, outputs: [train]}]",
            "data_quality_checks.0.outputs: 'train' is not step.output",
        ),
        (
            "data_quality_checks: [{check_type: missing_value_detection, severity: fatal}]",
            "data_quality_checks.0.severity: Input should be 'error' or 'warning'",
        ),
        ("execution: {isolation: process}", "execution.isolation: unknown field 'isolation' (did"),
        ("execution: {isolation_mode: docker}", "execution.isolation_mode: Input should be"),
        ("execution: {max_workers: 0}", "execution.max_workers: Input should be greater than"),
        ("execution: {pids_limit: 8}", "execution.pids_limit: Input should be greater than"),
        ("execution: [1]", "execution: must be a mapping of settings"),
    ],
)
def test_each_mistake_in_the_test_all_sections_names_file_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(InputError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message
    assert "\n" not in message
