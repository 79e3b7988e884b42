"""Test-case files: how one script is exercised and what each run must show.

A test-case file (YAML or JSON) lists cases under ``test_cases`` (a bare list also works)::

    test_cases:
      - name: binary_classification          # unique in the file; letters, digits, _ . -
        description: high-performance model
        input_data:                          # channel -> file or folder, relative to this file
          model: models/binary
          raw: s3://bucket/prefix            # or data in S3, fetched before the case runs
          eval_data:                         # or data generated from a schema
            synthetic: {schema: schemas/eval.yaml, rows: 500, seed: 7, format: csv}
        environment_vars: {LABEL_FIELD: label, MAX_ROWS: 100}   # numbers become text
        arguments: [--job-type, evaluation]  # the job arguments (processing scripts)
        hyperparameters: {max_depth: 4}      # for training scripts
        expected_metrics:
          auc_roc: ">= 0.8"                  # >=, >, <=, <, ==, or "between 0.7 and 0.9"
          accuracy: 0.75                     # a bare number means ">= 0.75"
          binary_classification_metrics.f1: "> 0.6"   # dotted names reach nested values
        metrics_file: metrics/metrics.json   # default: the shallowest metrics.json written
        expected_outputs:                    # relative to the outputs root (one folder per
          - metrics/metrics.json             # output); '*' and '**' glob, and a name without
          - "predictions/*.csv"              # '/' matches a file or folder at any depth
          - roc_curve.jpg
        data_quality_assertions: [no_nan_predictions]   # checks of orchestrator.quality
        expected_behavior:
          should_complete: true              # false: the script must exit non-zero
          min_predictions: 10
          max_execution_time_seconds: 30
        warnings_expected:                   # log patterns: a substring, or /a regex/
          - small_dataset_warning
          - /rows? dropped/

A file may also say which script it tests, so that it can be run on its own (``pytest``
collects such a file)::

    script: preprocess                       # a step of dag:, or (without dag:) a script file
    dag: ../pipeline.py                      # the pipeline of the step, relative to this file
    contract: ../contracts/preprocess.yaml   # a script file's contract (not with dag:)

The job arguments are ``arguments`` (as in a pipeline step); ``==`` allows float rounding
(relative 1e-9). Paths of a file read with ``load_test_cases`` are resolved against the file's
folder and must exist; a case validated directly (``TestCase.model_validate``) resolves
nothing. Every mistake is one line naming the file, the case and the field.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from ..aws.s3_uris import is_s3_text, s3_uri
from ..data.metrics import (
    DEFAULT_METRICS_FILE,
    MetricExpectation,
    parse_expected_metrics,
    relative_pattern,
)
from ..data.quality import check_shorthand, checks_from_data
from ..data.quality_checks import CheckSpec
from ..data.schemas import DataSchema, load_schema, schema_from_data
from ..data.synthetic import MAX_ROWS
from ..errors import InputError
from ..files import (
    DICT_KEY,
    FieldError,
    NulFreeRecord,
    StrictRecord,
    describe_error,
    load_data_file,
    quoted,
    reject_unknown,
    scalar_text,
)
from ..pipeline.model import (
    HYPERPARAMETER_NAME_RULE,
    VARIABLE_NAME_RULE,
    HyperparameterName,
    VariableName,
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
CHANNEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

SCALAR_TEXT = "must be a string, number or boolean"


ALL_OUTPUTS = "*"
"""The key of ``expected_schema`` that holds for every output with data."""


def _schema_at(written: Any, output: str, info: ValidationInfo) -> Any:
    """A schema given as a file name (loaded now, so a bad one stops loading) or inline."""
    if isinstance(written, DataSchema):
        return written
    if isinstance(written, dict):
        try:
            return schema_from_data(written)
        except ValueError as exc:
            raise FieldError(output, str(exc)) from None
    if not isinstance(written, str | Path):
        raise FieldError(output, "a schema file name, or the schema as a mapping")
    try:
        path = _resolved(Path(written), info)
    except ValueError as exc:
        raise FieldError(output, str(exc)) from None
    return load_schema(path)


def _with_reference_found(
    check: CheckSpec, written: Any, index: int, info: ValidationInfo
) -> CheckSpec:
    """A check whose datasets (``reference``, a row count's ``equals: data/input.csv``) exist,
    relative to the cases file's folder (checked now, so that a missing one stops loading
    instead of failing the case after it ran); each stays as written, for messages, and is
    read relative to ``TestCase.base_dir``."""
    shorthand = check_shorthand(written)
    at = f"{index}.{shorthand[0]}" if shorthand else str(index)
    for field, reference in check.datasets():
        try:
            _resolved(Path(reference), info)
        except ValueError as exc:
            raise FieldError(f"{at}.{field}", str(exc)) from None
    return check


def _resolved(value: Path, info: ValidationInfo) -> Path:
    """``value`` against the cases file's folder; it must exist when read from a file."""
    base_dir = (info.context or {}).get("base_dir")
    if base_dir is None:
        return value
    path = value.expanduser()
    path = path if path.is_absolute() else Path(base_dir) / path
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise ValueError(f"no such file or folder: {path}") from None
    except OSError as exc:
        raise ValueError(f"cannot be read: {path}: {exc.strerror}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"is not a regular file or folder (a FIFO, device or socket): {path}")
    return path


class SyntheticSpec(StrictRecord):
    """Data generated from a schema before the case runs."""

    schema_file: Path = Field(alias="schema")
    rows: int = Field(gt=0, le=MAX_ROWS)
    seed: int = Field(default=0, ge=0, lt=2**63)
    format: Literal["csv", "parquet"] = "csv"

    _path = field_validator("schema_file")(_resolved)


INPUT_FORMS = (
    "must be a path, an s3://bucket/prefix URI, synthetic: {schema, rows, seed, format} "
    "or registry: script/case"
)
REGISTRY_REF = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9][A-Za-z0-9._-]*)(?:/v(\d+))?$"
)
"""A registry reference: ``script/case`` (the latest version) or ``script/case/vN``."""


