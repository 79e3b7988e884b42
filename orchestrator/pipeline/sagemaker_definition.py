"""A SageMaker pipeline definition (the JSON ``Pipeline.definition()`` returns) as a cit
``Pipeline``.

Understood: processing steps that run a script (the ``code`` input of SKLearnProcessor,
ScriptProcessor and the like) and their ``PropertyFiles``, script-mode training steps
(framework estimators with an ``entry_point``), condition steps (their conditions compare
constants, parameters and ``Std:JsonGet`` values of property files; their branches' steps
are nested in them), fail steps, inputs given as S3 URIs, parameters (their default values,
or the values ``DefinitionOptions.params`` gives, typed as the parameter's ``Type``), another
step's output or a folder inside it, ``DependsOn``. Everything else is refused with one
``InputError`` naming the step, the field and what is supported: nothing is run half
understood.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..aws.s3_uris import is_s3_text
from ..errors import InputError
from .model import MODEL_OUTPUT, InvalidStep, Pipeline, Step, StepKind, build_step
from .sagemaker_paths import PROCESSING_CODE

DEFINITION_KEYS = ("Version", "Steps")
CODE_FOLDERS = ("scripts", "code")
"""Folders beside the definition where the steps' code is looked for (after the folder
itself)."""

SUPPORTED_STEPS = (
    "Processing (a script run by python3 or the like), Training (script mode), Condition and Fail"
)
SUPPORTED_EXPRESSIONS = (
    "supported: a string, {'Get': 'Parameters.NAME'}, "
    "{'Get': \"Steps.NAME.ProcessingOutputConfig.Outputs['OUTPUT'].S3Output.S3Uri\"}, "
    "{'Get': 'Steps.NAME.ModelArtifacts.S3ModelArtifacts'}, and a 'Std:Join' on '/' "
    "of such a step output and plain strings (a folder inside it)"
)
_STEP_OUTPUT = re.compile(
    r"^Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$"
)
_MODEL_ARTIFACTS = re.compile(r"^Steps\.([^.]+)\.ModelArtifacts\.S3ModelArtifacts$")
_AUTO_INPUT_NAME = re.compile(r"^input-\d+$")

_TOP_LEVEL = ("Version", "Metadata", "Parameters", "PipelineExperimentConfig", "Steps")
_STEP_KEYS = ("Name", "Type", "Arguments", "DependsOn", "Description", "DisplayName")
_PROCESSING_STEP_KEYS = (*_STEP_KEYS, "PropertyFiles")
_CONDITION_ARGS = ("Conditions", "IfSteps", "ElseSteps")
_COMPARISONS = {
    "Equals": "==",
    "GreaterThan": ">",
    "GreaterThanOrEqualTo": ">=",
    "LessThan": "<",
    "LessThanOrEqualTo": "<=",
}
CONDITION_TYPES = (*_COMPARISONS, "In", "Not", "Or")
_PROPERTY_FILE = re.compile(r"^Steps\.([^.]+)\.PropertyFiles\.([^.]+)$")
SUPPORTED_OPERANDS = (
    "supported: a string, number or boolean, {'Get': 'Parameters.NAME'} and "
    "{'Std:JsonGet': {'PropertyFile': {'Get': 'Steps.NAME.PropertyFiles.NAME'}, "
    "'Path': 'a.b.c'}}"
)
_IGNORED_STEP_KEYS = ("CacheConfig", "RetryPolicies")
_PROCESSING_ARGS = (
    "AppSpecification",
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "ProcessingResources",
    "StoppingCondition",
    "Environment",
)
_IGNORED_PROCESSING_ARGS = ("RoleArn", "ProcessingJobName", "NetworkConfig", "Tags")
_TRAINING_ARGS = (
    "AlgorithmSpecification",
    "HyperParameters",
    "InputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "Environment",
)
_IGNORED_TRAINING_ARGS = (
    "RoleArn",
    "TrainingJobName",
    "OutputDataConfig",
    "DebugHookConfig",
    "DebugRuleConfigurations",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "VpcConfig",
    "Tags",
)
PARAMETER_TYPES = ("String", "Integer", "Float", "Boolean")
"""The ``Type`` of a pipeline parameter a value given with ``--param`` is read as."""
ParamValue = str | int | float | bool
_FRAMEWORK_PROGRAM = "sagemaker_program"
_FRAMEWORK_SUBMIT_DIR = "sagemaker_submit_directory"


class Refused(ValueError):
    """A part of the definition cit does not understand (yet): where, and what it is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DefinitionOptions:
    """How to load a SageMaker pipeline definition: values of its pipeline parameters
    (``--param NAME=VALUE``; a text is read as the parameter's ``Type`` says) and the folder
    its code URIs are looked for in (``--code-dir``; default: the definition's folder, then its
    ``scripts/`` and ``code/``). Build it with ``definition_options``, which checks both."""

    params: Mapping[str, ParamValue] = field(default_factory=dict)
    code_dir: Path | None = None

    def __bool__(self) -> bool:
        return bool(self.params) or self.code_dir is not None

    def given(self) -> str:
        """The options given, as the command line names them: ``--param and --code-dir``."""
        names = (["--param"] if self.params else []) + (
            ["--code-dir"] if self.code_dir is not None else []
        )
        return " and ".join(names)


