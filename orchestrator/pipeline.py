"""The pipeline model: steps, their inputs and outputs, and the Python API that builds them.

A ``Pipeline`` holds typed ``Step`` records. Edges are not stored: they follow from inputs
that reference another step's output, and from ``depends_on``.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

STEP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$"
CHANNEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

ChannelName = Annotated[str, Field(pattern=CHANNEL_NAME_PATTERN)]

MODEL_OUTPUT = "model"
OUTPUT_DATA_OUTPUT = "output_data"
TRAINING_OUTPUTS = (MODEL_OUTPUT, OUTPUT_DATA_OUTPUT)


class StepKind(StrEnum):
    PROCESSING = "processing"
    TRAINING = "training"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalSource(_Frozen):
    """A file or folder on the machine running cit."""

    path: Path


class StepOutput(_Frozen):
    """A reference to an output of another step: the edge ``step`` → this step."""

    step: str
    output: str

    def __str__(self) -> str:
        return f"{self.step}.{self.output}"


class StepInput(_Frozen):
    """Where an input comes from and, optionally, where it is mounted in the container."""

    source: LocalSource | StepOutput
    destination: str | None = None

    @field_validator("destination")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be an absolute path inside the container, e.g. /opt/ml/...")
        return value


class StepOutputSpec(_Frozen):
    """A processing output; ``destination`` defaults to /opt/ml/processing/output/<name>."""

    destination: str | None = None


class Instance(_Frozen):
    """The instance a step runs on; cpus and memory become the container's limits."""

    type: str = "ml.m5.large"
    count: Literal[1] = 1
    cpus: float | None = Field(default=None, gt=0)
    memory: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?\s*([kKmMgG]i?[bB]?)?$")


class Step(_Frozen):
    """One SageMaker job: a processing or training container."""

    name: str = Field(pattern=STEP_NAME_PATTERN)
    kind: StepKind
    script: Path | None = None
    source_dir: Path | None = None
    inputs: dict[ChannelName, StepInput] = Field(default_factory=dict)
    outputs: dict[ChannelName, StepOutputSpec] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    arguments: list[str] = Field(default_factory=list)
    hyperparameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    image: str | None = None
    entrypoint: list[str] | None = None
    instance: Instance = Field(default_factory=Instance)
    timeout_seconds: float = Field(default=3600.0, gt=0)
    network: bool = False
    depends_on: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_kind_fields(self) -> Step:
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

    @property
    def output_names(self) -> tuple[str, ...]:
        if self.kind is StepKind.TRAINING:
            return TRAINING_OUTPUTS
        return tuple(self.outputs)

    @property
    def upstream(self) -> tuple[str, ...]:
        """Names of the steps this one waits for, in a stable order."""
        names = [i.source.step for i in self.inputs.values() if isinstance(i.source, StepOutput)]
        return tuple(dict.fromkeys([*names, *self.depends_on]))

    @property
    def script_mode(self) -> bool:
        """True when cit mounts the user's code; False for an image that runs on its own."""
        return self.script is not None


class StepHandle:
    """What the builder returns for a step: a way to reference its outputs."""

    def __init__(self, step: Step) -> None:
        self.step = step

    @property
    def name(self) -> str:
        return self.step.name

    def output(self, name: str) -> StepOutput:
        return StepOutput(step=self.step.name, output=name)

    @property
    def model(self) -> StepOutput:
        """The ``model.tar.gz`` a training step produces."""
        return self.output(MODEL_OUTPUT)

    @property
    def output_data(self) -> StepOutput:
        """The ``output.tar.gz`` of a training step's /opt/ml/output/data."""
        return self.output(OUTPUT_DATA_OUTPUT)


InputValue = str | Path | StepOutput | StepHandle | StepInput | dict[str, Any]


def _caller_dir(depth: int = 2) -> Path:
    file = sys._getframe(depth).f_globals.get("__file__")
    return Path(file).resolve().parent if file else Path.cwd()


