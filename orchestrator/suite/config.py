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

``reporting`` says which reports every command writes; ``test_scenarios``, ``script_tests``,
``data_quality_checks`` and ``execution`` are what ``cit test-all`` runs (``test_all``)::

    test_scenarios:                        # each: a data-flow test of a whole pipeline
      - name: tabular                      # letters, digits, _ . - ; unique
        dag_file: pipeline.py
        test_data_path: test_data/         # subfolders <step>.<input> replace those inputs
        s3_bucket: my-bucket               # upload the outputs to an isolated test prefix
        s3_prefix: tabular-tests/
        timeout_minutes: 30                # caps every step's timeout_seconds
        parameters: {TrainSplit: 0.8}      # a SageMaker pipeline's parameters (--param)
        code_dir: src/                     # where its code is looked for (--code-dir)
        expectations:                      # on this run's outputs, as a pipeline's expectations
          evaluate: {metrics: {auc_roc: ">= 0.8"}}
    script_tests:
      preprocess:                          # a step of dag:, of the scenarios' pipelines, or a
        dag: pipeline.py                   # script file (script: overrides the name)
        test_cases: [...]                  # as in a test-case file
    data_quality_checks:                   # on every table output of the scenarios' steps
      - {check_type: missing_value_detection, max_missing_ratio: 0.05}
      - {check_type: statistical_validation, column: label, mean: [0.3, 0.5]}
      - {check_type: data_drift_detection, reference: data/raw, threshold: 0.2}
      - {check_type: schema_validation}    # what every data-flow test does anyway
    execution:
      parallel_execution: true             # false: one step at a time
      max_workers: 4
      timeout_minutes: 60                  # the cap of scenarios without their own
      isolation_mode: container            # or process: script tests call main() on the host
      container_image: cit-runner:0.1.0    # default image of steps that name none
      log_limit_mb: 64                     # a step's log.txt keeps this much (every command)
      pids_limit: 4096                     # processes one container may hold (every command)
      cit_dir: .cit                        # where runs are written (every command)
      cache_max_gb: 10                     # the step cache's cap (cit run, cit test-flow)

Loading checks the shape of every section (unknown keys, types, check types and their
parameters) and takes relative paths from the file's folder; whether files, steps and inputs
exist is checked by ``cit test-all`` before it runs anything. Every mistake is one line naming
the file and the field.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..aws.s3 import S3Settings
from ..aws.s3_uris import S3Uri
from ..data.quality_checks import Bounds
from ..errors import S3UriError
from ..files import FieldError, InputRecord, first_error, load_data_file, reject_unknown
from ..issues import Severity
from ..pipeline.expectations import Expectation, parse_expectations
from ..report.config import ReportingConfig
from ..run.settings import DEFAULT_CACHE_MAX_BYTES, DEFAULT_LOG_LIMIT_BYTES, RunSettings

CONFIG_SECTIONS = (
    "test_scenarios",
    "script_tests",
    "data_quality_checks",
    "s3_integration",
    "reporting",
    "execution",
)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""A scenario's name: it names its suite in the reports."""
OUTPUT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}\.[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""``step.output``, as a data-quality check's ``outputs`` names them."""


def _bucket(value: str | None) -> str | None:
    """A bucket name S3 accepts (the reason in one line when not)."""
    if value is not None:
        try:
            S3Uri.parse(f"s3://{value}/")
        except S3UriError as exc:
            raise ValueError(str(exc).replace(f"s3://{value}/", value)) from None
    return value


class _Section(InputRecord):
    model_config = ConfigDict(frozen=True, extra="forbid")


class S3IntegrationConfig(_Section):
    """The ``s3_integration`` section; every field is optional."""

    default_bucket: str | None = None
    download_timeout_seconds: float = Field(default=300, gt=0)
    retry_attempts: int = Field(default=3, ge=1, le=20)
    temp_directory: Path | None = None
    cleanup_after_test: bool = True

    _bucket_name = field_validator("default_bucket")(_bucket)

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


class ScenarioConfig(_Section):
    """One entry of ``test_scenarios``: a data-flow test of a whole pipeline."""

    name: str
    dag_file: Path
    test_data_path: Path | None = None
    """A folder whose entries named ``<step>.<input>`` replace those inputs."""
    s3_bucket: str | None = None
    s3_prefix: str = ""
    """Upload the outputs under ``s3://<s3_bucket>/<s3_prefix>/cit-tests/<pipeline>/<run>/``."""
    timeout_minutes: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Caps the timeout of every step of the scenario."""
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Values of a SageMaker pipeline's parameters, as ``--param NAME=VALUE`` gives them."""
    code_dir: Path | None = None
    """Where a SageMaker pipeline's code is looked for, as ``--code-dir`` says."""

    @field_validator("parameters", mode="before")
    @classmethod
    def _scalar_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name, item in value.items():
                if not isinstance(item, str | int | float | bool):
                    raise ValueError(f"{name}: must be a string, number or boolean")
        return value

    expectations: list[Expectation] = Field(default_factory=list)
    """What the outputs of the scenario's run must show, besides what its pipeline expects
    (``pipeline_expectations``); files its checks name are relative to this file."""

    _bucket_name = field_validator("s3_bucket")(_bucket)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                f"'{value}' is not a scenario name; use letters, digits, '_', '.' and '-' "
                "(at most 100, starting with a letter or digit)"
            )
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        prefix = value.strip().strip("/")
        if prefix:
            try:
                S3Uri.parse(f"s3://bucket/{prefix}/")
            except S3UriError as exc:
                raise ValueError(str(exc)) from None
        return prefix


