"""``cit validate-contracts``: each step against its script contract and its script's source,
and each edge's declared schemas against each other. Nothing runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, computed_field

from ..data.compatibility import check_declared
from ..data.contracts import ScriptContract
from ..issues import Issue, RuleInfo, Severity, has_errors
from ..pipeline.model import Pipeline, Step, StepKind
from ..pipeline.sagemaker_paths import (
    MODEL_DIR,
    OUTPUT_DIR,
    PROCESSING_CODE,
    PROCESSING_CONFIG,
    TRAINING_CODE,
    TRAINING_CONFIG,
    TRAINING_DATA,
)
from ..pipeline.source_scan import EnvRead, ScriptScanError, ScriptUsage, scan_script
from ..pipeline.wiring import Wire, declared_schemas, wires
from ..runner_packages import package_key, runner_image_packages, satisfies
from ..verdict import finding_outcomes, verdict_of


class ContractRule(StrEnum):
    MISSING_ENV_VAR = "missing_env_var"
    UNWIRED_INPUT = "unwired_input"
    INPUT_NOT_IN_CONTRACT = "input_not_in_contract"
    OUTPUT_NOT_MOUNTED = "output_not_mounted"
    OUTPUT_NOT_IN_CONTRACT = "output_not_in_contract"
    CHANNEL_PATH = "channel_path"
    ENTRY_POINT = "entry_point"
    UNDECLARED_PATH = "undeclared_path"
    UNUSED_PATH = "unused_path"
    UNDECLARED_ENV_VAR = "undeclared_env_var"
    UNUSED_ENV_VAR = "unused_env_var"
    UNDECLARED_ARGUMENT = "undeclared_argument"
    UNUSED_ARGUMENT = "unused_argument"
    MISSING_ARGUMENT = "missing_argument"
    SCRIPT_UNREADABLE = "script_unreadable"
    FRAMEWORK_REQUIREMENT = "framework_requirement"


E, W = Severity.ERROR, Severity.WARNING
CONTRACT_RULES: dict[ContractRule, RuleInfo] = {
    ContractRule.MISSING_ENV_VAR: RuleInfo(
        E, "a required env var of the contract is not set by the step"
    ),
    ContractRule.UNWIRED_INPUT: RuleInfo(E, "a contract input that no step input provides"),
    ContractRule.INPUT_NOT_IN_CONTRACT: RuleInfo(W, "a step input the contract does not list"),
    ContractRule.OUTPUT_NOT_MOUNTED: RuleInfo(E, "a contract output the step does not declare"),
    ContractRule.OUTPUT_NOT_IN_CONTRACT: RuleInfo(W, "a step output the contract does not list"),
    ContractRule.CHANNEL_PATH: RuleInfo(
        E, "a training input not at /opt/ml/input/data/<channel>, where SageMaker mounts it"
    ),
    ContractRule.ENTRY_POINT: RuleInfo(W, "the step's script is not the contract's entry_point"),
    ContractRule.UNDECLARED_PATH: RuleInfo(E, "the script uses an /opt/ml path the contract lacks"),
    ContractRule.UNUSED_PATH: RuleInfo(W, "a contract path the script never mentions"),
    ContractRule.UNDECLARED_ENV_VAR: RuleInfo(
        E,
        "the script reads an env var without a default that the contract lacks (a warning "
        "when the read gives a default or tests `in os.environ`)",
    ),
    ContractRule.UNUSED_ENV_VAR: RuleInfo(W, "a contract env var the script never reads"),
    ContractRule.UNDECLARED_ARGUMENT: RuleInfo(
        E,
        "a required argparse argument the contract lacks (warning when optional)",
    ),
    ContractRule.UNUSED_ARGUMENT: RuleInfo(W, "a contract argument the script does not parse"),
    ContractRule.MISSING_ARGUMENT: RuleInfo(E, "a required argument the step does not pass"),
    ContractRule.SCRIPT_UNREADABLE: RuleInfo(E, "the script cannot be parsed"),
    ContractRule.FRAMEWORK_REQUIREMENT: RuleInfo(
        W,
        "a package of the contract's framework_requirements that cit's runner image lacks or "
        "has at another version (steps without their own image)",
    ),
}

STANDARD_ENV_PREFIXES = ("SM_", "SAGEMAKER_", "AWS_", "PYTHON", "LC_", "CIT_")
STANDARD_ENV_VARS = frozenset(
    {"PATH", "HOME", "USER", "LANG", "TMPDIR", "PWD", "HOSTNAME", "TRAINING_JOB_NAME"}
)
TRAINING_ENV_PREFIXES = ("SM_", "SAGEMAKER_")
TRAINING_ENV_VARS = frozenset({"TRAINING_JOB_NAME", "CURRENT_HOST"})
COMMON_PATHS = (PROCESSING_CONFIG, f"{OUTPUT_DIR}/failure", f"{OUTPUT_DIR}/message")
PROCESSING_PATHS = (PROCESSING_CODE, *COMMON_PATHS)
TRAINING_PATHS = (TRAINING_CONFIG, MODEL_DIR, OUTPUT_DIR, TRAINING_CODE, "/opt/ml/checkpoints")


class ContractReport(BaseModel):
    """Everything ``cit validate-contracts`` found."""

    pipeline: str
    pipeline_file: str
    checked: list[str] = Field(default_factory=list)
    without_contract: list[str] = Field(default_factory=list)
    framework_requirements: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Each checked step's contract's framework_requirements, where it has any."""
    issues: list[Issue] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not has_errors(self.issues)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exit_code(self) -> int:
        return verdict_of(finding_outcomes(self.issues)).exit_code


