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

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..aws.s3_uris import is_s3_text
from ..errors import InputError
from ..runner_packages import runner_image_packages
from .model import MODEL_OUTPUT, InvalidStep, Pipeline, SkippedStep, Step, StepKind, build_step
from .sagemaker_images import IMAGE_MAP_OPTION, image_map_of, step_image
from .sagemaker_paths import PROCESSING_CODE
from .sagemaker_sdk import Uploads

DEFINITION_KEYS = ("Version", "Steps")
CODE_FOLDERS = ("scripts", "code")
"""Folders beside the definition where the steps' code is looked for (after the folder
itself)."""

RUN_STEP_TYPES = ("Processing", "Training", "Condition", "Fail")
"""The step ``Type``s cit runs; a definition with others is refused unless they are skipped
(``--skip-unsupported``, ``--skip-step``)."""
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
_STEP_REFERENCE = re.compile(r"^Steps\.([A-Za-z0-9_-]+)")

_TOP_LEVEL = ("Version", "Metadata", "Parameters", "PipelineExperimentConfig", "Steps")
_IGNORED_TOP_LEVEL = ("MlflowConfig",)  # written by the SDK v3 (null unless MLflow is set up)
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
RUNPROC = "runproc.sh"
SOURCEDIR_TAR = "sourcedir.tar.gz"
_RUNPROC_HASH = re.compile(r"/([0-9a-f]{64})/runproc\.sh$")
_RUNPROC_COMMANDS = ("python", "python3")
_MAX_CODE_FILES = 5000
_SKIPPED_FOLDERS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".cit"})
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
    (``--param NAME=VALUE``; a text is read as the parameter's ``Type`` says), the folder
    its code URIs are looked for in (``--code-dir``; default: the definition's folder, then its
    ``scripts/`` and ``code/``), the local images of its image URIs (``--image-map``, see
    ``sagemaker_images``) and the steps left out (``--skip-step``, ``--skip-unsupported``).
    Build it with ``definition_options``, which checks them."""

    params: Mapping[str, ParamValue] = field(default_factory=dict)
    code_dir: Path | None = None
    image_map: Mapping[str, str] = field(default_factory=dict)
    skip_steps: Sequence[str] = ()
    skip_unsupported: bool = False

    def __bool__(self) -> bool:
        return bool(self.given())

    def given(self) -> str:
        """The options given, as the command line names them: ``--param and --code-dir``."""
        names = [
            option
            for option, given in (
                ("--param", bool(self.params)),
                ("--code-dir", self.code_dir is not None),
                (IMAGE_MAP_OPTION, bool(self.image_map)),
                ("--skip-step", bool(self.skip_steps)),
                ("--skip-unsupported", self.skip_unsupported),
            )
            if given
        ]
        return " and ".join(names)


def definition_options(
    params: Mapping[str, ParamValue] | Sequence[str] | None = None,
    code_dir: str | Path | None = None,
    image_map: Mapping[str, str] | Sequence[str] | None = None,
    skip_steps: Sequence[str] | None = None,
    skip_unsupported: bool = False,
) -> DefinitionOptions:
    """``DefinitionOptions`` from ``--param NAME=VALUE`` texts (or a mapping of names to values),
    ``--code-dir``, ``--image-map URI_OR_PREFIX=LOCAL_IMAGE`` texts (or a mapping),
    ``--skip-step`` names and ``--skip-unsupported``; a malformed or repeated ``--param`` or
    ``--image-map`` and a ``--code-dir`` that is not an existing folder are an ``InputError``."""
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
    skips = [name.strip() for name in skip_steps or []]
    if any(not name for name in skips):
        raise InputError("a step name must be a non-empty text", field="--skip-step")
    return DefinitionOptions(
        params=values,
        code_dir=folder,
        image_map=image_map_of(image_map),
        skip_steps=tuple(dict.fromkeys(skips)),
        skip_unsupported=skip_unsupported,
    )


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
    name: str | None = None,
    uploads: Uploads | None = None,
) -> Pipeline:
    """The pipeline the definition ``data`` (read from ``path``) describes, with the parameter
    values and code folder of ``options``; anything not understood, and a parameter value
    that is unknown or does not fit its type, is an ``InputError`` naming the step and field.

    ``name`` is the pipeline's name (default: from the file's); ``uploads`` maps the URIs the
    SageMaker SDK uploaded to while building the definition back to the local files."""
    options = options or DefinitionOptions()
    uploads = uploads or Uploads()
    folders = code_folders(path, options.code_dir or code_dir)
    if options.code_dir is None and code_dir is None:
        folders += [f for f in uploads.folders_holding_code() if f not in folders]
    importer = _Importer(data, path, folders, options, uploads)
    try:
        return importer.pipeline(name or pipeline_name(path))
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
        options: DefinitionOptions,
        uploads: Uploads,
    ) -> None:
        self.data = data
        self.uploads = uploads
        self.path = path
        self.base_dir = path.resolve().parent
        self.folders = folders
        self.given = options.params
        self.options = options
        self.runner = runner_image_packages()
        self.parameters: dict[str, Any] = {}
        self.name = pipeline_name(path)

    def pipeline(self, name: str) -> Pipeline:
        self.name = name
        _known_keys(self.data, _TOP_LEVEL, _IGNORED_TOP_LEVEL, "")
        self.parameters = self._parameters(self.data.get("Parameters", []))
        steps = self.data["Steps"]
        if not isinstance(steps, list) or not steps:
            raise Refused("Steps", "must be a non-empty list of steps")
        skipped = self._skipped(steps)
        pipeline = Pipeline(name, base_dir=self.base_dir)
        pipeline.skipped = list(skipped.values())
        for index, raw in enumerate(steps):
            if raw.get("Name") in skipped:
                continue
            for step in self._steps(raw, f"Steps[{index}]", "Steps", skipped):
                try:
                    pipeline.add(step)
                except ValueError as exc:
                    raise Refused(f"Steps.{step.name}", str(exc)) from None
        if not pipeline.steps:
            raise Refused("Steps", "every step is skipped; nothing is left to run")
        return pipeline

    def _steps(
        self, raw: Any, at: str, parent: str, skipped: Mapping[str, SkippedStep]
    ) -> list[Step]:
        """The step ``raw`` and, for a condition step, the steps of its branches (which the
        definition nests in it) that are not ``skipped``."""
        step = self._step(raw, at, parent, skipped)
        if step.kind is not StepKind.CONDITION:
            return [step]
        args = raw["Arguments"]
        where = f"{parent}.{step.name}.Arguments"
        found = [step]
        for key in ("IfSteps", "ElseSteps"):
            for index, nested in enumerate(args.get(key, [])):
                if nested.get("Name") in skipped:
                    continue
                found += self._steps(nested, f"{where}.{key}[{index}]", f"{where}.{key}", skipped)
        return found

    def _skipped(self, steps: list[Any]) -> dict[str, SkippedStep]:
        """The steps left out: those ``--skip-step`` names, those of a type cit does not run
        (with ``--skip-unsupported``; without it they are refused, all named at once), and
        every step that takes an output of, or depends on, a step left out (a step in a
        branch of a condition left out is left out too)."""
        kinds: dict[str, str] = {}
        needs: dict[str, dict[str, str]] = {}
        for raw, condition in _all_steps(steps):
            kinds[raw["Name"]] = str(raw.get("Type"))
            needs[raw["Name"]] = _needs(raw)
            if condition is not None:
                needs[raw["Name"]].setdefault(condition, "is in a branch of")
        for name in self.options.skip_steps:
            if name not in kinds:
                raise Refused(
                    f"--skip-step {name}",
                    f"the definition has no step '{name}' (steps: {', '.join(kinds)})",
                )
        reasons = {name: "skipped with --skip-step" for name in self.options.skip_steps}
        _with_dependents(reasons, needs)
        unsupported = {
            name: kind
            for name, kind in kinds.items()
            if kind not in RUN_STEP_TYPES and name not in reasons
        }
        if unsupported and not self.options.skip_unsupported:
            raise _unsupported(unsupported)
        reasons |= {
            name: f"{kind} steps are not run by cit (--skip-unsupported)"
            for name, kind in unsupported.items()
        }
        _with_dependents(reasons, needs)
        return {
            name: SkippedStep(name, kinds[name], reasons[name]) for name in kinds if name in reasons
        }

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

    def _step(
        self, raw: Any, at: str, parent: str, skipped: Mapping[str, SkippedStep]
    ) -> Step:
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
            fields = self._condition(args, f"{where}.Arguments", skipped)
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
        if PurePosixPath(entry[-1]).name == RUNPROC:
            code_inputs, fields = self._framework_code(entry, inputs, where)
        else:
            code_index, script = self._processing_script(entry, inputs, where)
            code_inputs, fields = {code_index}, {"script": script}
            if entry[:-1] != ["python3"]:
                fields["entrypoint"] = entry[:-1]
        fields |= self._image(app.get("ImageUri"), f"{where}.AppSpecification.ImageUri")
        arguments = app.get("ContainerArguments", [])
        fields["arguments"] = [
            self._rendered(value, f"{where}.AppSpecification.ContainerArguments[{i}]")
            for i, value in enumerate(_list(arguments, f"{where}.AppSpecification"))
        ]
        fields["inputs"] = self._processing_inputs(
            [item for i, item in enumerate(inputs) if i not in code_inputs], where
        )
        fields["outputs"] = self._processing_outputs(args.get("ProcessingOutputConfig"), where)
        fields["env"] = self._env(args.get("Environment", {}), f"{where}.Environment")
        resources = _mapping(args.get("ProcessingResources"), f"{where}.ProcessingResources")
        fields["instance"] = self._instance(
            _mapping(resources.get("ClusterConfig"), f"{where}.ProcessingResources.ClusterConfig"),
            f"{where}.ProcessingResources.ClusterConfig",
            several=False,
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

    def _framework_code(
        self, entry: list[str], inputs: list[Any], where: str
    ) -> tuple[set[int], dict[str, Any]]:
        """A FrameworkProcessor's code: the indexes of its ``entrypoint`` (runproc.sh) and
        ``code`` (sourcedir.tar.gz) inputs, and the step's script, ``source_dir`` and a
        command that does what runproc.sh does (see ``runproc``)."""
        field = f"{where}.AppSpecification.ContainerEntrypoint"
        runproc_dir = str(PurePosixPath(entry[-1]).parent)
        found: dict[str, tuple[int, str]] = {}
        for index, item in enumerate(inputs):
            s3_input = _s3_input(item) if isinstance(item, dict) else {}
            local, uri = s3_input.get("LocalPath"), s3_input.get("S3Uri")
            if isinstance(local, str) and isinstance(uri, str):
                local = str(PurePosixPath(local))
                if local in (runproc_dir, PROCESSING_CODE):
                    found[local] = (index, uri)
        if runproc_dir not in found or PROCESSING_CODE not in found:
            raise Refused(
                field,
                f"{entry[-1]} is a FrameworkProcessor's, but the step has no input of "
                f"{'runproc.sh' if runproc_dir not in found else 'sourcedir.tar.gz'} mounted "
                f"at {runproc_dir if runproc_dir not in found else PROCESSING_CODE}",
            )
        runproc_index, runproc_uri = found[runproc_dir]
        code_index, code_uri = found[PROCESSING_CODE]
        if not code_uri.endswith(f"/{SOURCEDIR_TAR}"):
            raise Refused(
                f"{where}.ProcessingInputs[code].S3Input.S3Uri",
                f"the code of a FrameworkProcessor is a {SOURCEDIR_TAR}; got {code_uri}",
            )
        match = find_entry_point(runproc_uri, self.folders)
        if match is None:
            looked = ", ".join(str(folder) for folder in self.folders)
            raise Refused(
                f"{where}.ProcessingInputs[entrypoint].S3Input.S3Uri",
                f"cannot tell which script {runproc_uri} runs: the definition does not name "
                "the FrameworkProcessor's entry point (only runproc.sh in S3 does), and none "
                f"of the Python files in {looked} is the one whose runproc.sh has the hash in "
                "that URI; give the source_dir with --code-dir (the folder of "
                "FrameworkProcessor.run(source_dir=...))",
            )
        source_dir, relative, command = match
        fields: dict[str, Any] = {
            "script": source_dir / relative,
            "source_dir": source_dir,
            "entrypoint": runproc(command),
        }
        if (source_dir / "requirements.txt").is_file():
            fields["network"] = True  # runproc.sh pip-installs it, as the job may
        return {runproc_index, code_index}, fields

    def _local_code(self, uri: str, relative: str, field: str) -> Path:
        uploaded = self.uploads.local_path(uri)
        if uploaded is not None:
            candidate = uploaded / relative if uploaded.is_dir() else uploaded
            if candidate.is_file() and candidate.name == PurePosixPath(relative).name:
                return candidate
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
        fields |= self._image(spec.get("TrainingImage"), f"{spec_field}.TrainingImage")
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
                value = self._rendered(value, f"{where}.{key}")
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

    def _condition(
        self, args: dict[str, Any], where: str, skipped: Mapping[str, SkippedStep]
    ) -> dict[str, Any]:
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
                if item["Name"] not in skipped:
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
                "{'Get': 'Parameters.NAME'}, {'Get': 'Execution.PROPERTY'} or a 'Std:Join' of "
                "those",
            ) from None
        return sagemaker_text(scalar)

    # Values ---------------------------------------------------------------------------

    def _image(self, value: Any, field: str) -> dict[str, Any]:
        """``sagemaker_image``, the URI the definition names, and ``image``, the one the step
        runs on (none: cit's runner image), as ``sagemaker_images.step_image`` chooses."""
        if value is None:
            return {}
        uri = self._scalar(value, field)
        if not isinstance(uri, str) or not uri.strip() or any(c.isspace() for c in uri):
            raise Refused(field, f"must be an image URI; got {_text(uri)}")
        image = step_image(uri, self.options.image_map, self.runner)
        return {"sagemaker_image": uri} | ({"image": image} if image else {})

    def _source(self, value: Any, field: str) -> dict[str, Any]:
        """An input's source as ``build_step`` takes it."""
        if isinstance(value, str):
            if not is_s3_text(value):
                raise Refused(field, f"must be an s3:// URI; got {value}")
            uploaded = self.uploads.local_path(value)
            return {"path": str(uploaded) if uploaded is not None else value}
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

    def _scalar(self, value: Any, field: str) -> ParamValue:
        """A string, number or boolean: written as such, a parameter's value, an
        ``Execution.*`` property, or a ``Std:Join`` of these (a text)."""
        if isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, dict) and set(value) == {"Get"} and isinstance(value["Get"], str):
            expression = value["Get"]
            if expression.startswith("Parameters."):
                return self._parameter(expression.removeprefix("Parameters."), field)  # type: ignore[no-any-return]
            if expression.startswith("Execution."):
                return self._execution(expression.removeprefix("Execution."), field)
        if isinstance(value, dict) and set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            on = join.get("On") if isinstance(join, dict) else None
            values = join.get("Values") if isinstance(join, dict) else None
            if isinstance(on, str) and isinstance(values, list):
                return on.join(
                    sagemaker_text(self._scalar(item, f"{field}.Std:Join.Values[{i}]"))
                    for i, item in enumerate(values)
                )
        raise Refused(
            field,
            f"{_text(value)} is not supported; supported: a string, a number, "
            "{'Get': 'Parameters.NAME'}, {'Get': 'Execution.PROPERTY'} and a 'Std:Join' of these",
        )

    def _rendered(self, value: Any, field: str) -> str:
        """A value as SageMaker writes it into an argument or variable."""
        return sagemaker_text(self._scalar(value, field))

    def _execution(self, name: str, field: str) -> str:
        """The ``Execution.*`` properties of a local run (there is no SageMaker execution)."""
        values = execution_properties(self.name)
        if name not in values:
            raise Refused(
                field,
                f"Execution.{name} is not supported; supported: "
                + ", ".join(f"Execution.{known}" for known in values),
            )
        return values[name]

    def _env(self, raw: Any, field: str) -> dict[str, Any]:
        env = _mapping(raw, field)
        return {key: self._rendered(value, f"{field}.{key}") for key, value in env.items()}

    def _instance(
        self, config: dict[str, Any], field: str, *, several: bool = True
    ) -> dict[str, Any]:
        """The step's instance; only a training job (``several``) runs on more than one."""
        instance: dict[str, Any] = {}
        if "InstanceType" in config:
            instance["type"] = self._scalar(config["InstanceType"], f"{field}.InstanceType")
        if "InstanceCount" in config:
            count = self._scalar(config["InstanceCount"], f"{field}.InstanceCount")
            if count != 1 and not several:
                raise Refused(
                    f"{field}.InstanceCount",
                    f"{count}: cit runs a processing step on one instance; set instance_count=1",
                )
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise Refused(f"{field}.InstanceCount", f"{count!r}: must be a whole number >= 1")
            instance["count"] = count
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