class ScriptTestConfig(_Section):
    """One entry of ``script_tests``: test cases of one script, as in a test-case file.

    The cases are read (their paths from the configuration's folder) by ``cit test-all``;
    ``data_quality_checks`` in a case means ``data_quality_assertions``."""

    test_cases: list[dict[str, Any]] = Field(min_length=1)
    script: str | None = None
    """The step (or script file) tested, when the entry's name is not it."""
    dag: Path | None = None
    contract: Path | None = None

    @model_validator(mode="after")
    def _target(self) -> ScriptTestConfig:
        if self.dag is not None and self.contract is not None:
            raise FieldError(
                "contract", "goes with a script file; a step of 'dag' uses its pipeline's contract"
            )
        return self


class _Check(_Section):
    enabled: bool = True
    severity: Severity = Severity.ERROR
    """A failed check of severity warning is reported and fails nothing."""
    outputs: list[str] = Field(default_factory=list)
    """``step.output``s the check applies to (default: every table output with its columns)."""

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: list[str]) -> list[str]:
        for item in value:
            if not OUTPUT_PATTERN.match(item):
                raise ValueError(f"'{item}' is not step.output, e.g. preprocess.train")
        return value


class SchemaValidation(_Check):
    """Every data-flow test checks each edge against the consumer's schema: no more to do."""

    check_type: Literal["schema_validation"]
    strict_mode: bool = False


class MissingValueDetection(_Check):
    """``max_missing_ratio``: each column missing in at most this share of the rows."""

    check_type: Literal["missing_value_detection"]
    max_missing_ratio: float = Field(default=0.05, ge=0, le=1)
    columns: list[str] | None = Field(default=None, min_length=1)


class StatisticalValidation(_Check):
    """``statistics``: the mean and standard deviation of ``column`` within bounds."""

    check_type: Literal["statistical_validation"]
    column: str
    mean: Bounds | None = None
    std: Bounds | None = None

    @model_validator(mode="after")
    def _bounds(self) -> StatisticalValidation:
        if self.mean is None and self.std is None:
            raise FieldError("mean", "give mean: [low, high], std: [low, high] or both")
        for key in ("mean", "std"):
            bounds: Bounds | None = getattr(self, key)
            low, high = bounds or (None, None)
            if low is not None and high is not None and low > high:
                raise FieldError(key, f"low bound {low:g} is above high bound {high:g}")
        return self


class DataDriftDetection(_Check):
    """``distribution_drift`` of each of ``columns`` (default: those the reference has)
    against the ``reference`` dataset; ``threshold`` is the largest PSI allowed."""

    check_type: Literal["data_drift_detection"]
    reference: Path
    columns: list[str] | None = Field(default=None, min_length=1)
    threshold: float | None = Field(default=0.2, ge=0)
    ks_max: float | None = Field(default=0.1, ge=0, le=1)


QualityCheckConfig = (
    SchemaValidation | MissingValueDetection | StatisticalValidation | DataDriftDetection
)
CHECK_TYPES: dict[str, type[QualityCheckConfig]] = {
    "schema_validation": SchemaValidation,
    "missing_value_detection": MissingValueDetection,
    "statistical_validation": StatisticalValidation,
    "data_drift_detection": DataDriftDetection,
}
REFUSED_FIELDS = {
    ("statistical_validation", "confidence_level"): (
        "is not supported: statistical_validation checks the mean and standard deviation of "
        "one column; give column and mean: [low, high] and/or std: [low, high]"
    ),
}
MISSING_FIELDS = {
    ("data_drift_detection", "reference"): (
        "data_drift_detection compares each column with a reference dataset: give reference: "
        "PATH (a table file or folder, relative to this file)"
    ),
    ("statistical_validation", "column"): (
        "statistical_validation checks one column: give column and mean: [low, high] and/or "
        "std: [low, high]"
    ),
}