def validate_contracts(pipeline: Pipeline, file: Path) -> ContractReport:
    """Check every step that has a contract, and the declared schemas on every edge."""
    report = ContractReport(pipeline=pipeline.name, pipeline_file=str(file))
    runner_packages: dict[str, str] | None = None
    for step in pipeline.steps.values():
        if not step.kind.runs_container:
            continue  # a condition or fail step has no script to hold to a contract
        if step.contract is None:
            report.without_contract.append(step.name)
            continue
        report.checked.append(step.name)
        report.issues.extend(check_step(step, step.contract))
        if step.contract.framework_requirements:
            report.framework_requirements[step.name] = step.contract.framework_requirements
            if step.image is None:
                runner_packages = (
                    runner_image_packages() if runner_packages is None else runner_packages
                )
                found = framework_issues(step, step.contract, runner_packages)
                report.issues.extend(i.located(file=step.contract.source) for i in found)
    report.issues.extend(check_declared_edges(pipeline))
    # A contract given as a ScriptContract object has no file of its own: it is in the pipeline's.
    report.issues = [i.located(file=str(file)) for i in report.issues]
    return report


def check_declared_edges(pipeline: Pipeline, tested: Sequence[Wire] | None = None) -> list[Issue]:
    """A producer's declared output schema against its consumer's declared input schema, on
    every wire of ``tested`` (all wires without it)."""
    found: list[Issue] = []
    for wire in wires(pipeline.steps) if tested is None else tested:
        expected, promised = declared_schemas(wire, pipeline)
        if expected is None or promised is None:
            continue
        found.extend(
            i.located(edge=str(wire), step=wire.consumer, file=expected.source)
            for i in check_declared(promised, expected)
        )
    return found


def _issue(
    rule: ContractRule,
    step: Step,
    description: str,
    hint: str,
    *,
    file: str | None = None,
    line: int | None = None,
    severity: Severity | None = None,
) -> Issue:
    return Issue(
        rule=rule.value,
        severity=severity or CONTRACT_RULES[rule].severity,
        description=description,
        hint=hint,
        step=step.name,
        file=file,
        line=line,
    )


def check_step(step: Step, contract: ScriptContract) -> list[Issue]:
    """The step's wiring and environment against its contract, then the script's source."""
    found = [
        *_env_wiring(step, contract),
        *_input_wiring(step, contract),
        *_output_wiring(step, contract),
        *_entry_point(step, contract),
    ]
    if step.script is not None and step.script.suffix == ".py":
        found.extend(check_script(step, contract))
    return [i.located(file=contract.source) for i in found]