class Pipeline:
    """A pipeline built in Python; relative paths resolve against the defining file's folder."""

    def __init__(self, name: str = "pipeline", *, base_dir: str | Path | None = None) -> None:
        self.name = name
        self.base_dir = Path(base_dir).resolve() if base_dir is not None else _caller_dir()
        self.steps: dict[str, Step] = {}

    def add(self, step: Step) -> StepHandle:
        if step.name in self.steps:
            raise ValueError(f"a step named '{step.name}' is already in the pipeline")
        self.steps[step.name] = step
        return StepHandle(step)

    def step(self, name: str, kind: StepKind | str, **fields: Any) -> StepHandle:
        """Add a step from keyword fields (see ``Step``); paths resolve against base_dir."""
        return self.add(build_step(name, kind, fields, self.base_dir))

    def processing(self, name: str, **fields: Any) -> StepHandle:
        return self.step(name, StepKind.PROCESSING, **fields)

    def training(self, name: str, **fields: Any) -> StepHandle:
        return self.step(name, StepKind.TRAINING, **fields)


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
    message = first["msg"].removeprefix("Value error, ")
    if loc and loc[-1] in _UNION_MEMBERS:
        loc = [part for part in loc if part not in _UNION_MEMBERS]
        message = "must be a string, number or boolean"
    if first["type"] == "extra_forbidden":
        model: type[BaseModel] = Instance if "instance" in loc[:-1] else Step
        message = f"unknown field '{loc[-1]}'; allowed: {', '.join(sorted(model.model_fields))}"
    return ".".join(loc), message


_UNION_MEMBERS = frozenset({"str", "int", "float", "bool"})


def build_step(name: str, kind: StepKind | str, fields: dict[str, Any], base_dir: Path) -> Step:
    """Normalise the user's shorthand into a validated ``Step``; raises ``InvalidStep``."""
    try:
        return Step.model_validate(_normalise(name, kind, fields, base_dir))
    except ValidationError as exc:
        field, message = describe_validation_error(exc)
        raise InvalidStep(name, field.removeprefix("name").lstrip("."), message) from None


def _normalise(name: str, kind: StepKind | str, fields: dict[str, Any], base_dir: Path) -> Any:
    data = dict(fields)
    data["name"] = name
    data["kind"] = kind
    if "inputs" in data and isinstance(data["inputs"], dict):
        data["inputs"] = {k: _normalise_input(v, base_dir) for k, v in data["inputs"].items()}
    if "outputs" in data and isinstance(data["outputs"], list | tuple):
        data["outputs"] = {str(o): {} for o in data["outputs"]}
    if isinstance(data.get("source_dir"), str | Path):
        data["source_dir"] = _resolve(data["source_dir"], base_dir)
    if isinstance(data.get("script"), str | Path):
        code_dir = data["source_dir"] if isinstance(data.get("source_dir"), Path) else base_dir
        data["script"] = _resolve(data["script"], code_dir)
    if isinstance(data.get("env"), dict):
        data["env"] = {k: str(v) for k, v in data["env"].items()}
    if isinstance(data.get("arguments"), list):
        data["arguments"] = [str(a) for a in data["arguments"]]
    return data


def _resolve(path: str | Path, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base_dir / p)


def _normalise_input(value: Any, base_dir: Path) -> Any:
    if isinstance(value, StepHandle):
        raise ValueError(
            f"input refers to step '{value.name}' as a whole; "
            f"name one of its outputs, e.g. {value.name}.output('...')"
        )
    if isinstance(value, StepOutput):
        return {"source": value}
    if isinstance(value, str | Path):
        return {"source": {"path": _resolve(value, base_dir)}}
    if isinstance(value, dict):
        return _normalise_input_dict(value, base_dir)
    return value


def _normalise_input_dict(value: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    data = dict(value)
    if "step" in data or "output" in data:
        source = {"step": data.pop("step", None), "output": data.pop("output", None)}
        return {"source": source, **data}
    if "path" in data:
        path = data.pop("path")
        if isinstance(path, str | Path):
            path = _resolve(path, base_dir)
        return {"source": {"path": path}, **data}
    return data