class ExecutionConfig(_Section):
    """The ``execution`` section: how ``cit test-all`` runs what it runs."""

    parallel_execution: bool = True
    max_workers: int | None = Field(default=None, ge=1, le=1024)
    """Steps of a scenario run at once (default: the number of cores); 1 without parallel."""
    timeout_minutes: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Caps every step's timeout in scenarios without their own, and in script tests."""
    isolation_mode: Literal["container", "process"] = "container"
    """How script tests run: in containers, or as ``main(...)`` in host processes."""
    container_image: str | None = Field(default=None, min_length=1)
    """The default image of steps that name none."""
    log_limit_mb: float = Field(default=DEFAULT_LOG_LIMIT_BYTES / 2**20, gt=0, allow_inf_nan=False)
    """The most of a step's output its log.txt keeps (MiB); the rest is counted, not saved.
    Read by every command that takes ``--config``."""
    pids_limit: int | None = Field(default=None, ge=64, le=4_194_304)
    """Processes and threads one container may hold (default: ``DEFAULT_PIDS_LIMIT``). Read by
    every command that takes ``--config``."""
    cit_dir: Path | None = None
    """Where every command writes its runs (relative to the file; ``--cit-dir`` of the command
    line, ``CIT_DIR`` of the environment, come first)."""
    cache_max_gb: float = Field(default=DEFAULT_CACHE_MAX_BYTES / 2**30, ge=0, allow_inf_nan=False)
    """The step cache's cap (GiB): ``cit run`` drops the least recently used entries beyond it."""

    @property
    def log_limit_bytes(self) -> int:
        return int(self.log_limit_mb * 2**20)

    def limits_of(self, settings: RunSettings) -> RunSettings:
        """``settings`` with this section's log and PID limits, which every command that takes
        ``--config`` applies."""
        return replace(
            settings,
            log_limit_bytes=self.log_limit_bytes,
            pids_limit=self.pids_limit or settings.pids_limit,
            cache_max_bytes=int(self.cache_max_gb * 2**30),
        )


class IntegrationTestConfig(BaseModel):
    """A whole configuration file; ``source`` is the file it was read from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    s3_integration: S3IntegrationConfig = Field(default_factory=S3IntegrationConfig)
    test_scenarios: list[ScenarioConfig] = Field(default_factory=list)
    script_tests: dict[str, ScriptTestConfig] = Field(default_factory=dict)
    data_quality_checks: list[QualityCheckConfig] = Field(default_factory=list)
    reporting: ReportingConfig = Field(default_factory=ReportingConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    source: str | None = None

    @property
    def base_dir(self) -> Path:
        """The folder relative paths are taken from: the file's, else the working directory."""
        return Path(self.source).resolve().parent if self.source else Path.cwd()


def load_config(path: Path) -> IntegrationTestConfig:
    """Read a configuration file (.yaml, .yml or .json); a mistake is one ``InputError``
    naming the file and field. Relative paths are taken from the file's folder."""
    return load_data_file(path, "configuration", lambda data: config_from_data(data, path))


def config_from_data(data: Any, path: Path) -> IntegrationTestConfig:
    """The configuration in parsed ``data`` read from ``path``; raises ``FieldError``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FieldError("", f"a configuration file is a mapping of sections: {CONFIG_SECTIONS}")
    reject_unknown(data, CONFIG_SECTIONS)
    sections = {
        "s3_integration": _section(data, "s3_integration", S3IntegrationConfig),
        "reporting": _section(data, "reporting", ReportingConfig),
        "execution": _section(data, "execution", ExecutionConfig),
        "test_scenarios": _scenarios(data.get("test_scenarios"), path.resolve().parent),
        "script_tests": _script_tests(data.get("script_tests")),
        "data_quality_checks": _checks(data.get("data_quality_checks")),
    }
    try:
        config = IntegrationTestConfig.model_validate({**sections, "source": str(path)})
    except ValidationError as exc:
        raise first_error(exc) from None
    return _resolved(config, path.resolve().parent)


def _section(data: dict[str, Any], name: str, model: type[BaseModel]) -> dict[str, Any]:
    """A section's mapping (empty when absent), its keys checked against ``model``."""
    section = data.get(name)
    section = {} if section is None else section
    if not isinstance(section, dict):
        raise FieldError(name, "must be a mapping of settings")
    reject_unknown(section, tuple(model.model_fields), f"{name}.")
    return section


def _entry(raw: Any, label: str, model: type[_Section], what: str) -> Any:
    """One entry of a list or mapping section, validated; mistakes name ``label``."""
    if not isinstance(raw, dict):
        raise FieldError(label, f"must be a mapping: {what}")
    reject_unknown(raw, tuple(model.model_fields), f"{label}.")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = first_error(exc)
        raise FieldError(".".join(filter(None, [label, error.field])), error.message) from None