def _env_wiring(step: Step, contract: ScriptContract) -> Iterable[Issue]:
    for name in contract.required_env_vars:
        set_by_step = name in step.env or name in step.secrets
        if not set_by_step and not _set_by_training_job(step, name):
            yield _issue(
                ContractRule.MISSING_ENV_VAR,
                step,
                f"'{step.name}' does not set {name}, which its contract requires",
                f"add env: {{{name}: ...}} (or secrets: [{name}]) to step '{step.name}'",
            )


def _set_by_training_job(step: Step, name: str) -> bool:
    """SageMaker gives a training job SM_* variables, its job name and host, as cit does."""
    return step.kind is StepKind.TRAINING and (
        name.startswith(TRAINING_ENV_PREFIXES) or name in TRAINING_ENV_VARS
    )


def _input_wiring(step: Step, contract: ScriptContract) -> Iterable[Issue]:
    for name, path in contract.expected_input_paths.items():
        wrong_path = _channel_path_issue(step, name, path)
        if wrong_path is not None:
            yield wrong_path
        elif name not in step.inputs and not _covers_channels(step, path):
            yield _issue(
                ContractRule.UNWIRED_INPUT,
                step,
                f"contract input '{name}' ({path}) is not wired to anything in '{step.name}'",
                f"add inputs: {{{name}: ...}} (a path or another step's output)",
            )
    for name in step.inputs:
        if name not in contract.expected_input_paths and not _training_channel_covered(
            step, name, contract
        ):
            yield _issue(
                ContractRule.INPUT_NOT_IN_CONTRACT,
                step,
                f"input '{name}' of '{step.name}' is not in its contract",
                f"add '{name}' to expected_input_paths, or remove the input",
            )


def _channel_path_issue(step: Step, name: str, path: str) -> Issue | None:
    """A training contract input at a path where SageMaker mounts no channel: a step input
    ``name`` is mounted at /opt/ml/input/data/<name> only; other contract inputs must at least
    lie under the data, config or model folders."""
    if step.kind is not StepKind.TRAINING:
        return None
    mounted = f"{TRAINING_DATA}/{name}"
    if name in step.inputs:
        if path == TRAINING_DATA or _under(path, mounted):
            return None
        text = (
            f"contract input '{name}' is at {path}, but SageMaker mounts the step's channel "
            f"'{name}' at {mounted}"
        )
        channel = _channel_of(path)
        rename = f", or rename the step's input to '{channel}'" if channel else ""
        hint = f"set expected_input_paths.{name} to {mounted}{rename}"
        return _issue(ContractRule.CHANNEL_PATH, step, text, hint)
    if _training_path_ok(path):
        return None
    return _issue(
        ContractRule.CHANNEL_PATH,
        step,
        f"contract input '{name}' is at {path}; SageMaker mounts training channels at "
        f"{TRAINING_DATA}/<channel>",
        f"name the step's input '{name}' and its path {mounted}",
    )


def _channel_of(path: str) -> str | None:
    """The channel whose mount ``path`` is in: /opt/ml/input/data/training/x → training."""
    if not _under(path, TRAINING_DATA) or path == TRAINING_DATA:
        return None
    return path.removeprefix(TRAINING_DATA + "/").split("/")[0] or None


def _training_path_ok(path: str) -> bool:
    """Training data lives in /opt/ml/input/data/<channel>; config files are SageMaker's."""
    return _under(path, TRAINING_DATA) or _under(path, TRAINING_CONFIG) or _under(path, MODEL_DIR)


def _covers_channels(step: Step, path: str) -> bool:
    """A training contract path such as /opt/ml/input/data covers every wired channel."""
    if step.kind is not StepKind.TRAINING:
        return False
    if _under(path, TRAINING_CONFIG):
        return True
    return bool(step.inputs) and all(
        _under(f"{TRAINING_DATA}/{channel}", path) for channel in step.inputs
    )