LOCAL_EXECUTION_ID = "cit-local"


def execution_properties(pipeline: str) -> dict[str, str]:
    """What ``Execution.*`` gives in a local run: its id is ``cit-local``, its times the load's."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    arn = f"arn:aws:sagemaker:local:000000000000:pipeline/{pipeline}"
    return {
        "PipelineExecutionId": LOCAL_EXECUTION_ID,
        "PipelineExecutionArn": f"{arn}/execution/{LOCAL_EXECUTION_ID}",
        "PipelineName": pipeline,
        "PipelineArn": arn,
        "StartDateTime": now,
        "CurrentDateTime": now,
    }


def sagemaker_text(value: ParamValue) -> str:
    """A value as SageMaker renders it into text: ``true``/``false``, ``4``, ``0.2``."""
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


def _unsupported(steps: Mapping[str, str]) -> Refused:
    """The one refusal of a definition with steps cit does not run, naming them all."""
    how = "run the other steps with --skip-unsupported (or leave steps out with --skip-step NAME)"
    if len(steps) == 1:
        [(name, kind)] = steps.items()
        return Refused(
            f"Steps.{name}.Type",
            f"a {kind} step is not supported; cit runs {SUPPORTED_STEPS} steps; {how}",
        )
    listed = ", ".join(f"{name} ({kind})" for name, kind in steps.items())
    return Refused(
        "Steps",
        f"{len(steps)} steps are of a type cit does not run: {listed}; cit runs "
        f"{SUPPORTED_STEPS} steps; {how}",
    )


def _with_dependents(reasons: dict[str, str], needs: Mapping[str, Mapping[str, str]]) -> None:
    """Add to ``reasons`` (step -> why it is left out) every step that needs one left out."""
    changed = True
    while changed:
        changed = False
        for name, needed in needs.items():
            gone = [other for other in needed if other in reasons]
            if name not in reasons and gone:
                reasons[name] = f"{needed[gone[0]]} step '{gone[0]}', which is skipped"
                changed = True


def _all_steps(steps: list[Any]) -> list[tuple[dict[str, Any], str | None]]:
    """Every step of the definition, those nested in a condition's branches too, each with
    the condition whose branch holds it."""
    found: list[tuple[dict[str, Any], str | None]] = []
    pending: list[tuple[Any, str | None, str]] = [
        (raw, None, f"Steps[{index}]") for index, raw in enumerate(steps)
    ]
    while pending:
        raw, condition, at = pending.pop(0)
        if not isinstance(raw, dict) or not isinstance(raw.get("Name"), str):
            raise Refused(at, "each step must be an object with a 'Name'")
        found.append((raw, condition))
        args = raw.get("Arguments")
        if raw.get("Type") == "Condition" and isinstance(args, dict):
            for key in ("IfSteps", "ElseSteps"):
                nested = args.get(key)
                for index, item in enumerate(nested if isinstance(nested, list) else []):
                    pending.append((item, raw["Name"], f"Steps.{raw['Name']}.{key}[{index}]"))
    return found


def _needs(raw: dict[str, Any]) -> dict[str, str]:
    """The steps ``raw`` takes an output of (a ``{'Get': 'Steps.NAME…'}`` anywhere in it) or
    depends on, each with how: ``takes an output of`` or ``depends on``."""
    found: dict[str, str] = {}
    pending: list[Any] = [raw.get("Arguments")]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            get = value.get("Get")
            match = _STEP_REFERENCE.match(get) if isinstance(get, str) else None
            if match:
                found.setdefault(match.group(1), "takes an output of")
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    depends = raw.get("DependsOn")
    for name in depends if isinstance(depends, list) else []:
        if isinstance(name, str):
            found.setdefault(name, "depends on")
    return found


def runproc_text(entry_point: str, command: str = "python") -> str:
    """The runproc.sh the SageMaker SDK (2.x) writes for a FrameworkProcessor that runs
    ``command entry_point``; its SHA-256 is the folder of its S3 URI under a pipeline session."""
    return (
        "#!/bin/bash\n\ncd /opt/ml/processing/input/code/\ntar -xzf sourcedir.tar.gz\n\n"
        "# Exit on any error. SageMaker uses error code to mark failed job.\nset -e\n\n"
        "if [[ -f 'requirements.txt' ]]; then\n    # Optionally log into CodeArtifact\n"
        "    if ! hash aws 2>/dev/null; then\n"
        '        echo "AWS CLI is not installed. Skipping CodeArtifact login."\n    else\n'
        "        echo 'CodeArtifact repository not specified. Skipping login.'\n    fi\n\n"
        "    # Some py3 containers has typing, which may breaks pip install\n"
        "    pip uninstall --yes typing\n\n    python -m pip install -r requirements.txt\n"
        f'fi\n\n{command} {entry_point} "$@"\n'
    )


def find_entry_point(runproc_uri: str, folders: Sequence[Path]) -> tuple[Path, str, str] | None:
    """The source dir, entry point (relative to it) and command of the runproc.sh at
    ``runproc_uri``: the Python file in ``folders`` (or below) whose runproc.sh has the hash
    the URI holds; None when the URI holds none or no file matches."""
    match = _RUNPROC_HASH.search(runproc_uri)
    if match is None:
        return None
    wanted = match.group(1)
    for folder in folders:
        for script in _python_files(folder):
            directory = script.parent
            while True:
                relative = script.relative_to(directory).as_posix()
                for command in _RUNPROC_COMMANDS:
                    text = runproc_text(relative, command)
                    if hashlib.sha256(text.encode()).hexdigest() == wanted:
                        return directory, relative, command
                if directory == folder:
                    break
                directory = directory.parent
    return None


def _python_files(folder: Path) -> list[Path]:
    """The ``.py`` files in ``folder`` and below (not in hidden or tool folders), at most
    ``_MAX_CODE_FILES``; links are not followed."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_FOLDERS and not d.startswith("."))
        found += [Path(root, name) for name in sorted(files) if name.endswith(".py")]
        if len(found) >= _MAX_CODE_FILES:
            break
    return found[:_MAX_CODE_FILES]


def runproc(command: str) -> list[str]:
    """The entrypoint that runs a FrameworkProcessor's script as its runproc.sh does: in the
    code folder, after ``pip install -r requirements.txt`` when the source dir has one, as
    ``command <entry point> ARGUMENTS`` (cit appends the script's path and the arguments; the
    source dir is mounted unpacked, so there is no tar to extract)."""
    script = (
        f"cd {PROCESSING_CODE}/ && set -e && "
        "if [[ -f requirements.txt ]]; then python -m pip install -r requirements.txt; fi && "
        f'exec {command} "${{0#{PROCESSING_CODE}/}}" "$@"'
    )
    return ["/bin/bash", "-c", script]


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