def definition_options(
    params: Mapping[str, ParamValue] | Sequence[str] | None = None,
    code_dir: str | Path | None = None,
) -> DefinitionOptions:
    """``DefinitionOptions`` from ``--param NAME=VALUE`` texts (or a mapping of names to values)
    and ``--code-dir``; a malformed or repeated ``--param`` and a ``--code-dir`` that is not an
    existing folder are an ``InputError``."""
    values: dict[str, ParamValue] = {}
    if isinstance(params, Mapping):
        for name, value in params.items():
            if not isinstance(name, str) or not name:
                raise InputError(
                    f"a parameter name must be a non-empty text; got {name!r}", field="--param"
                )
            if not isinstance(value, ParamValue):
                raise InputError(
                    f"{name}: {value!r} is not a string, number or boolean", field="--param"
                )
            values[name] = value
    else:
        for text in params or []:
            name, equals, value = text.partition("=")
            name = name.strip()
            if not equals or not name:
                raise InputError(f"'{text}' is not NAME=VALUE", field="--param")
            if name in values:
                raise InputError(f"{name} is given twice", field="--param")
            values[name] = value
    folder = None
    if code_dir is not None:
        folder = Path(code_dir).expanduser()
        if not folder.exists():
            raise InputError(f"{folder}: no such folder", field="--code-dir")
        if not folder.is_dir():
            raise InputError(f"{folder}: is not a folder", field="--code-dir")
        folder = folder.resolve()
    return DefinitionOptions(params=values, code_dir=folder)


def is_definition(data: Any) -> bool:
    """Whether ``data`` is shaped like a SageMaker pipeline definition."""
    return isinstance(data, dict) and all(key in data for key in DEFINITION_KEYS)


def code_folders(definition_file: Path, code_dir: Path | None = None) -> list[Path]:
    """Where the steps' code is looked for: ``code_dir``, or the definition's folder and its
    ``scripts/`` and ``code/`` subfolders that exist."""
    if code_dir is not None:
        return [code_dir.resolve()]
    base = definition_file.resolve().parent
    return [base, *(base / name for name in CODE_FOLDERS if (base / name).is_dir())]


def definition_pipeline(
    data: dict[str, Any],
    path: Path,
    code_dir: Path | None = None,
    *,
    options: DefinitionOptions | None = None,
) -> Pipeline:
    """The pipeline the definition ``data`` (read from ``path``) describes, with the parameter
    values and code folder of ``options``; anything not understood, and a parameter value
    that is unknown or does not fit its type, is an ``InputError`` naming the step and field."""
    options = options or DefinitionOptions()
    folders = code_folders(path, options.code_dir or code_dir)
    try:
        return _Importer(data, path, folders, options.params).pipeline()
    except Refused as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None
    except InvalidStep as exc:
        raise InputError(exc.message, file=path, field=exc.field) from None


def pipeline_name(path: Path) -> str:
    """``tabular.definition.json`` → ``tabular``: a definition does not name its pipeline."""
    name = path.name.removesuffix(path.suffix)
    return name.removesuffix(".definition") or name