def _training_channel_covered(step: Step, channel: str, contract: ScriptContract) -> bool:
    if step.kind is not StepKind.TRAINING:
        return False
    mounted = f"{TRAINING_DATA}/{channel}"
    return any(_under(mounted, p) for p in contract.expected_input_paths.values())


def _output_wiring(step: Step, contract: ScriptContract) -> Iterable[Issue]:
    if step.kind is StepKind.TRAINING:
        return
    for name, path in contract.expected_output_paths.items():
        if name not in step.outputs:
            yield _issue(
                ContractRule.OUTPUT_NOT_MOUNTED,
                step,
                f"contract output '{name}' ({path}) is not an output of '{step.name}': what "
                "the script writes there is lost",
                f"add '{name}' to the step's outputs, or leave outputs out to take the contract's",
            )
    for name in step.outputs:
        if name not in contract.expected_output_paths:
            yield _issue(
                ContractRule.OUTPUT_NOT_IN_CONTRACT,
                step,
                f"output '{name}' of '{step.name}' is not in its contract",
                f"add '{name}' to expected_output_paths",
            )


def _entry_point(step: Step, contract: ScriptContract) -> Iterable[Issue]:
    if step.script is not None and step.script.name != Path(contract.entry_point).name:
        yield _issue(
            ContractRule.ENTRY_POINT,
            step,
            f"'{step.name}' runs {step.script.name}; its contract is for {contract.entry_point}",
            "point the step at the contract's script, or fix entry_point",
        )


# The script's own source -------------------------------------------------------------------


def check_script(step: Step, contract: ScriptContract) -> list[Issue]:
    assert step.script is not None
    try:
        usage = scan_script(step.script)
    except ScriptScanError as exc:
        return [
            _issue(
                ContractRule.SCRIPT_UNREADABLE,
                step,
                str(exc),
                "fix the script so it parses",
                file=str(step.script),
            )
        ]
    found = [*_path_issues(step, contract, usage), *_env_issues(step, contract, usage)]
    found.extend(_argument_issues(step, contract, usage))
    return found


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _declared_paths(step: Step, contract: ScriptContract) -> list[str]:
    paths = [*contract.expected_input_paths.values(), *contract.expected_output_paths.values()]
    if step.kind is StepKind.TRAINING:
        return [*paths, *TRAINING_PATHS, *(f"{TRAINING_DATA}/{c}" for c in step.inputs)]
    return [*paths, *PROCESSING_PATHS]


def _path_issues(step: Step, contract: ScriptContract, usage: ScriptUsage) -> Iterable[Issue]:
    declared = _declared_paths(step, contract)
    for use in usage.paths:
        known = any(_under(use.path, d) or _under(d, use.path) for d in declared)
        if not known:
            yield _issue(
                ContractRule.UNDECLARED_PATH,
                step,
                f"{step.script.name if step.script else 'the script'} uses {use.path}, which "
                "its contract does not declare",
                "add it to expected_output_paths or expected_input_paths (or fix the path)",
                file=str(usage.file),
                line=use.line,
            )
    for kind, paths in (
        ("expected_input_paths", contract.expected_input_paths),
        ("expected_output_paths", contract.expected_output_paths),
    ):
        for name, path in paths.items():
            if not any(_under(u.path, path) or _under(path, u.path) for u in usage.paths):
                yield _issue(
                    ContractRule.UNUSED_PATH,
                    step,
                    f"{kind}.{name} ({path}) is never mentioned in "
                    f"{step.script.name if step.script else 'the script'}",
                    "remove it from the contract if the script does not use it",
                )


def _standard_env(name: str) -> bool:
    return name in STANDARD_ENV_VARS or name.startswith(STANDARD_ENV_PREFIXES)


