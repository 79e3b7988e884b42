"""The pipeline model: steps, their inputs and outputs, and the Python API that builds them.

A ``Pipeline`` holds typed ``Step`` records. Edges are not stored: they follow from inputs
that reference another step's output, and from ``depends_on``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..aws.s3_uris import is_s3_text, s3_uri
from ..data.contracts import ScriptContract, load_contract
from ..files import (
    DICT_KEY,
    FieldError,
    InputRecord,
    NulFreeRecord,
    describe_error,
    kind_of,
    quoted,
    scalar_text,
    unknown_field,
)
from .expectations import InvalidExpectation, step_expectations

if TYPE_CHECKING:
    from .expectations import Expectation

STEP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$"
CHANNEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
VARIABLE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,254}$"

HYPERPARAMETER_NAME_PATTERN = r"^[^=\x00-\x1f\x7f]{1,256}$"
IMAGE_PATTERN = (
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?"  # registry[:port]/
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"  # :tag
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"  # @digest
)

ChannelName = Annotated[str, Field(pattern=CHANNEL_NAME_PATTERN)]
VariableName = Annotated[str, Field(pattern=VARIABLE_NAME_PATTERN)]
HyperparameterName = Annotated[str, Field(pattern=HYPERPARAMETER_NAME_PATTERN)]
MAX_PIPELINE_NAME = 256

MAX_PROCESSING_SECONDS = 7 * 24 * 3600
MAX_TRAINING_SECONDS = 28 * 24 * 3600

MODEL_OUTPUT = "model"
OUTPUT_DATA_OUTPUT = "output_data"
TRAINING_OUTPUTS = (MODEL_OUTPUT, OUTPUT_DATA_OUTPUT)


class StepKind(StrEnum):
    PROCESSING = "processing"
    TRAINING = "training"
    CONDITION = "condition"
    """Chooses a branch of steps on the host; runs no container."""
    FAIL = "fail"
    """Stops the run as failed with its message when reached; runs no container."""

    @property
    def runs_container(self) -> bool:
        return self in (StepKind.PROCESSING, StepKind.TRAINING)


class _Frozen(InputRecord):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalSource(_Frozen):
    """A file or folder on the machine running cit; ``origin`` is the URI it was fetched from
    when it stands in for an ``S3Source`` during a run."""

    path: Path
    origin: str | None = None


class S3Source(_Frozen):
    """A prefix (folder) or object (file) in S3, fetched into the local cache before a run."""

    uri: str

    _shape = field_validator("uri")(s3_uri)

    def __str__(self) -> str:
        return self.uri


SUB_PATH_RULE = (
    "a sub-path is a folder inside the output, relative and '/'-separated, e.g. 'train' or "
    "'splits/train', without '.' or '..' parts and not starting with '/'"
)


def sub_path(value: str | None) -> str | None:
    """A folder inside an output: relative, '/'-separated, no '.' or '..' parts, no trailing
    '/' (``'train/'`` becomes ``'train'``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(SUB_PATH_RULE)
    if value.startswith("/") or "\\" in value:
        raise ValueError(f"'{value}': {SUB_PATH_RULE}")
    parts = [part for part in value.split("/") if part]
    if not parts or "." in parts or ".." in parts or "\x00" in value:
        raise ValueError(f"'{value}': {SUB_PATH_RULE}")
    return "/".join(parts)


class StepOutput(_Frozen):
    """A reference to an output of another step: the edge ``step`` → this step; ``path``, a
    folder inside that output, hands the consumer only that folder."""

    step: str
    output: str
    path: str | None = None

    _relative = field_validator("path", mode="before")(sub_path)

    def __str__(self) -> str:
        return edge_source(self.step, self.output, self.path)


def edge_source(step: str, output: str, path: str | None = None) -> str:
    """How an edge names the data it carries: ``prep.processed_data``, or
    ``prep.processed_data/train`` for a folder inside the output."""
    return f"{step}.{output}/{path}" if path else f"{step}.{output}"


def container_path(value: str | None) -> str | None:
    """An absolute path inside the container, without '.' or '..' parts or a trailing '/'."""
    if value is None:
        return None
    if not value.startswith("/"):
        raise ValueError("must be an absolute path inside the container, e.g. /opt/ml/...")
    parts = value.split("/")
    if "." in parts or ".." in parts:
        raise ValueError("must not contain '.' or '..' parts")
    return "/" + "/".join(part for part in parts if part)


class StepInput(_Frozen):
    """Where an input comes from and, optionally, where it is mounted in the container."""

    source: LocalSource | S3Source | StepOutput
    destination: str | None = None

    _absolute = field_validator("destination")(container_path)


class StepOutputSpec(_Frozen):
    """A processing output; ``destination`` defaults to /opt/ml/processing/output/<name>."""

    destination: str | None = None

    _absolute = field_validator("destination")(container_path)


PROPERTY_FILE_RULE = (
    "a property file is a file inside the output, relative and '/'-separated, e.g. "
    "'evaluation.json', without '.' or '..' parts"
)


class PropertyFile(_Frozen):
    """A JSON file a processing step writes into one of its outputs, which condition steps
    read values from (SageMaker's ``PropertyFile``)."""

    output: ChannelName
    path: str

    @field_validator("path", mode="before")
    @classmethod
    def _inside_output(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            checked = sub_path(value)
        except ValueError:
            raise ValueError(f"'{value}': {PROPERTY_FILE_RULE}") from None
        if value.endswith("/"):
            raise ValueError(f"'{value}': {PROPERTY_FILE_RULE}")
        return checked


JSON_PATH_RULE = (
    "a JSON path is keys separated by '.', each optionally followed by [INDEX], "
    "e.g. 'metrics.accuracy.value' or 'scores[0].auc'"
)
_JSON_KEY = r"[^.\[\]]+"
JSON_PATH_PATTERN = rf"^{_JSON_KEY}(\[\d+\])*(\.{_JSON_KEY}(\[\d+\])*)*$"


class JsonGet(_Frozen):
    """A value read at run time from a property file of a step that ran
    (SageMaker's ``Std:JsonGet``)."""

    step: str
    property_file: str
    json_path: str = Field(pattern=JSON_PATH_PATTERN)

    def __str__(self) -> str:
        return f"{self.step}.{self.property_file} {self.json_path}"


Operand = JsonGet | bool | int | float | str
"""What a condition compares: a constant, or a value read from a property file."""

COMPARISONS = ("==", ">", ">=", "<", "<=")
CONDITION_FORMS = (
    "a condition is {op: '>=', left: A, right: B} (op one of ==, >, >=, <, <=), "
    "{op: in, left: A, values: [B, ...]}, {op: not, conditions: [C]} or "
    "{op: or, conditions: [C, ...]}; A and B are constants or "
    "{step: NAME, property_file: NAME, json_path: PATH}"
)


class Condition(_Frozen):
    """One test of a condition step: a comparison, ``in``, or ``not``/``or`` of others."""

    op: Literal["==", ">", ">=", "<", "<=", "in", "not", "or"]
    left: Operand | None = None
    right: Operand | None = None
    values: list[Operand] | None = None
    conditions: list[Condition] | None = None

    @model_validator(mode="after")
    def _fields_of_op(self) -> Condition:
        given = {
            name
            for name in ("left", "right", "values", "conditions")
            if name in self.model_fields_set
        }
        if self.op in COMPARISONS:
            needed = {"left", "right"}
        elif self.op == "in":
            needed = {"left", "values"}
        else:
            needed = {"conditions"}
        if given != needed or any(getattr(self, name) is None for name in needed):
            fields = " and ".join(sorted(needed))
            raise ValueError(f"op '{self.op}' takes {fields}; {CONDITION_FORMS}")
        if self.op == "not" and len(self.conditions or []) != 1:
            raise ValueError("op 'not' takes one condition in 'conditions'")
        if self.op in ("or", "in") and not (self.conditions or self.values):
            raise ValueError(f"op '{self.op}' needs at least one entry")
        return self

    def property_reads(self) -> list[JsonGet]:
        """Every property-file value this condition reads, nested ones included."""
        found = [v for v in (self.left, self.right, *(self.values or [])) if isinstance(v, JsonGet)]
        for inner in self.conditions or []:
            found += inner.property_reads()
        return found


class Instance(_Frozen):
    """The instance a step runs on; cpus and memory become the container's limits, gpus the
    GPUs it is given; a training step on ``count`` instances runs one container per host."""

    type: str = "ml.m5.large"
    count: int = Field(default=1, ge=1, le=16)  # each host is a container on this machine
    gpus: int | None = Field(default=None, ge=0, le=16)
    cpus: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    memory: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?\s*([kKmMgG]i?[bB]?)?$")


_STEP_FIELDS = frozenset({"name", "kind", "depends_on"})
_KIND_FIELDS = {
    StepKind.CONDITION: frozenset({"conditions", "if_steps", "else_steps"}),
    StepKind.FAIL: frozenset({"error_message"}),
    StepKind.PROCESSING: frozenset({"property_files"}),
}


def _misplaced_field(kind: StepKind, given: set[str]) -> str | None:
    """Why a field given does not belong to a step of ``kind``; None when all belong."""
    if kind.runs_container:
        for owner, names in _KIND_FIELDS.items():
            wrong = sorted(given & names) if owner is not kind else []
            if wrong:
                return f"'{wrong[0]}' belongs to {owner.value} steps"
        return None
    own = _STEP_FIELDS | _KIND_FIELDS[kind]
    wrong = sorted(given - own)
    if not wrong:
        return None
    return (
        f"a {kind.value} step runs no container; '{wrong[0]}' does not belong to it "
        f"(its fields: {', '.join(sorted(own - {'name', 'kind'}))})"
    )


class Step(_Frozen, NulFreeRecord):
    """One SageMaker step: a processing or training container, or a condition or fail step
    (no container: cit evaluates them)."""

    name: str = Field(pattern=STEP_NAME_PATTERN)
    kind: StepKind
    script: Path | None = None
    source_dir: Path | None = None
    inputs: dict[ChannelName, StepInput] = Field(default_factory=dict)
    outputs: dict[ChannelName, StepOutputSpec] = Field(default_factory=dict)
    env: dict[VariableName, str] = Field(default_factory=dict)
    secrets: dict[VariableName, VariableName] = Field(default_factory=dict)
    """Container variable → the host variable whose value it gets, read when cit starts."""
    arguments: list[str] = Field(default_factory=list)
    hyperparameters: dict[HyperparameterName, str | int | float | bool] = Field(
        default_factory=dict
    )
    image: str | None = Field(default=None, pattern=IMAGE_PATTERN)
    sagemaker_image: str | None = Field(default=None, min_length=1)
    """The image the step's SageMaker definition names (``ImageUri``, ``TrainingImage``), kept
    to show what ``image`` it was mapped to; it does not choose the image."""
    entrypoint: list[str] | None = None
    instance: Instance = Field(default_factory=Instance)
    timeout_seconds: float = Field(default=3600.0, gt=0, allow_inf_nan=False)
    network: bool = False
    cache: bool = True
    """False: the step always runs, never taking an earlier run's outputs (the step cache)."""
    depends_on: list[str] = Field(default_factory=list)
    contract: ScriptContract | None = None
    property_files: dict[ChannelName, PropertyFile] = Field(default_factory=dict)
    """Processing: JSON files in its outputs that conditions read (``JsonGet``)."""
    conditions: list[Condition] = Field(default_factory=list)
    """Condition: all must hold for the ``if_steps`` to run; else the ``else_steps`` run."""
    if_steps: list[str] = Field(default_factory=list)
    else_steps: list[str] = Field(default_factory=list)
    error_message: str | None = None
    """Fail: the message the run fails with."""

    @field_validator("timeout_seconds")
    @classmethod
    def _within_sagemaker_limit(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("kind") is StepKind.PROCESSING:
            limit, days, job = MAX_PROCESSING_SECONDS, 7, "processing"
        else:
            limit, days, job = MAX_TRAINING_SECONDS, 28, "training"
        if value > limit:
            raise ValueError(
                f"must be at most {limit} ({days} days), the longest a SageMaker {job} job may run"
            )
        return value

    @model_validator(mode="after")
    def _check_kind_fields(self) -> Step:
        misplaced = _misplaced_field(self.kind, self.model_fields_set)
        if misplaced:
            raise ValueError(misplaced)
        if self.kind is StepKind.CONDITION:
            if not self.conditions:
                raise ValueError("a condition step needs 'conditions'")
            return self
        if self.kind is StepKind.FAIL:
            return self
        if self.script is None and self.image is None:
            raise ValueError("a step needs a 'script', or an 'image' that runs on its own")
        if self.kind is StepKind.PROCESSING and self.hyperparameters:
            raise ValueError("'hyperparameters' belong to training steps; use 'arguments'")
        if self.kind is StepKind.TRAINING:
            if self.outputs:
                raise ValueError(
                    "training steps have fixed outputs 'model' (model.tar.gz) and "
                    "'output_data' (output.tar.gz); remove 'outputs'"
                )
            if self.arguments:
                raise ValueError("training steps take 'hyperparameters', not 'arguments'")
        return self

    @model_validator(mode="after")
    def _secrets_apart_from_env(self) -> Step:
        for name in self.secrets:
            if name in self.env:
                raise ValueError(f"{name} is in both 'env' and 'secrets'; give it in one of them")
        return self

    def branch_of(self, name: str) -> str | None:
        """'If' or 'Else': the branch of this condition step that holds step ``name``."""
        if name in self.if_steps:
            return "If"
        if name in self.else_steps:
            return "Else"
        return None

    @property
    def output_names(self) -> tuple[str, ...]:
        if self.kind is StepKind.TRAINING:
            return TRAINING_OUTPUTS
        return tuple(self.outputs)

    @property
    def upstream(self) -> tuple[str, ...]:
        """Names of the steps this one waits for, in a stable order."""
        names = [i.source.step for i in self.inputs.values() if isinstance(i.source, StepOutput)]
        names += [read.step for c in self.conditions for read in c.property_reads()]
        return tuple(dict.fromkeys([*names, *self.depends_on]))

    @property
    def script_mode(self) -> bool:
        """True when cit mounts the user's code; False for an image that runs on its own."""
        return self.script is not None


PIPELINE_NAME_RULE = (
    f"a pipeline name is text of 1 to {MAX_PIPELINE_NAME} characters without control "
    "characters (newlines, tabs, NUL)"
)


def pipeline_name(value: Any) -> str:
    """A pipeline's name as given, checked: it names run directories, reports and S3 prefixes."""
    if not isinstance(value, str):
        raise FieldError("name", f"must be text, not {kind_of(value)}; {PIPELINE_NAME_RULE}")
    if not value.strip() or len(value) > MAX_PIPELINE_NAME or not value.isprintable():
        raise FieldError("name", f"{quoted(value)}: {PIPELINE_NAME_RULE}")
    return value


class StepHandle:
    """What the builder returns for a step: a way to reference its outputs."""

    def __init__(self, step: Step) -> None:
        self.step = step

    @property
    def name(self) -> str:
        return self.step.name

    def output(self, name: str, path: str | None = None) -> StepOutput:
        """Output ``name`` of this step; with ``path``, only that folder inside it
        (``prep.output("processed_data", "train")``)."""
        try:
            return StepOutput(step=self.step.name, output=name, path=path)
        except ValidationError as exc:
            message = describe_error(exc.errors()[0])[1]
            raise InvalidStep(self.step.name, f"output('{name}').path", message) from None

    @property
    def model(self) -> StepOutput:
        """The ``model.tar.gz`` a training step produces."""
        return self.output(MODEL_OUTPUT)

    def json_get(self, property_file: str, json_path: str) -> JsonGet:
        """A value a condition reads at run time from ``property_file`` of this step
        (``evaluate.json_get("EvaluationReport", "metrics.accuracy.value")``)."""
        try:
            return JsonGet(step=self.step.name, property_file=property_file, json_path=json_path)
        except ValidationError:
            raise InvalidStep(
                self.step.name, f"json_get('{property_file}')", JSON_PATH_RULE
            ) from None

    @property
    def output_data(self) -> StepOutput:
        """The ``output.tar.gz`` of a training step's /opt/ml/output/data."""
        return self.output(OUTPUT_DATA_OUTPUT)


InputValue = str | Path | StepOutput | StepHandle | StepInput | dict[str, Any]


def _caller_dir(depth: int = 2) -> Path:
    file = sys._getframe(depth).f_globals.get("__file__")
    return Path(file).resolve().parent if file else Path.cwd()


@dataclass(frozen=True)
class SkippedStep:
    """A step of a SageMaker pipeline definition left out of the run: its name, its ``Type``
    in the definition and why (``--skip-step``, ``--skip-unsupported``, or a skipped step's
    output it needs)."""

    name: str
    kind: str
    reason: str


class Pipeline:
    """A pipeline built in Python; relative paths resolve against the defining file's folder."""

    def __init__(self, name: str = "pipeline", *, base_dir: str | Path | None = None) -> None:
        self.name = pipeline_name(name)
        self.base_dir = Path(base_dir).resolve() if base_dir is not None else _caller_dir()
        self.steps: dict[str, Step] = {}
        self.source_file: Path | None = None
        """The file the pipeline was loaded from, if any: snapshots are kept next to it."""
        self.expectations: list[Expectation] = []
        """What the outputs of a run must show (``expect``), judged after the run."""
        self.skipped: list[SkippedStep] = []
        """Steps of the definition it was loaded from that are left out, reported as skipped."""

    def add(self, step: Step) -> StepHandle:
        """Add ``step``; a step in a branch of a condition step waits for that condition
        (its ``depends_on`` names it), whichever of the two is added first."""
        if step.name in self.steps:
            raise ValueError(f"a step named '{step.name}' is already in the pipeline")
        for other in self.steps.values():
            if other.branch_of(step.name):
                step = _waiting_for(step, other.name)
        self.steps[step.name] = step
        for name in [*step.if_steps, *step.else_steps]:
            if name in self.steps and name != step.name:
                self.steps[name] = _waiting_for(self.steps[name], step.name)
        return StepHandle(step)

    def step(self, name: str, kind: StepKind | str, **fields: Any) -> StepHandle:
        """Add a step from keyword fields (see ``Step``); paths resolve against base_dir."""
        return self.add(build_step(name, kind, fields, self.base_dir))

    def processing(self, name: str, **fields: Any) -> StepHandle:
        return self.step(name, StepKind.PROCESSING, **fields)

    def training(self, name: str, **fields: Any) -> StepHandle:
        return self.step(name, StepKind.TRAINING, **fields)

    def condition(
        self,
        name: str,
        conditions: list[Condition | dict[str, Any]],
        *,
        if_steps: Sequence[StepHandle | str] = (),
        else_steps: Sequence[StepHandle | str] = (),
        **fields: Any,
    ) -> StepHandle:
        """A condition step: when all ``conditions`` hold the ``if_steps`` run, else the
        ``else_steps``; the steps of the branch not taken are skipped."""
        return self.step(
            name,
            StepKind.CONDITION,
            conditions=conditions,
            if_steps=[_step_name(s) for s in if_steps],
            else_steps=[_step_name(s) for s in else_steps],
            **fields,
        )

    def fail(self, name: str, error_message: str | None = None, **fields: Any) -> StepHandle:
        """A fail step: reaching it fails the run with ``error_message``."""
        return self.step(name, StepKind.FAIL, error_message=error_message, **fields)

    def expect(
        self,
        step: StepHandle | str,
        *,
        metrics: dict[str, Any] | None = None,
        metrics_file: str | None = None,
        outputs: list[str] | None = None,
        data_quality: dict[str, list[Any]] | None = None,
    ) -> None:
        """Declare what the outputs of ``step`` must show after a run, as a test case does:
        ``metrics`` ({name: ">= 0.8"}) read from ``metrics_file`` (default: the shallowest
        metrics.json), ``outputs`` (files or globs) and ``data_quality`` ({output: [checks]},
        a dataset to compare with written ``step.output("x")`` or "3x step.x"). A mistake
        raises ``InvalidExpectation``; steps and outputs are checked with the pipeline."""

        name = step.name if isinstance(step, StepHandle) else step
        if not isinstance(name, str):
            raise InvalidExpectation("expectations", "name a step, or pass what adding it returned")
        at = f"expectations.{name}"
        try:
            self.expectations += step_expectations(
                name,
                self.base_dir,
                at,
                metrics=metrics,
                metrics_file=metrics_file,
                outputs=outputs,
                data_quality=as_text(data_quality),
            )
        except FieldError as exc:
            raise InvalidExpectation(exc.field, exc.message) from None

    def with_steps(self, steps: dict[str, Step]) -> Pipeline:
        """A pipeline of the same name, folder, source file and expectations with ``steps``
        instead."""
        result = Pipeline(self.name, base_dir=self.base_dir)
        result.steps = steps
        result.source_file = self.source_file
        result.expectations = list(self.expectations)
        result.skipped = list(self.skipped)
        return result


def _step_name(step: StepHandle | str) -> str:
    return step.name if isinstance(step, StepHandle) else step


def _waiting_for(step: Step, condition: str) -> Step:
    if condition in step.depends_on:
        return step
    return step.model_copy(update={"depends_on": [*step.depends_on, condition]})


def as_text(value: Any) -> Any:
    """``value`` with every step output (``prep.output("test")``) written as its text."""
    if isinstance(value, StepOutput):
        return str(value)
    if isinstance(value, dict):
        return {key: as_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_text(item) for item in value]
    return value


class InvalidStep(ValueError):
    """A step's fields do not validate; names the step, the field and what is allowed."""

    def __init__(self, step: str, field: str, message: str) -> None:
        super().__init__(
            f"steps.{step}.{field}: {message}" if field else f"steps.{step}: {message}"
        )
        self.step = step
        self.field = f"steps.{step}.{field}" if field else f"steps.{step}"
        self.message = message


def describe_validation_error(error: ValidationError) -> tuple[str, str]:
    """The first problem of a pydantic error as (field path, message naming what is allowed)."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    kind = first["type"]
    operand = _operand_field(loc)
    if operand is not None:
        if loc[-1] == "json_path" and kind == "string_pattern_mismatch":
            return _path([*operand, "json_path"]), JSON_PATH_RULE
        if loc[-1] in ("step", "property_file", "json_path") and kind == "missing":
            return _path([*operand, loc[-1]]), f"missing; {OPERAND_FORMS}"
        return _path(operand), OPERAND_FORMS
    if loc and loc[-1] in _UNION_MEMBERS:
        return _path(loc[:-1]), "must be a string, number or boolean"
    if kind == "string_type" and loc[:1] in (["env"], ["arguments"]):
        return _path(loc), "must be a string, number or boolean"
    if _is_input_shape(loc, kind):
        return _path(loc[:2]), INPUT_FORMS
    if kind == "extra_forbidden":
        return _path(loc), unknown_field(loc[-1], _allowed_fields(loc[:-1]))
    if kind == "model_type":
        return _path(loc), f"must be a mapping; allowed fields: {', '.join(_allowed_fields(loc))}"
    if kind == "string_pattern_mismatch":
        return _path(loc), _pattern_in_words(loc, describe_error(first)[1])
    return describe_error(first)


OPERAND_FORMS = (
    "a condition compares a string, number or boolean, or a property file's value "
    "{step: NAME, property_file: NAME, json_path: PATH}"
)


def _operand_field(loc: list[str]) -> list[str] | None:
    """The path to a condition's operand (``conditions.0.left``) when the error is in one."""
    for index, part in enumerate(loc):
        if part == "JsonGet" or part in _UNION_MEMBERS:
            return loc[:index] if index and loc[:1] == ["conditions"] else None
    return None


INPUT_FORMS = (
    "an input is a path, an s3://bucket/prefix URI, or {step: NAME, output: NAME} "
    "(with path: SUB/FOLDER for a folder inside the output)"
)
STEP_NAME_RULE = (
    "a step name has letters, digits, '-' and '_', up to 80 characters, "
    "and starts with a letter or digit"
)
CHANNEL_NAME_RULE = (
    "an input or output name has letters, digits, '-', '_' and '.', up to 64 characters, "
    "and starts with a letter or digit"
)
MEMORY_RULE = "must be a size such as 512m, 2g or 1.5GiB"
VARIABLE_NAME_RULE = (
    "an environment variable name has letters, digits and '_', and does not start with a digit"
)
HYPERPARAMETER_NAME_RULE = (
    "a hyperparameter name has 1 to 256 characters, without '=' or control characters"
)
IMAGE_RULE = (
    "must be an image reference such as name:tag, registry:port/team/name:tag or "
    "name@sha256:DIGEST (lowercase name)"
)
SECRETS_FORMS = "must be a list of variable names, or a mapping of container to host variable"
_UNION_MEMBERS = frozenset({"str", "int", "float", "bool"})


def _path(loc: list[str]) -> str:
    return ".".join(part for part in loc if part != DICT_KEY)


def _is_input_shape(loc: list[str], kind: str) -> bool:
    """Whether the error is about what an input is, not about one of its fields."""
    if loc[:1] != ["inputs"] or len(loc) < 2:
        return False
    return (len(loc) == 2 and kind == "model_type") or (len(loc) > 2 and loc[2] == "source")


def _allowed_fields(loc: list[str]) -> list[str]:
    """The fields allowed in the mapping at ``loc`` of a step."""
    if loc[:1] == ["inputs"] and len(loc) == 2:
        return ["path", "step", "output", "destination"]
    if loc[:1] == ["outputs"] and len(loc) == 2:
        return list(StepOutputSpec.model_fields)
    if loc == ["instance"]:
        return sorted(Instance.model_fields)
    if loc[:1] == ["property_files"] and len(loc) == 2:
        return sorted(PropertyFile.model_fields)
    if loc[:1] == ["conditions"]:
        return list(Condition.model_fields)
    return sorted(set(Step.model_fields) - {"name"})


def _pattern_in_words(loc: list[str], message: str) -> str:
    if loc == ["name"]:
        return STEP_NAME_RULE
    if loc[:1] in (["secrets"], ["env"]):
        return VARIABLE_NAME_RULE
    if loc[:1] == ["hyperparameters"]:
        return HYPERPARAMETER_NAME_RULE
    if loc == ["image"]:
        return IMAGE_RULE
    if loc[-1:] == [DICT_KEY]:
        return CHANNEL_NAME_RULE
    if loc == ["instance", "memory"]:
        return MEMORY_RULE
    return message


def build_step(name: str, kind: StepKind | str, fields: dict[str, Any], base_dir: Path) -> Step:
    """Normalise the user's shorthand into a validated ``Step``; raises ``InvalidStep``."""
    try:
        return Step.model_validate(_normalise(name, kind, fields, base_dir))
    except FieldError as exc:
        raise InvalidStep(name, exc.field, exc.message) from None
    except ValidationError as exc:
        field, message = describe_validation_error(exc)
        raise InvalidStep(name, field.removeprefix("name").lstrip("."), message) from None


def _normalise(name: str, kind: StepKind | str, fields: dict[str, Any], base_dir: Path) -> Any:
    data = dict(fields)
    data["name"] = name
    data["kind"] = kind
    contract = _contract(data.get("contract"), base_dir, data.get("script"))
    script_from_contract = False
    if contract is not None:
        data["contract"] = contract
        if data.get("script") is None and data.get("image") is None:
            data["script"] = contract.entry_point
            script_from_contract = True
    if "inputs" in data and isinstance(data["inputs"], dict):
        data["inputs"] = {
            k: _normalise_input(v, base_dir, f"inputs.{k}") for k, v in data["inputs"].items()
        }
    if "outputs" in data and isinstance(data["outputs"], list | tuple):
        data["outputs"] = _output_names(data["outputs"])
    if isinstance(data.get("source_dir"), str | Path):
        data["source_dir"] = _resolve(data["source_dir"], base_dir, "source_dir")
    if isinstance(data.get("script"), str | Path):
        code_dir = data["source_dir"] if isinstance(data.get("source_dir"), Path) else base_dir
        data["script"] = _resolve(data["script"], code_dir, "script")
        if script_from_contract and contract is not None:
            _require_entry_point(data["script"], contract, data.get("source_dir"), base_dir)
    if isinstance(data.get("env"), dict):
        data["env"] = {k: scalar_text(v) for k, v in data["env"].items()}
    if "secrets" in data:
        data["secrets"] = _secrets(data["secrets"])
    if isinstance(data.get("arguments"), list):
        data["arguments"] = [scalar_text(a) for a in data["arguments"]]
    if contract is not None and str(kind) == StepKind.PROCESSING:
        _mount_where_the_contract_says(data, contract)
    return data


def _output_names(names: list[Any] | tuple[Any, ...]) -> dict[Any, Any]:
    """``[a, b]`` as ``{a: {}, b: {}}``; a name given twice is a mistake, not one output."""
    outputs: dict[Any, Any] = {}
    for index, name in enumerate(names):
        if not isinstance(name, str):
            raise FieldError(
                f"outputs.{index}",
                f"an output name is text, not {kind_of(name)} ({quoted(name)}); quote it in YAML",
            )
        if name in outputs:
            raise FieldError("outputs", f"{quoted(name)} is given twice")
        outputs[name] = {}
    return outputs


def _secrets(value: Any) -> Any:
    """``[NAME, ...]`` (each container variable gets the host variable of the same name) or
    ``{CONTAINER_VAR: HOST_VAR}``."""
    if isinstance(value, list | tuple):
        if not all(isinstance(name, str) for name in value):
            raise FieldError("secrets", SECRETS_FORMS)
        return {name: name for name in value}
    if not isinstance(value, dict):
        raise FieldError("secrets", SECRETS_FORMS)
    return value


def _contract(value: Any, base_dir: Path, script: Any) -> ScriptContract | None:
    """The step's contract: given as a ``ScriptContract`` or a file to load (the step's
    script picks among the contracts of a file that has several)."""
    if value is None or isinstance(value, ScriptContract):
        return value
    if isinstance(value, str | Path):
        entry_point = script if isinstance(script, str | Path) else None
        return load_contract(_resolve(value, base_dir, "contract"), entry_point)
    raise FieldError("contract", "must be a contract file (.yaml, .json, .py) or a ScriptContract")


def _require_entry_point(
    script: Path, contract: ScriptContract, source_dir: Any, base_dir: Path
) -> None:
    """A script taken from the contract's entry_point must exist where it was looked for."""
    try:
        script.stat()
    except (FileNotFoundError, NotADirectoryError):
        where = (
            f"source_dir {source_dir}"
            if isinstance(source_dir, Path)
            else f"the pipeline file's folder {base_dir} (the step has no source_dir)"
        )
        raise FieldError(
            "contract.entry_point",
            f"no such script: {script}; the step has no 'script', so it runs the entry_point "
            f"'{contract.entry_point}' of {contract.label}, looked for in {where}",
        ) from None
    except OSError:
        return


def _mount_where_the_contract_says(data: dict[str, Any], contract: ScriptContract) -> None:
    """Inputs and outputs named in the contract are mounted at the contract's paths; a step
    that lists no outputs gets the contract's."""
    if "outputs" not in data or data["outputs"] is None:
        data["outputs"] = {name: {} for name in contract.expected_output_paths}
    for field, paths in (
        ("inputs", contract.expected_input_paths),
        ("outputs", contract.expected_output_paths),
    ):
        entries = data.get(field)
        if not isinstance(entries, dict):
            continue
        for name, entry in entries.items():
            if name in paths and isinstance(entry, dict):
                entries[name] = _with_destination(entry, paths[name], f"{field}.{name}", contract)


def _with_destination(
    entry: dict[str, Any], path: str, field: str, contract: ScriptContract
) -> dict[str, Any]:
    given = entry.get("destination")
    try:
        mounted = container_path(None if given is None else str(given))
    except ValueError as exc:
        raise FieldError(f"{field}.destination", str(exc)) from None
    if mounted is not None and mounted != path:
        raise FieldError(
            f"{field}.destination",
            f"{given} differs from {path} in {contract.label}; give the path in one place",
        )
    return {**entry, "destination": path}


def _resolve(path: str | Path, base_dir: Path, field: str) -> Path:
    try:
        p = Path(path).expanduser()
    except RuntimeError:
        raise FieldError(field, f"cannot expand {path}: no such user or home folder") from None
    return p if p.is_absolute() else (base_dir / p)


def _normalise_input(value: Any, base_dir: Path, field: str) -> Any:
    if isinstance(value, StepHandle):
        raise FieldError(
            field,
            f"refers to step '{value.name}' as a whole; "
            f"name one of its outputs, e.g. {value.name}.output('...')",
        )
    if isinstance(value, StepOutput):
        return {"source": value}
    if isinstance(value, str | Path):
        return {"source": _path_source(value, base_dir, field)}
    if isinstance(value, dict):
        return _normalise_input_dict(value, base_dir, field)
    return value


def _normalise_input_dict(value: dict[str, Any], base_dir: Path, field: str) -> dict[str, Any]:
    data = dict(value)
    if "step" in data or "output" in data:
        if "path" in data and ("step" not in data or "output" not in data):
            raise FieldError(
                field,
                "give either 'path' or 'step' and 'output' (with both of these, 'path' is a "
                "folder inside that output)",
            )
        source = {"step": data.pop("step", None), "output": data.pop("output", None)}
        if "path" in data:
            try:
                source["path"] = sub_path(data.pop("path"))
            except ValueError as exc:
                raise FieldError(f"{field}.path", str(exc)) from None
        return {"source": source, **data}
    if "path" in data:
        path = data.pop("path")
        if isinstance(path, str | Path):
            return {"source": _path_source(path, base_dir, field), **data}
        return {"source": {"path": path}, **data}
    return data


def _path_source(value: str | Path, base_dir: Path, field: str) -> dict[str, Any]:
    """A local path resolved against ``base_dir``, or an S3 URI."""
    if not is_s3_text(value):
        return {"path": _resolve(value, base_dir, field)}
    if isinstance(value, Path):
        raise FieldError(
            field,
            f"give the S3 URI as a string, not a Path ({value}: a Path turns 's3://' into 's3:/')",
        )
    try:
        return {"uri": s3_uri(value)}
    except ValueError as exc:
        raise FieldError(field, str(exc)) from None


def with_expectations(pipeline: Pipeline, more: Sequence[Expectation]) -> Pipeline:
    """``pipeline`` also holding ``more`` expectations (a scenario's)."""
    if not more:
        return pipeline
    result = pipeline.with_steps(pipeline.steps)
    result.expectations = [*pipeline.expectations, *more]
    return result


@runtime_checkable
class PipelineSource(Protocol):
    """What a pipeline file may define instead of a ``Pipeline``: an object that becomes one
    (a ``PipelineDAG``)."""

    def to_pipeline(self) -> Pipeline: ...