class _Importer:
    def __init__(
        self,
        data: dict[str, Any],
        path: Path,
        folders: list[Path],
        given: Mapping[str, ParamValue],
    ) -> None:
        self.data = data
        self.path = path
        self.base_dir = path.resolve().parent
        self.folders = folders
        self.given = given
        self.parameters: dict[str, Any] = {}

    def pipeline(self) -> Pipeline:
        _known_keys(self.data, _TOP_LEVEL, (), "")
        self.parameters = self._parameters(self.data.get("Parameters", []))
        steps = self.data["Steps"]
        if not isinstance(steps, list) or not steps:
            raise Refused("Steps", "must be a non-empty list of steps")
        pipeline = Pipeline(pipeline_name(self.path), base_dir=self.base_dir)
        for index, raw in enumerate(steps):
            for step in self._steps(raw, f"Steps[{index}]", "Steps"):
                try:
                    pipeline.add(step)
                except ValueError as exc:
                    raise Refused(f"Steps.{step.name}", str(exc)) from None
        return pipeline

    def _steps(self, raw: Any, at: str, parent: str) -> list[Step]:
        """The step ``raw`` and, for a condition step, the steps of its branches (which the
        definition nests in it)."""
        step = self._step(raw, at, parent)
        if step.kind is not StepKind.CONDITION:
            return [step]
        args = raw["Arguments"]
        where = f"{parent}.{step.name}.Arguments"
        found = [step]
        for key in ("IfSteps", "ElseSteps"):
            for index, nested in enumerate(args.get(key, [])):
                found += self._steps(nested, f"{where}.{key}[{index}]", f"{where}.{key}")
        return found

    # Parameters -----------------------------------------------------------------------

    def _parameters(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, list):
            raise Refused("Parameters", "must be a list of parameters")
        result: dict[str, Any] = {}
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
                raise Refused("Parameters", "each parameter must be an object with a 'Name'")
            name = item["Name"]
            if name in self.given:
                result[name] = _typed(self.given[name], item.get("Type", "String"), name)
            elif "DefaultValue" in item:
                result[name] = item["DefaultValue"]
            else:
                raise Refused(
                    f"Parameters.{name}",
                    f"has no DefaultValue; give its value with --param {name}=VALUE",
                )
        unknown = [name for name in self.given if name not in result]
        if unknown:
            known = ", ".join(sorted(result)) or "none"
            raise Refused(
                f"--param {unknown[0]}",
                f"the definition has no parameter '{unknown[0]}' (defined: {known})",
            )
        return result

    def _parameter(self, name: str, field: str) -> Any:
        if name not in self.parameters:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise Refused(field, f"no parameter '{name}' in Parameters (defined: {known})")
        return self.parameters[name]

    # Steps ----------------------------------------------------------------------------

    def _step(self, raw: Any, at: str, parent: str) -> Step:
        if not isinstance(raw, dict) or not isinstance(raw.get("Name"), str):
            raise Refused(at, "each step must be an object with a 'Name'")
        name = raw["Name"]
        where = f"{parent}.{name}"
        kind = raw.get("Type")
        if kind not in ("Processing", "Training", "Condition", "Fail"):
            raise Refused(
                f"{where}.Type",
                f"a {kind} step is not supported; cit runs {SUPPORTED_STEPS} steps",
            )
        _known_keys(
            raw,
            _PROCESSING_STEP_KEYS if kind == "Processing" else _STEP_KEYS,
            _IGNORED_STEP_KEYS,
            where,
        )
        args = raw.get("Arguments")
        if not isinstance(args, dict):
            raise Refused(f"{where}.Arguments", "must be an object (the job's request)")
        if kind == "Processing":
            fields = self._processing(args, f"{where}.Arguments")
            if "PropertyFiles" in raw:
                fields["property_files"] = _property_files(raw["PropertyFiles"], where)
        elif kind == "Training":
            fields = self._training(args, f"{where}.Arguments")
        elif kind == "Condition":
            fields = self._condition(args, f"{where}.Arguments")
        else:
            fields = self._fail(args, f"{where}.Arguments")
        fields["depends_on"] = _depends_on(raw.get("DependsOn", []), where)
        step_kind = StepKind(kind.lower())
        return build_step(name, step_kind, fields, self.base_dir)

    def _processing(self, args: dict[str, Any], where: str) -> dict[str, Any]:
        _known_keys(args, _PROCESSING_ARGS, _IGNORED_PROCESSING_ARGS, where)
        app = _mapping(args.get("AppSpecification"), f"{where}.AppSpecification")
        _known_keys(
            app,
            ("ImageUri", "ContainerEntrypoint", "ContainerArguments"),
            (),
            f"{where}.AppSpecification",
        )
        inputs = _list(args.get("ProcessingInputs", []), f"{where}.ProcessingInputs")
        entry = app.get("ContainerEntrypoint")
        entry_field = f"{where}.AppSpecification.ContainerEntrypoint"
        if not (isinstance(entry, list) and entry and all(isinstance(e, str) for e in entry)):
            raise Refused(
                entry_field,
                "cit runs processing steps that run a script, e.g. "
                "['python3', '/opt/ml/processing/input/code/prep.py']; got "
                f"{_text(entry)}",
            )
        code_index, script = self._processing_script(entry, inputs, where)
        fields: dict[str, Any] = {"script": script}
        if entry[:-1] != ["python3"]:
            fields["entrypoint"] = entry[:-1]
        arguments = app.get("ContainerArguments", [])
        fields["arguments"] = [
            self._scalar(value, f"{where}.AppSpecification.ContainerArguments[{i}]")
            for i, value in enumerate(_list(arguments, f"{where}.AppSpecification"))
        ]
        fields["inputs"] = self._processing_inputs(
            [item for i, item in enumerate(inputs) if i != code_index], where
        )
        fields["outputs"] = self._processing_outputs(args.get("ProcessingOutputConfig"), where)
        fields["env"] = self._env(args.get("Environment", {}), f"{where}.Environment")
        resources = _mapping(args.get("ProcessingResources"), f"{where}.ProcessingResources")
        fields["instance"] = self._instance(
            _mapping(resources.get("ClusterConfig"), f"{where}.ProcessingResources.ClusterConfig"),
            f"{where}.ProcessingResources.ClusterConfig",
        )
        fields.update(self._timeout(args.get("StoppingCondition"), where))
        return fields

    def _processing_script(
        self, entry: list[str], inputs: list[Any], where: str
    ) -> tuple[int, Path]:
        """The index of the input holding the code, and the local script the entrypoint
        runs."""
        program = PurePosixPath(entry[-1])
        field = f"{where}.AppSpecification.ContainerEntrypoint"
        if len(entry) < 2 or not program.is_absolute():
            raise Refused(
                field,
                "cit runs processing steps whose entrypoint is a program and the script it "
                f"runs, e.g. ['python3', '/opt/ml/processing/input/code/prep.py']; got {entry}",
            )
        if program.name == "runproc.sh":
            raise Refused(
                field,
                f"{program} runs a FrameworkProcessor's source_dir (sourcedir.tar.gz), which is "
                "not supported yet; run the script with SKLearnProcessor or ScriptProcessor "
                "(code='prep.py')",
            )
        if program.parent != PurePosixPath(PROCESSING_CODE):
            raise Refused(
                field,
                f"the script {program} is not in {PROCESSING_CODE}, where cit mounts a "
                "processing step's code",
            )
        for index, item in enumerate(inputs):
            s3_input = item.get("S3Input") if isinstance(item, dict) else None
            if not isinstance(s3_input, dict):
                continue
            local = s3_input.get("LocalPath")
            if not isinstance(local, str) or PurePosixPath(local) != program.parent:
                continue
            input_field = f"{where}.ProcessingInputs[{item.get('InputName', index)}]"
            uri = s3_input.get("S3Uri")
            if not isinstance(uri, str) or not is_s3_text(uri):
                raise Refused(
                    f"{input_field}.S3Input.S3Uri",
                    f"the code input must be an s3:// URI of the script; got {_text(uri)}",
                )
            if uri.rstrip("/").rsplit("/", 1)[-1] != program.name:
                raise Refused(
                    f"{input_field}.S3Input.S3Uri",
                    f"the code input {uri} is not the script {program.name} the entrypoint "
                    "runs; cit maps a code input of one script file (code='prep.py')",
                )
            return index, self._local_code(uri, program.name, f"{input_field}.S3Input.S3Uri")
        raise Refused(
            field,
            f"no ProcessingInput is mounted at {program.parent}, the folder of the script "
            f"{program} the entrypoint runs",
        )

    def _local_code(self, uri: str, relative: str, field: str) -> Path:
        for folder in self.folders:
            candidate = folder / relative
            if candidate.is_file():
                return candidate
        looked = ", ".join(str(folder) for folder in self.folders)
        raise Refused(
            field,
            f"cannot map {uri} to a local file: no {relative} in {looked}; put the code in "
            "the definition's folder or its scripts/ or code/ folder, or give its folder "
            "with --code-dir",
        )

    def _processing_inputs(self, inputs: list[Any], where: str) -> dict[str, Any]:
        auto_names = [
            PurePosixPath(str(_s3_input(item).get("LocalPath", ""))).name
            for item in inputs
            if isinstance(item, dict) and isinstance(item.get("S3Input"), dict)
        ]
        result: dict[str, Any] = {}
        for index, item in enumerate(inputs):
            if not isinstance(item, dict):
                raise Refused(f"{where}.ProcessingInputs[{index}]", "must be an object")
            name = item.get("InputName")
            field = f"{where}.ProcessingInputs[{name if name else index}]"
            if not isinstance(name, str):
                raise Refused(field, "has no InputName")
            if "S3Input" not in item:
                other = ", ".join(k for k in item if k not in ("InputName", "AppManaged"))
                raise Refused(field, f"{other or 'this input'} is not supported; use S3Input")
            s3_input = _mapping(item["S3Input"], f"{field}.S3Input")
            _require(s3_input, "S3DataType", ("S3Prefix",), f"{field}.S3Input")
            _require(s3_input, "S3InputMode", ("File",), f"{field}.S3Input")
            _require(s3_input, "S3CompressionType", ("None",), f"{field}.S3Input")
            local = s3_input.get("LocalPath")
            if not isinstance(local, str):
                raise Refused(f"{field}.S3Input.LocalPath", "must be a path in the container")
            channel = name
            short = PurePosixPath(local).name
            if _AUTO_INPUT_NAME.match(name) and short and auto_names.count(short) == 1:
                channel = short
            if channel in result:
                raise Refused(field, f"two inputs named '{channel}'")
            source = self._source(s3_input.get("S3Uri"), f"{field}.S3Input.S3Uri")
            result[channel] = {**source, "destination": local}
        return result

    def _processing_outputs(self, config: Any, where: str) -> dict[str, Any]:
        if config is None:
            return {}
        field = f"{where}.ProcessingOutputConfig"
        config = _mapping(config, field)
        _known_keys(config, ("Outputs",), (), field)
        result: dict[str, Any] = {}
        for index, item in enumerate(_list(config.get("Outputs", []), f"{field}.Outputs")):
            if not isinstance(item, dict) or not isinstance(item.get("OutputName"), str):
                raise Refused(f"{field}.Outputs[{index}]", "must be an object with OutputName")
            name = item["OutputName"]
            out_field = f"{field}.Outputs[{name}]"
            if "S3Output" not in item:
                raise Refused(out_field, "only S3Output outputs are supported")
            s3_output = _mapping(item["S3Output"], f"{out_field}.S3Output")
            local = s3_output.get("LocalPath")
            if not isinstance(local, str):
                raise Refused(f"{out_field}.S3Output.LocalPath", "must be a path in the container")
            result[name] = {"destination": local}
        return result

    def _training(self, args: dict[str, Any], where: str) -> dict[str, Any]:
        _known_keys(args, _TRAINING_ARGS, _IGNORED_TRAINING_ARGS, where)
        spec_field = f"{where}.AlgorithmSpecification"
        spec = _mapping(args.get("AlgorithmSpecification"), spec_field)
        _known_keys(
            spec,
            ("TrainingImage", "TrainingInputMode"),
            ("MetricDefinitions", "EnableSageMakerMetricsTimeSeries"),
            spec_field,
        )
        _require(spec, "TrainingInputMode", ("File",), spec_field)
        hyperparameters, program, submit_dir = self._hyperparameters(
            args.get("HyperParameters", {}), f"{where}.HyperParameters"
        )
        if program is None:
            raise Refused(
                f"{where}.HyperParameters",
                f"no {_FRAMEWORK_PROGRAM}: the step runs the image's own algorithm; cit runs "
                "script-mode training steps (a framework estimator with an entry_point)",
            )
        script = self._local_code(
            submit_dir or program, program, f"{where}.HyperParameters.{_FRAMEWORK_PROGRAM}"
        )
        fields: dict[str, Any] = {"script": script, "hyperparameters": hyperparameters}
        if submit_dir is not None:
            fields["source_dir"] = _source_dir(script, program)
        channels = _list(args.get("InputDataConfig", []), f"{where}.InputDataConfig")
        fields["inputs"] = self._channels(channels, f"{where}.InputDataConfig")
        fields["env"] = self._env(args.get("Environment", {}), f"{where}.Environment")
        resources_field = f"{where}.ResourceConfig"
        resources = _mapping(args.get("ResourceConfig"), resources_field)
        if "InstanceGroups" in resources:
            raise Refused(
                f"{resources_field}.InstanceGroups", "heterogeneous clusters are not supported"
            )
        fields["instance"] = self._instance(resources, resources_field)
        fields.update(self._timeout(args.get("StoppingCondition"), where))
        return fields

    def _hyperparameters(
        self, raw: Any, where: str
    ) -> tuple[dict[str, Any], str | None, str | None]:
        """The user's hyperparameters (JSON-decoded as the training toolkit decodes them),
        ``sagemaker_program`` and ``sagemaker_submit_directory``; cit sets the other
        ``sagemaker_*`` keys itself."""
        raw = _mapping(raw, where)
        result: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(value, str):
                raise Refused(
                    f"{where}.{key}",
                    f"{_text(value)} is not supported; a hyperparameter is a JSON-encoded "
                    "string (parameters in hyperparameters are not supported yet)",
                )
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                decoded = value
            if isinstance(decoded, list | dict) or decoded is None:
                raise Refused(
                    f"{where}.{key}",
                    f"{value} is not supported; a hyperparameter is a string, number or boolean",
                )
            result[key] = decoded
        program = result.pop(_FRAMEWORK_PROGRAM, None)
        submit_dir = result.pop(_FRAMEWORK_SUBMIT_DIR, None)
        for key in [k for k in result if k.startswith("sagemaker_")]:
            del result[key]
        if program is not None and not isinstance(program, str):
            raise Refused(f"{where}.{_FRAMEWORK_PROGRAM}", "must be the entry script's name")
        if submit_dir is not None and not isinstance(submit_dir, str):
            raise Refused(f"{where}.{_FRAMEWORK_SUBMIT_DIR}", "must be an s3:// URI")
        return result, program, submit_dir

    def _channels(self, channels: list[Any], where: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for index, item in enumerate(channels):
            if not isinstance(item, dict) or not isinstance(item.get("ChannelName"), str):
                raise Refused(f"{where}[{index}]", "must be an object with ChannelName")
            name = item["ChannelName"]
            field = f"{where}[{name}]"
            _known_keys(
                item,
                ("ChannelName", "DataSource", "InputMode", "CompressionType"),
                ("ContentType", "RecordWrapperType", "ShuffleConfig"),
                field,
            )
            _require(item, "InputMode", ("File",), field)
            _require(item, "CompressionType", ("None",), field)
            source = _mapping(item.get("DataSource"), f"{field}.DataSource")
            if "S3DataSource" not in source:
                other = ", ".join(source) or "this data source"
                raise Refused(f"{field}.DataSource", f"{other} is not supported; use S3DataSource")
            s3_source = _mapping(source["S3DataSource"], f"{field}.DataSource.S3DataSource")
            _require(s3_source, "S3DataType", ("S3Prefix",), f"{field}.DataSource.S3DataSource")
            result[name] = self._source(
                s3_source.get("S3Uri"), f"{field}.DataSource.S3DataSource.S3Uri"
            )
        return result

    # Condition and fail steps ---------------------------------------------------------

    def _condition(self, args: dict[str, Any], where: str) -> dict[str, Any]:
        _known_keys(args, _CONDITION_ARGS, (), where)
        conditions = _list(args.get("Conditions"), f"{where}.Conditions")
        if not conditions:
            raise Refused(f"{where}.Conditions", "must list at least one condition")
        branches: dict[str, list[str]] = {}
        for key in ("IfSteps", "ElseSteps"):
            branches[key] = []
            for index, item in enumerate(_list(args.get(key, []), f"{where}.{key}")):
                if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
                    raise Refused(
                        f"{where}.{key}[{index}]", "each step must be an object with a 'Name'"
                    )
                branches[key].append(item["Name"])
        return {
            "conditions": [
                self._test(item, f"{where}.Conditions[{i}]") for i, item in enumerate(conditions)
            ],
            "if_steps": branches["IfSteps"],
            "else_steps": branches["ElseSteps"],
        }

    def _test(self, raw: Any, field: str) -> dict[str, Any]:
        """One condition as cit's model takes it (``{op, left, right}`` and the like)."""
        raw = _mapping(raw, field)
        kind = raw.get("Type")
        if kind in _COMPARISONS:
            _known_keys(raw, ("Type", "LeftValue", "RightValue"), (), field)
            return {
                "op": _COMPARISONS[kind],
                "left": self._operand(raw.get("LeftValue"), f"{field}.LeftValue"),
                "right": self._operand(raw.get("RightValue"), f"{field}.RightValue"),
            }
        if kind == "In":
            _known_keys(raw, ("Type", "QueryValue", "Values"), (), field)
            values = _list(raw.get("Values"), f"{field}.Values")
            return {
                "op": "in",
                "left": self._operand(raw.get("QueryValue"), f"{field}.QueryValue"),
                "values": [self._operand(v, f"{field}.Values[{i}]") for i, v in enumerate(values)],
            }
        if kind == "Not":
            _known_keys(raw, ("Type", "Condition"), (), field)
            return {
                "op": "not",
                "conditions": [self._test(raw.get("Condition"), f"{field}.Condition")],
            }
        if kind == "Or":
            _known_keys(raw, ("Type", "Conditions"), (), field)
            inner = _list(raw.get("Conditions"), f"{field}.Conditions")
            return {
                "op": "or",
                "conditions": [
                    self._test(c, f"{field}.Conditions[{i}]") for i, c in enumerate(inner)
                ],
            }
        raise Refused(
            f"{field}.Type",
            f"{_text(kind)} is not supported; supported: {', '.join(CONDITION_TYPES)}",
        )

    def _operand(self, value: Any, field: str) -> Any:
        """A constant (a parameter's value), or a property file's value as ``JsonGet``."""
        if isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, dict) and set(value) == {"Get"} and isinstance(value["Get"], str):
            expression = value["Get"]
            if expression.startswith("Parameters."):
                return self._parameter(expression.removeprefix("Parameters."), field)
        if isinstance(value, dict) and set(value) == {"Std:JsonGet"}:
            return _json_get(value["Std:JsonGet"], field)
        raise Refused(field, f"{_text(value)} is not supported; {SUPPORTED_OPERANDS}")

    def _fail(self, args: dict[str, Any], where: str) -> dict[str, Any]:
        _known_keys(args, ("ErrorMessage",), (), where)
        message = args.get("ErrorMessage")
        if message is None:
            return {}
        return {"error_message": self._message(message, f"{where}.ErrorMessage")}

    def _message(self, value: Any, field: str) -> str:
        """A fail step's message: a string, a parameter, or a 'Std:Join' of those."""
        if isinstance(value, dict) and set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            on = join.get("On") if isinstance(join, dict) else None
            parts = join.get("Values") if isinstance(join, dict) else None
            if not isinstance(on, str) or not isinstance(parts, list):
                raise Refused(field, f"'Std:Join' {_text(join)} needs 'On' and 'Values'")
            return on.join(self._message(v, f"{field}.Values[{i}]") for i, v in enumerate(parts))
        try:
            scalar = self._scalar(value, field)
        except Refused:
            raise Refused(
                field,
                f"{_text(value)} is not supported; a fail step's message is a string, "
                "{'Get': 'Parameters.NAME'} or a 'Std:Join' of those",
            ) from None
        return _joined_text(scalar)

    # Values ---------------------------------------------------------------------------

    def _source(self, value: Any, field: str) -> dict[str, Any]:
        """An input's source as ``build_step`` takes it."""
        if isinstance(value, str):
            if not is_s3_text(value):
                raise Refused(field, f"must be an s3:// URI; got {value}")
            return {"path": value}
        if isinstance(value, dict) and set(value) == {"Get"} and isinstance(value["Get"], str):
            return self._get_source(value["Get"], field)
        if isinstance(value, dict) and set(value) == {"Std:Join"}:
            return self._join_source(value["Std:Join"], field)
        raise Refused(field, f"{_text(value)} is not supported; {SUPPORTED_EXPRESSIONS}")

    def _get_source(self, expression: str, field: str) -> dict[str, Any]:
        if expression.startswith("Parameters."):
            name = expression.removeprefix("Parameters.")
            value = self._parameter(name, field)
            if not isinstance(value, str) or not value:
                how = "is given as" if name in self.given else "has the default"
                raise Refused(
                    field,
                    f"parameter {expression} {how} {_text(value)}; an input's "
                    "parameter must be an s3:// URI or a local path",
                )
            if name in self.given and not is_s3_text(value):
                value = str(Path(value).expanduser().resolve())  # as the command line meant it
            return {"path": value}
        step_output = _step_output(expression)
        if step_output is None:
            raise Refused(
                field, f"{{'Get': '{expression}'}} is not supported; {SUPPORTED_EXPRESSIONS}"
            )
        step, output = step_output
        return {"step": step, "output": output}

    def _join_source(self, join: Any, field: str) -> dict[str, Any]:
        on = join.get("On") if isinstance(join, dict) else None
        values = join.get("Values") if isinstance(join, dict) else None
        if on != "/" or not isinstance(values, list) or not values:
            raise Refused(
                field, f"'Std:Join' {_text(join)} is not supported; {SUPPORTED_EXPRESSIONS}"
            )
        if all(isinstance(v, str) for v in values):
            return self._source("/".join(values), field)
        first, rest = values[0], values[1:]
        if not all(isinstance(v, str) for v in rest):
            raise Refused(
                field,
                f"'Std:Join' {_text(join)}: after the step output only plain strings are "
                f"supported; {SUPPORTED_EXPRESSIONS}",
            )
        expression = first.get("Get") if isinstance(first, dict) and set(first) == {"Get"} else None
        step_output = _step_output(expression) if isinstance(expression, str) else None
        if step_output is None:
            raise Refused(
                field,
                f"'Std:Join' {_text(join)} does not start with another step's output; "
                f"{SUPPORTED_EXPRESSIONS}",
            )
        step, output = step_output
        return {"step": step, "output": output, "path": "/".join(rest)}

    def _scalar(self, value: Any, field: str) -> Any:
        """A string, number or boolean, or a parameter's default."""
        if isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, dict) and set(value) == {"Get"} and isinstance(value["Get"], str):
            expression = value["Get"]
            if expression.startswith("Parameters."):
                return self._parameter(expression.removeprefix("Parameters."), field)
        raise Refused(
            field,
            f"{_text(value)} is not supported; supported: a string, a number or "
            "{'Get': 'Parameters.NAME'}",
        )

    def _env(self, raw: Any, field: str) -> dict[str, Any]:
        env = _mapping(raw, field)
        return {key: self._scalar(value, f"{field}.{key}") for key, value in env.items()}

    def _instance(self, config: dict[str, Any], field: str) -> dict[str, Any]:
        instance: dict[str, Any] = {}
        if "InstanceType" in config:
            instance["type"] = self._scalar(config["InstanceType"], f"{field}.InstanceType")
        if "InstanceCount" in config:
            count = self._scalar(config["InstanceCount"], f"{field}.InstanceCount")
            if count != 1:
                raise Refused(
                    f"{field}.InstanceCount",
                    f"{count}: cit runs each step on one instance; set instance_count=1",
                )
            instance["count"] = 1
        return instance

    def _timeout(self, raw: Any, where: str) -> dict[str, Any]:
        if raw is None:
            return {}
        field = f"{where}.StoppingCondition"
        condition = _mapping(raw, field)
        if "MaxRuntimeInSeconds" not in condition:
            return {}
        seconds = self._scalar(condition["MaxRuntimeInSeconds"], f"{field}.MaxRuntimeInSeconds")
        return {"timeout_seconds": seconds}