class InputSource(StrictRecord):
    """Where one input channel's data comes from: a file or folder, an S3 prefix or object
    (written as a path: ``s3://bucket/prefix``, fetched before the case runs), synthetic data,
    or test data kept in the registry (``registry: script/case[/vN]``)."""

    path: Path | None = None
    uri: str | None = None
    synthetic: SyntheticSpec | None = None
    registry: str | None = None

    _path = field_validator("path")(_resolved)

    @field_validator("uri")
    @classmethod
    def _s3_uri(cls, value: str | None) -> str | None:
        return None if value is None else s3_uri(value)

    @field_validator("registry")
    @classmethod
    def _registry_ref(cls, value: str | None) -> str | None:
        if value is not None and not REGISTRY_REF.match(value):
            raise ValueError(
                f"'{value}' is not a registry reference; write script/case or script/case/v2"
            )
        return value

    @property
    def registry_key(self) -> tuple[str, str, int | None] | None:
        """(script, case, version or None for the latest) of a registry reference."""
        match = REGISTRY_REF.match(self.registry or "")
        if match is None:
            return None
        version = match.group(3)
        return match.group(1), match.group(2), int(version) if version else None

    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """A path written alone; an S3 URI written as a path becomes ``uri``."""
        if isinstance(data, str | Path):
            data = {"path": data}
        if isinstance(data, dict) and "uri" not in data and is_s3_text(data.get("path")):
            data = {**data, "uri": str(data["path"])}
            del data["path"]
        return data

    @model_validator(mode="after")
    def _one_source(self) -> InputSource:
        given = [v for v in (self.path, self.uri, self.synthetic, self.registry) if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give one of: a path (or s3:// URI), synthetic: {schema, rows, seed, format}, "
                "or registry: script/case[/vN]"
            )
        return self


def log_pattern(written: str) -> re.Pattern[str] | None:
    """The regex of a pattern written ``/.../``, or None for a plain substring."""
    if len(written) >= 2 and written.startswith("/") and written.endswith("/"):
        return re.compile(written[1:-1])
    return None


class ExpectedBehavior(StrictRecord):
    """How the run itself must go."""

    should_complete: bool = True
    min_predictions: int | None = Field(default=None, ge=0)
    max_execution_time_seconds: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class TestCase(StrictRecord, NulFreeRecord):
    """One run of a script with its inputs, and what that run must show."""

    __test__: ClassVar[bool] = False

    name: str
    description: str = ""
    input_data: dict[str, InputSource] = Field(default_factory=dict)
    environment_vars: dict[VariableName, str] = Field(default_factory=dict)
    arguments: list[str] = Field(default_factory=list)
    hyperparameters: dict[HyperparameterName, str | int | float | bool] = Field(
        default_factory=dict
    )
    expected_metrics: dict[str, MetricExpectation] = Field(default_factory=dict)
    metrics_file: str | None = None
    expected_outputs: list[str] = Field(default_factory=list)
    data_quality_assertions: list[CheckSpec] = Field(default_factory=list)
    expected_behavior: ExpectedBehavior = Field(default_factory=ExpectedBehavior)
    warnings_expected: list[str] = Field(default_factory=list)
    expected_schema: dict[str, DataSchema] = Field(default_factory=dict)
    _base_dir: Path | None = PrivateAttr(default=None)
    _source: str | None = PrivateAttr(default=None)
    """Output name -> the schema its data must pass; ``ALL_OUTPUTS`` for every output that
    holds data. Written as one schema file (every output) or a mapping output -> file."""

    @field_validator("name")
    @classmethod
    def _folder_safe(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                f"{quoted(value)} is not a case name; use letters, digits, '_', '.' and '-' "
                "(at most 100, starting with a letter or digit)"
            )
        return value

    @field_validator("input_data")
    @classmethod
    def _channel_names(cls, value: dict[str, InputSource]) -> dict[str, InputSource]:
        for channel in value:
            if not CHANNEL_PATTERN.match(channel):
                raise FieldError(
                    channel, "channel names are letters, digits, '_', '.' and '-' (at most 64)"
                )
        return value

    def model_post_init(self, context: Any) -> None:
        known = context if isinstance(context, dict) else {}
        base_dir, source = known.get("base_dir"), known.get("source")
        self._base_dir = Path(base_dir) if base_dir is not None else None
        self._source = str(source) if source is not None else None

    @property
    def source(self) -> str | None:
        """The test-case file the case comes from, for messages."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """The folder relative paths of the case are read from (its file's folder)."""
        return self._base_dir or Path.cwd()

    @field_validator("expected_schema", mode="before")
    @classmethod
    def _load_schemas(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str | Path):
            value = {ALL_OUTPUTS: value}
        if not isinstance(value, dict):
            return value
        return {str(output): _schema_at(written, output, info) for output, written in value.items()}

    @field_validator("data_quality_assertions", mode="before")
    @classmethod
    def _parse_checks(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, list):
            return value
        checks = checks_from_data(value)
        return [
            _with_reference_found(check, written, i, info)
            for i, (written, check) in enumerate(zip(value, checks, strict=True))
        ]

    @field_validator("environment_vars", mode="before")
    @classmethod
    def _env_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: scalar_text(item) for key, item in value.items()}
        return value

    @field_validator("arguments", mode="before")
    @classmethod
    def _argument_text(cls, value: Any) -> Any:
        return [scalar_text(item) for item in value] if isinstance(value, list) else value

    @field_validator("expected_metrics", mode="before")
    @classmethod
    def _parse_metrics(cls, value: Any) -> Any:
        return parse_expected_metrics(value) if isinstance(value, dict) else value

    @field_validator("expected_outputs")
    @classmethod
    def _output_patterns(cls, value: list[str]) -> list[str]:
        return [relative_pattern(item) for item in value]

    @field_validator("metrics_file")
    @classmethod
    def _metrics_pattern(cls, value: str | None) -> str | None:
        return None if value is None else relative_pattern(value)

    @field_validator("warnings_expected")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for written in value:
            if not written or written == "//":
                raise ValueError("a warning pattern must not be empty")
            try:
                log_pattern(written)
            except re.error as exc:
                raise ValueError(f"'{written}' is not a valid regular expression: {exc}") from None
        return value

    @property
    def metrics_pattern(self) -> str:
        """The output file that holds the metrics: ``metrics_file`` or any metrics.json."""
        return self.metrics_file or DEFAULT_METRICS_FILE

    @property
    def should_complete(self) -> bool:
        return self.expected_behavior.should_complete


CASE_FIELDS = tuple(TestCase.model_fields)


class TestCaseFile(BaseModel):
    """The cases of one file, with where they were read from."""

    __test__: ClassVar[bool] = False
    model_config = ConfigDict(frozen=True)

    test_cases: list[TestCase]
    source: str | None = None
    base_dir: Path
    script: str | None = None
    """The script the cases test: a step name of ``dag``, or (without ``dag``) the script
    file, resolved against ``base_dir``. None when the file does not say."""
    dag: Path | None = None
    """The pipeline file of the step ``script`` names, resolved against ``base_dir``."""
    contract: Path | None = None
    """The contract of the script file ``script``, resolved against ``base_dir``."""

    @property
    def names(self) -> list[str]:
        return [case.name for case in self.test_cases]

    def case(self, name: str) -> TestCase:
        for case in self.test_cases:
            if case.name == name:
                return case
        raise KeyError(name)


def cases_from_data(data: Any, base_dir: Path, source: str | None = None) -> TestCaseFile:
    """Cases from a parsed file (or Python data: ``TestCase``s or mappings); paths resolve
    against ``base_dir`` and must exist. Raises ``FieldError`` naming the case and field."""
    if isinstance(data, list):
        data = {"test_cases": data}
    if not isinstance(data, dict):
        raise FieldError("", "a test-case file is a mapping 'test_cases: [...]' or a list of cases")
    reject_unknown(data, FILE_FIELDS)
    target = _script_target(data, base_dir)
    listed = data.get("test_cases")
    if not isinstance(listed, list):
        raise FieldError("test_cases", "must be a list of cases, each a mapping with a 'name'")
    if not listed:
        raise FieldError("test_cases", "lists no cases; add at least one with a 'name'")
    cases = [_case(raw, index, base_dir, source) for index, raw in enumerate(listed)]
    _unique_names(cases)
    return TestCaseFile(test_cases=cases, source=source, base_dir=base_dir, **target)


FILE_FIELDS = ("test_cases", "script", "dag", "contract")
"""The top-level keys of a test-case file."""


def _script_target(data: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """``script``, ``dag`` and ``contract`` of a file, their paths resolved and found."""
    script, dag, contract = data.get("script"), data.get("dag"), data.get("contract")
    if script is None:
        if dag is not None:
            raise FieldError("dag", "is the pipeline of a step; add 'script: STEP' as well")
        if contract is not None:
            raise FieldError("contract", "is a script file's; add 'script: FILE.py' as well")
        return {}
    if not isinstance(script, str) or not script.strip():
        raise FieldError("script", "must be a step name of 'dag:', or a script file")
    if dag is not None and contract is not None:
        raise FieldError(
            "contract", "goes with a script file; a step of 'dag:' uses its pipeline's contract"
        )
    if dag is not None:
        return {"script": script.strip(), "dag": _file_at(dag, "dag", base_dir)}
    found: dict[str, Any] = {"script": str(_file_at(script, "script", base_dir))}
    if contract is not None:
        found["contract"] = _file_at(contract, "contract", base_dir)
    return found


def _file_at(written: Any, key: str, base_dir: Path) -> Path:
    """The file ``written`` names, relative to ``base_dir``; it must exist."""
    if not isinstance(written, str) or not written.strip():
        raise FieldError(key, "must be a file path, relative to this file")
    path = Path(written.strip()).expanduser()
    path = (path if path.is_absolute() else base_dir / path).resolve()
    if not path.is_file():
        raise FieldError(key, f"no such file: {path}")
    return path


def _case(raw: Any, index: int, base_dir: Path, source: str | None = None) -> TestCase:
    if isinstance(raw, TestCase):
        return raw
    name = raw.get("name") if isinstance(raw, dict) else None
    named = isinstance(name, str) and NAME_PATTERN.match(name)
    label = f"test_cases.{name if named else index}"
    if not isinstance(raw, dict):
        raise FieldError(label, "a case is a mapping with a 'name' and its expectations")
    try:
        return TestCase.model_validate(raw, context={"base_dir": base_dir, "source": source})
    except ValidationError as exc:
        field, message = _describe(exc.errors()[0])
        raise FieldError(f"{label}.{field}" if field else label, message) from None


def _describe(error: ErrorDetails) -> tuple[str, str]:
    """One validation error of a case as (field path, message), in the words of the file."""
    loc = [str(part) for part in error["loc"] if part != DICT_KEY]
    kind = error["type"]
    if loc[:1] == ["hyperparameters"] and len(loc) > 2:
        return ".".join(loc[:2]), SCALAR_TEXT
    if loc[:1] in (["environment_vars"], ["arguments"]) and kind == "string_type":
        return ".".join(loc), SCALAR_TEXT
    if kind == "string_pattern_mismatch" and loc[:1] == ["environment_vars"]:
        return ".".join(loc), VARIABLE_NAME_RULE
    if kind == "string_pattern_mismatch" and loc[:1] == ["hyperparameters"]:
        return ".".join(loc), HYPERPARAMETER_NAME_RULE
    if loc[:1] == ["input_data"] and len(loc) == 2 and kind == "model_type":
        return ".".join(loc), INPUT_FORMS
    if loc[:1] == ["input_data"] and loc[2:] == ["uri"]:  # written as the channel's path
        return ".".join(loc[:2]), describe_error(error)[1]
    return describe_error(error)


def _unique_names(cases: list[TestCase]) -> None:
    seen: set[str] = set()
    for case in cases:
        if case.name in seen:
            raise FieldError(
                f"test_cases.{case.name}", f"the name '{case.name}' is used by two cases"
            )
        seen.add(case.name)


def load_test_cases(path: Path) -> TestCaseFile:
    """Read a test-case file (.yaml, .yml or .json); every mistake is an ``InputError``."""
    if path.is_dir():
        raise InputError("is a folder; give the test-case file (.yaml or .json)", file=path)
    return load_data_file(
        path,
        "test-case",
        lambda data: cases_from_data(data, path.resolve().parent, source=str(path)),
    )