def _scenarios(raw: Any, base_dir: Path) -> list[ScenarioConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FieldError("test_scenarios", "must be a list of scenarios, each with name, dag_file")
    scenarios: list[ScenarioConfig] = []
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        label = f"test_scenarios.{name if isinstance(name, str) and name else index}"
        declared = item.get("expectations") if isinstance(item, dict) else None
        if isinstance(item, dict):
            item = {key: value for key, value in item.items() if key != "expectations"}
        scenario = _entry(item, label, ScenarioConfig, "name, dag_file and optional settings")
        expected = parse_expectations(declared, base_dir, f"{label}.expectations")
        scenario = scenario.model_copy(update={"expectations": expected})
        if any(s.name == scenario.name for s in scenarios):
            raise FieldError(label, f"the name '{scenario.name}' is used by two scenarios")
        scenarios.append(scenario)
    return scenarios


def _script_tests(raw: Any) -> dict[str, ScriptTestConfig]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FieldError("script_tests", "must be a mapping of script name -> {test_cases: [...]}")
    tests = {}
    for name, item in raw.items():
        if not isinstance(name, str) or not name.strip():
            raise FieldError(f"script_tests.{name}", "a script test is named by a step or a file")
        label = f"script_tests.{name}"
        tests[name] = _entry(item, label, ScriptTestConfig, "test_cases: [...] and optional dag")
    return tests


def _checks(raw: Any) -> list[QualityCheckConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FieldError("data_quality_checks", "must be a list of {check_type, ...}")
    return [_check(item, f"data_quality_checks.{i}") for i, item in enumerate(raw)]


def _check(raw: Any, label: str) -> QualityCheckConfig:
    """One global data-quality check, by its ``check_type``."""
    allowed = ", ".join(CHECK_TYPES)
    if not isinstance(raw, dict) or "check_type" not in raw:
        raise FieldError(label, f"must be a mapping with check_type; allowed: {allowed}")
    kind = raw["check_type"]
    model = CHECK_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        close = difflib.get_close_matches(str(kind), list(CHECK_TYPES), n=1)
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        raise FieldError(
            f"{label}.check_type", f"unknown check type {kind!r}{guess}; allowed: {allowed}"
        )
    for key in raw:
        if (kind, key) in REFUSED_FIELDS:
            raise FieldError(f"{label}.{key}", REFUSED_FIELDS[(kind, key)])
    for (of, key), message in MISSING_FIELDS.items():
        if of == kind and key not in raw:
            raise FieldError(label, message)
    checked: QualityCheckConfig = _entry(raw, label, model, "check_type and its settings")
    return checked


def _resolved(config: IntegrationTestConfig, base: Path) -> IntegrationTestConfig:
    """Relative paths of the file taken from the file's folder."""
    s3, reporting = config.s3_integration, config.reporting
    if s3.temp_directory is not None:
        s3 = s3.model_copy(update={"temp_directory": _from(base, s3.temp_directory)})
    if reporting.output_directory is not None:
        folder = _from(base, reporting.output_directory)
        reporting = reporting.model_copy(update={"output_directory": folder})
    return config.model_copy(
        update={
            "s3_integration": s3,
            "reporting": reporting,
            "execution": _paths(config.execution, base, "cit_dir"),
            "test_scenarios": [
                _paths(s, base, "dag_file", "test_data_path", "code_dir")
                for s in config.test_scenarios
            ],
            "script_tests": {
                name: _paths(test, base, "dag", "contract")
                for name, test in config.script_tests.items()
            },
            "data_quality_checks": [
                _paths(c, base, "reference") for c in config.data_quality_checks
            ],
        }
    )


def _paths(section: Any, base: Path, *fields: str) -> Any:
    """``section`` with its path ``fields`` taken from ``base`` when relative."""
    update = {
        name: _from(base, value)
        for name in fields
        if isinstance(value := getattr(section, name, None), Path)
    }
    return section.model_copy(update=update) if update else section


def _from(base: Path, folder: Path) -> Path:
    folder = folder.expanduser()
    return folder if folder.is_absolute() else base / folder


def config_or_defaults(path: Path | None) -> IntegrationTestConfig:
    """The configuration in the file at ``path``, or every default without one."""
    return load_config(path) if path is not None else IntegrationTestConfig()


def s3_config(path: Path | None) -> S3IntegrationConfig:
    """The ``s3_integration`` section of the file at ``path``, or the defaults without one."""
    return load_config(path).s3_integration if path is not None else S3IntegrationConfig()