def _property_files(raw: Any, where: str) -> dict[str, Any]:
    """``PropertyFiles`` of a processing step as cit's ``property_files``."""
    result: dict[str, Any] = {}
    for index, item in enumerate(_list(raw, f"{where}.PropertyFiles")):
        field = f"{where}.PropertyFiles[{index}]"
        item = _mapping(item, field)
        _known_keys(item, ("PropertyFileName", "OutputName", "FilePath"), (), field)
        for key in ("PropertyFileName", "OutputName", "FilePath"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise Refused(f"{field}.{key}", "must be a non-empty string")
        result[item["PropertyFileName"]] = {"output": item["OutputName"], "path": item["FilePath"]}
    return result


def _json_get(raw: Any, field: str) -> dict[str, Any]:
    """A 'Std:JsonGet' of a step's property file as cit's ``JsonGet``."""
    where = f"{field}.Std:JsonGet"
    raw = _mapping(raw, where)
    _known_keys(raw, ("PropertyFile", "Path"), (), where)
    prop = raw.get("PropertyFile")
    expression = prop.get("Get") if isinstance(prop, dict) and set(prop) == {"Get"} else None
    match = _PROPERTY_FILE.match(expression) if isinstance(expression, str) else None
    if match is None:
        raise Refused(
            f"{where}.PropertyFile",
            f"{_text(prop)} is not supported; give {{'Get': 'Steps.NAME.PropertyFiles.NAME'}}",
        )
    path = raw.get("Path")
    if not isinstance(path, str) or not path:
        raise Refused(f"{where}.Path", "must be a JSON path such as 'metrics.accuracy.value'")
    return {"step": match.group(1), "property_file": match.group(2), "json_path": path}


def _joined_text(value: Any) -> str:
    """A value as 'Std:Join' writes it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _typed(value: ParamValue, kind: Any, name: str) -> ParamValue:
    """``value`` (a text from the command line, or a value) as a parameter of ``Type`` ``kind``."""
    where = f"--param {name}"
    if kind not in PARAMETER_TYPES:
        raise Refused(
            where,
            f"the parameter's Type {_text(kind)} is not supported; "
            f"supported: {', '.join(PARAMETER_TYPES)}",
        )
    wrong = Refused(where, f"{_text(value)} is not a{'n' if kind == 'Integer' else ''} {kind}")
    if kind == "String":
        if not isinstance(value, str):
            raise wrong
        return value
    if kind == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise Refused(where, f"{_text(value)} is not a Boolean; give true or false")
    if isinstance(value, bool):
        raise wrong
    if kind == "Integer":
        if isinstance(value, int):
            return value
        if not isinstance(value, str):
            raise wrong
        try:
            return int(value)
        except ValueError:
            raise wrong from None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(value)
        except ValueError:
            raise wrong from None
    if not math.isfinite(number):
        raise wrong
    return number


def _step_output(expression: str) -> tuple[str, str] | None:
    match = _STEP_OUTPUT.match(expression)
    if match:
        return match.group(1), match.group(2)
    match = _MODEL_ARTIFACTS.match(expression)
    if match:
        return match.group(1), MODEL_OUTPUT
    return None


def _source_dir(script: Path, program: str) -> Path:
    """The folder ``program`` (a path relative to the source dir) was found in."""
    folder = script
    for _ in PurePosixPath(program).parts:
        folder = folder.parent
    return folder


def _depends_on(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise Refused(f"{where}.DependsOn", "must be a list of step names")
    return list(raw)


def _s3_input(item: dict[str, Any]) -> dict[str, Any]:
    value = item.get("S3Input")
    return value if isinstance(value, dict) else {}


def _mapping(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refused(field, f"must be an object; got {_text(value)}")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise Refused(field, f"must be a list; got {_text(value)}")
    return value


def _require(mapping: dict[str, Any], key: str, allowed: Sequence[str], where: str) -> None:
    if key in mapping and mapping[key] not in allowed:
        raise Refused(
            f"{where}.{key}",
            f"{_text(mapping[key])} is not supported; supported: {', '.join(allowed)}",
        )


def _known_keys(
    mapping: dict[str, Any], known: Sequence[str], ignored: Sequence[str], where: str
) -> None:
    for key in mapping:
        if key not in known and key not in ignored:
            field = f"{where}.{key}" if where else key
            raise Refused(
                field,
                f"is not supported; cit understands {', '.join(known)}"
                + (f" (and ignores {', '.join(ignored)})" if ignored else ""),
            )


def _text(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