def _env_issues(step: Step, contract: ScriptContract, usage: ScriptUsage) -> Iterable[Issue]:
    declared = set(contract.required_env_vars) | set(contract.optional_env_vars)
    for read in usage.env:
        if read.name in declared or _standard_env(read.name):
            continue
        yield _undeclared_env_var(step, read, usage.file)
    if usage.dynamic_env:
        return
    read_names = {read.name for read in usage.env}
    for name in sorted(declared - read_names):
        yield _issue(
            ContractRule.UNUSED_ENV_VAR,
            step,
            f"the contract declares {name}; the script never reads it",
            f"remove {name} from the contract if the script does not use it",
        )


def _undeclared_env_var(step: Step, read: EnvRead, file: Path) -> Issue:
    """A read with no default (``environ[X]``, ``environ.get(X)``, ``getenv(X)``, ``pop(X)``)
    gets nothing or fails when the variable is unset: an error. One with a default, or an
    ``in os.environ`` test, copes without it: a warning."""
    name = read.name
    if read.has_default:
        how, severity = "with a default", Severity.WARNING
        fix = f"add {name} to optional_env_vars with its default"
    else:
        how, severity = "without a default", Severity.ERROR
        fix = f"add {name} to required_env_vars (or to optional_env_vars with a default)"
    return _issue(
        ContractRule.UNDECLARED_ENV_VAR,
        step,
        f"the script reads {name} {how}, which its contract does not declare",
        fix,
        file=str(file),
        line=read.line,
        severity=severity,
    )


def _argument_issues(step: Step, contract: ScriptContract, usage: ScriptUsage) -> Iterable[Issue]:
    parsed = {arg.name: arg for arg in usage.arguments}
    for arg in usage.arguments:
        if arg.name not in contract.expected_arguments and not arg.positional:
            yield _issue(
                ContractRule.UNDECLARED_ARGUMENT,
                step,
                f"the script parses --{arg.name}, which its contract does not declare",
                f"add {arg.name} to expected_arguments",
                file=str(usage.file),
                line=arg.line,
                severity=Severity.ERROR if arg.required else Severity.WARNING,
            )
        if arg.required and not arg.positional and not _passes(step, arg.name):
            yield _issue(
                ContractRule.MISSING_ARGUMENT,
                step,
                f"the script requires --{arg.name}; '{step.name}' does not pass it",
                f"add '--{arg.name}', '<value>' to the step's arguments",
                file=str(usage.file),
                line=arg.line,
            )
    for name in contract.expected_arguments:
        if usage.arguments and name not in parsed:
            yield _issue(
                ContractRule.UNUSED_ARGUMENT,
                step,
                f"the contract expects argument {name}; the script does not parse it",
                f"remove {name} from expected_arguments, or parse it in the script",
            )


def _passes(step: Step, name: str) -> bool:
    if step.kind is StepKind.TRAINING:
        return name in step.hyperparameters or name.replace("-", "_") in step.hyperparameters
    flag = f"--{name}"
    return any(arg == flag or arg.startswith(flag + "=") for arg in step.arguments)


# Framework requirements against the runner image -------------------------------------------


def framework_issues(step: Step, contract: ScriptContract, packages: dict[str, str]) -> list[Issue]:
    """A warning for each required package the runner image has at a version the contract's
    specifier excludes, and one naming the packages it lacks."""
    if not packages:
        return []
    found: list[Issue] = []
    lacking: list[str] = []
    build = "or build the runner image with them: cit image build --requirements FILE"
    for name, specifier in contract.framework_requirements.items():
        have = packages.get(package_key(name))
        if have is None:
            lacking.append(name)
        elif satisfies(have, specifier) is False:
            found.append(
                _issue(
                    ContractRule.FRAMEWORK_REQUIREMENT,
                    step,
                    f"the contract of '{step.name}' requires {name}{specifier}; cit's runner "
                    f"image has {name} {have}",
                    f"test with a version the contract allows, {build}",
                )
            )
    if lacking:
        found.append(
            _issue(
                ContractRule.FRAMEWORK_REQUIREMENT,
                step,
                f"the contract of '{step.name}' requires {', '.join(lacking)}, which cit's "
                "runner image does not have",
                f"the script must install them itself, {build}",
            )
        )
    return found
