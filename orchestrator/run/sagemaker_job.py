"""The SageMaker container contract as a pure translation: step + resolved inputs → job spec.

Nothing here touches Docker or the file system: the result says which host paths to mount
where, which config files to write with what content, and which command to run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engines.spec import SECRET_MASK, ContainerSpec, Mount, NetworkSpec
from ..pipeline.model import LocalSource, Step, StepKind
from ..pipeline.sagemaker_paths import (
    MODEL_DIR,
    OUTPUT_DATA_DIR,
    OUTPUT_DIR,
    OUTPUT_INTERMEDIATE_DIR,
    PROCESSING_CODE,
    PROCESSING_CONFIG,
    TRAINING_CODE,
    TRAINING_CONFIG,
    TRAINING_DATA,
    TRAINING_INPUT,
    input_destination,
    output_destination,
)
from .step_requirements import INSTALL_THEN_RUN, WHEELS_MOUNT

CURRENT_HOST = "algo-1"
INSTANCE_GROUP = "homogeneousCluster"
NETWORK_INTERFACE = "eth0"
DEFAULT_ENTRYPOINT = ("python3",)
BYOC_TRAIN_COMMAND = ("train",)
LOCAL_ACCOUNT = "000000000000"
LOCAL_ROLE = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/cit-local"


@dataclass(frozen=True)
class StepPaths:
    """Host-side folders of one step inside the run directory."""

    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def ml_output_dir(self) -> Path:
        """Bound at /opt/ml/output: holds ``message``, ``failure`` and training's ``data/``."""
        return self.root / "ml-output"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def code_dir(self) -> Path:
        """A training step's own copy of the code, bound at /opt/ml/code."""
        return self.root / "code"

    @property
    def outputs_dir(self) -> Path:
        return self.root / "outputs"

    def output(self, name: str) -> Path:
        """What downstream steps receive for output ``name``."""
        return self.outputs_dir / name

    @property
    def log_file(self) -> Path:
        return self.root / "log.txt"

    def host(self, host: str) -> StepPaths:
        """The folders of one host of a job on several instances: the step's own for the
        first, ``hosts/<host>/`` inside them for the others."""
        return self if host == CURRENT_HOST else StepPaths(self.root / "hosts" / host)


@dataclass(frozen=True)
class JobContext:
    """Run-wide facts the translation needs; read once at the entry point."""

    run_id: str
    image: str
    labels: Mapping[str, str] = field(default_factory=dict)
    cpus: float | None = None
    memory_bytes: int | None = None
    pids_limit: int | None = None
    user: str | None = None
    region: str = "us-east-1"
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The step's secrets: container variable → value."""
    wheels: Path | None = None
    """Host folder of the wheels of the step's ``requirements.txt``, installed before its
    entry point (``step_requirements``); None when it has none."""
    gpus: int = 0
    """GPUs each of the step's containers gets (0 on a CPU type, or when run on CPU only)."""

    @property
    def job_name_prefix(self) -> str:
        return f"cit-{self.run_id}"


@dataclass(frozen=True)
class JobSpec:
    """A translated step: the container to run and the files and folders to prepare first.

    A training job on several instances has one container per host: ``container`` is the
    first (algo-1), ``peers`` the others, all on the private ``network``; ``files``,
    ``directories`` and ``copies`` hold every host's."""

    container: ContainerSpec
    files: dict[Path, str]
    directories: tuple[Path, ...]
    copies: tuple[tuple[Path, Path], ...] = ()
    peers: tuple[ContainerSpec, ...] = ()
    network: NetworkSpec | None = None

    @property
    def containers(self) -> tuple[ContainerSpec, ...]:
        """Every host's container, algo-1 first."""
        return (self.container, *self.peers)


def job_name(step: Step, ctx: JobContext) -> str:
    """A SageMaker-valid job name: at most 63 characters of letters, digits and hyphens."""
    raw = f"{ctx.job_name_prefix}-{step.name}".replace("_", "-")
    return raw[:63].rstrip("-")


def translate(step: Step, inputs: Mapping[str, Path], paths: StepPaths, ctx: JobContext) -> JobSpec:
    """The job spec for ``step`` whose input channels resolved to host ``inputs``; a step
    that runs no container (condition, fail) has none."""
    if not step.kind.runs_container:
        raise ValueError(f"a {step.kind.value} step runs no container")
    if step.kind is StepKind.PROCESSING:
        return processing_job(step, inputs, paths, ctx)
    return training_job(step, inputs, paths, ctx)


# Processing -----------------------------------------------------------------------------


def processing_job(
    step: Step, inputs: Mapping[str, Path], paths: StepPaths, ctx: JobContext
) -> JobSpec:
    entrypoint, arguments = _processing_command(step)
    name = job_name(step, ctx)
    files = {
        paths.config_dir / "processingjobconfig.json": _json(
            processing_job_config(step, inputs, paths, ctx, entrypoint, arguments)
        ),
        paths.config_dir / "resourceconfig.json": _json(
            {"current_host": CURRENT_HOST, "hosts": [CURRENT_HOST]}
        ),
    }
    mounts = [
        *_processing_code_mounts(step),
        *_input_mounts(step, inputs),
        *(
            Mount(str(paths.output(o)), output_destination(step, o), read_only=False)
            for o in step.outputs
        ),
        Mount(str(paths.config_dir), PROCESSING_CONFIG, read_only=True),
        Mount(str(paths.ml_output_dir), OUTPUT_DIR, read_only=False),
    ]
    container = _container(
        step,
        ctx,
        name,
        mounts,
        env=dict(step.env),
        entrypoint=tuple(entrypoint) or None,
        command=tuple(arguments),
        working_dir=None,
    )
    directories = (paths.ml_output_dir, *(paths.output(o) for o in step.outputs))
    return JobSpec(container, files, directories)


def _processing_command(step: Step) -> tuple[list[str], list[str]]:
    """ContainerEntrypoint and ContainerArguments, as ScriptProcessor sets them."""
    if step.script is None:
        return list(step.entrypoint or []), list(step.arguments)
    base = list(step.entrypoint or DEFAULT_ENTRYPOINT)
    return [*base, f"{PROCESSING_CODE}/{_entry_point(step)}"], list(step.arguments)


def processing_job_config(
    step: Step,
    inputs: Mapping[str, Path],
    paths: StepPaths,
    ctx: JobContext,
    entrypoint: list[str],
    arguments: list[str],
) -> dict[str, Any]:
    """The content of /opt/ml/config/processingjobconfig.json."""
    name = job_name(step, ctx)
    processing_inputs = [
        _processing_input(c, input_destination(step, c), inputs[c]) for c in step.inputs
    ]
    if step.script is not None:
        code_source = step.source_dir or step.script
        processing_inputs.append(_processing_input("code", PROCESSING_CODE, code_source))
    app: dict[str, Any] = {"ImageUri": ctx.image}
    if entrypoint:
        app["ContainerEntrypoint"] = entrypoint
    if arguments:
        app["ContainerArguments"] = arguments
    return {
        "ProcessingJobArn": f"arn:aws:sagemaker:{ctx.region}:{LOCAL_ACCOUNT}:processing-job/{name}",
        "ProcessingJobName": name,
        "AppSpecification": app,
        "Environment": {**step.env, **dict.fromkeys(step.secrets, SECRET_MASK)},
        "ProcessingInputs": processing_inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": o,
                    "AppManaged": False,
                    "S3Output": {
                        "S3Uri": paths.output(o).resolve().as_uri(),
                        "LocalPath": output_destination(step, o),
                        "S3UploadMode": "EndOfJob",
                    },
                }
                for o in step.outputs
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": step.instance.count,
                "InstanceType": step.instance.type,
                "VolumeSizeInGB": 30,
            }
        },
        "RoleArn": LOCAL_ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": math.ceil(step.timeout_seconds)},
    }


def _processing_input(name: str, local_path: str, source: Path) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": source.resolve().as_uri(),
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


# Training -------------------------------------------------------------------------------


def training_job(
    step: Step, inputs: Mapping[str, Path], paths: StepPaths, ctx: JobContext
) -> JobSpec:
    """One container per host (``instance.count``); several share a private network."""
    name = job_name(step, ctx)
    hosts = host_names(step)
    network = (
        NetworkSpec(name, dict(ctx.labels), internal=not step.network) if len(hosts) > 1 else None
    )
    jobs = [
        _training_host(step, inputs, paths.host(host), ctx, host, network) for host in hosts
    ]
    first, *others = jobs
    return JobSpec(
        first.container,
        {path: text for job in jobs for path, text in job.files.items()},
        tuple(folder for job in jobs for folder in job.directories),
        tuple(copy for job in jobs for copy in job.copies),
        peers=tuple(job.container for job in others),
        network=network,
    )


def host_names(step: Step) -> list[str]:
    """algo-1 … algo-N, as SageMaker names the hosts of a training job."""
    return [f"algo-{index}" for index in range(1, step.instance.count + 1)]


def _training_host(
    step: Step,
    inputs: Mapping[str, Path],
    paths: StepPaths,
    ctx: JobContext,
    host: str,
    network: NetworkSpec | None,
) -> JobSpec:
    """The container of one host, with its own config, model, output and code folders."""
    name = job_name(step, ctx)
    hyperparameters = hyperparameters_json(step, ctx)
    files = {
        paths.config_dir / "hyperparameters.json": _json(hyperparameters),
        paths.config_dir / "inputdataconfig.json": _json(input_data_config(step)),
        paths.config_dir / "resourceconfig.json": _json(training_resource_config(step, host)),
    }
    code = [Mount(str(paths.code_dir), TRAINING_CODE, read_only=False)] if step.script else []
    mounts = [
        *code,
        *_input_mounts(step, inputs),
        Mount(str(paths.config_dir), TRAINING_CONFIG, read_only=True),
        Mount(str(paths.model_dir), MODEL_DIR, read_only=False),
        Mount(str(paths.ml_output_dir), OUTPUT_DIR, read_only=False),
    ]
    if step.script_mode:
        env = {**step.env, **training_environment(step, ctx, name, host)}
        entrypoint: tuple[str, ...] | None = tuple(step.entrypoint or DEFAULT_ENTRYPOINT)
        command = (f"{TRAINING_CODE}/{_entry_point(step)}", *hyperparameter_args(step))
        working_dir: str | None = TRAINING_CODE
    else:
        env = {"TRAINING_JOB_NAME": name, **step.env}
        entrypoint = tuple(step.entrypoint) if step.entrypoint else None
        command, working_dir = BYOC_TRAIN_COMMAND, None
    if ctx.wheels is not None and step.script_mode:
        mounts.append(Mount(str(ctx.wheels), WHEELS_MOUNT, read_only=True))
        command = (*(entrypoint or ()), *command)
        entrypoint = ("/bin/sh", "-c", INSTALL_THEN_RUN, "sh")
    container = _container(
        step,
        ctx,
        f"{name}-{host}" if network is not None else name,
        mounts,
        env=env,
        entrypoint=entrypoint,
        command=command,
        working_dir=working_dir,
        host=host,
        network=network,
    )
    directories = (
        paths.model_dir,
        paths.ml_output_dir / "data",
        *(paths.output(name) for name in step.output_names if host == CURRENT_HOST),
    )
    code_source = step.source_dir or step.script
    copies = ((code_source, paths.code_dir),) if code_source is not None else ()
    return JobSpec(container, files, directories, copies)


def hyperparameters_json(step: Step, ctx: JobContext) -> dict[str, str]:
    """hyperparameters.json: every value a string, JSON-encoded in script mode as the SDK does."""
    if not step.script_mode:
        return {k: str(v) for k, v in step.hyperparameters.items()}
    framework = {
        "sagemaker_program": _entry_point(step),
        "sagemaker_submit_directory": TRAINING_CODE,
        "sagemaker_container_log_level": 20,
        "sagemaker_job_name": job_name(step, ctx),
        "sagemaker_region": ctx.region,
    }
    merged = {**step.hyperparameters, **framework}
    return {k: json.dumps(v) for k, v in merged.items()}


def hyperparameter_args(step: Step) -> list[str]:
    """``--key value`` pairs in key order, formatted as the training toolkit formats them."""
    args: list[str] = []
    for key in sorted(step.hyperparameters):
        flag = f"--{key}" if len(key) > 1 else f"-{key}"
        args += [flag, str(step.hyperparameters[key])]
    return args


def input_data_config(step: Step) -> dict[str, Any]:
    return {
        channel: {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        for channel in step.inputs
    }


def training_resource_config(step: Step, host: str = CURRENT_HOST) -> dict[str, Any]:
    """resourceconfig.json of ``host``: every host of the job, the one it is."""
    hosts = host_names(step)
    return {
        "current_host": host,
        "current_instance_type": step.instance.type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": hosts,
        "instance_groups": [
            {
                "instance_group_name": INSTANCE_GROUP,
                "instance_type": step.instance.type,
                "hosts": hosts,
            }
        ],
        "network_interface_name": NETWORK_INTERFACE,
    }


def training_environment(
    step: Step, ctx: JobContext, name: str, host: str = CURRENT_HOST
) -> dict[str, str]:
    """The variables the SageMaker training toolkit (5.x) gives a script-mode entry point on
    ``host``."""
    channels = sorted(step.inputs)
    channel_dirs = {c: f"{TRAINING_DATA}/{c}" for c in channels}
    hps = dict(step.hyperparameters)
    entry = _entry_point(step)
    cpus = max(1, math.floor(ctx.cpus)) if ctx.cpus else 1
    resource = training_resource_config(step, host)
    hosts = resource["hosts"]
    groups = {g["instance_group_name"]: g for g in resource["instance_groups"]}
    properties: dict[str, Any] = {
        "additional_framework_parameters": {},
        "channel_input_dirs": channel_dirs,
        "current_host": host,
        "current_instance_group": INSTANCE_GROUP,
        "current_instance_group_hosts": hosts,
        "current_instance_type": step.instance.type,
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "framework_module": None,
        "hosts": hosts,
        "hyperparameters": hps,
        "input_config_dir": TRAINING_CONFIG,
        "input_data_config": input_data_config(step),
        "input_dir": TRAINING_INPUT,
        "instance_groups": list(groups),
        "instance_groups_dict": groups,
        "is_hetero": False,
        "is_master": host == hosts[0],
        "is_modelparallel_enabled": None,
        "is_smddpmprun_installed": False,
        "is_smddprun_installed": False,
        "job_name": name,
        "log_level": 20,
        "master_hostname": hosts[0],
        "model_dir": MODEL_DIR,
        "module_dir": TRAINING_CODE,
        "module_name": entry.removesuffix(".py"),
        "network_interface_name": NETWORK_INTERFACE,
        "num_cpus": cpus,
        "num_gpus": ctx.gpus,
        "num_neurons": 0,
        "output_data_dir": OUTPUT_DATA_DIR,
        "output_dir": OUTPUT_DIR,
        "output_intermediate_dir": OUTPUT_INTERMEDIATE_DIR,
        "resource_config": resource,
        "topology": [],
        "user_entry_point": entry,
    }
    exported = {_EXPORT_NAMES.get(k, k): v for k, v in properties.items() if k not in _NOT_EXPORTED}
    env = {f"SM_{key.upper()}": sm_value(value) for key, value in exported.items()}
    env["SM_CHANNELS"] = sm_value(channels)
    env["SM_TRAINING_ENV"] = sm_value(properties)
    env["SM_USER_ARGS"] = sm_value(hyperparameter_args(step))
    env.update({f"SM_CHANNEL_{c.upper()}": d for c, d in channel_dirs.items()})
    env.update({f"SM_HP_{k.upper()}": sm_value(v) for k, v in hps.items()})
    env.update(
        {
            "TRAINING_JOB_NAME": name,
            "SAGEMAKER_JOB_NAME": name,
            "SAGEMAKER_REGION": ctx.region,
            "CURRENT_HOST": host,
        }
    )
    return env


# Toolkit properties that are not exported one by one, and those exported under another name.
_NOT_EXPORTED = frozenset(
    {
        "channel_input_dirs",
        "distribution_hosts",
        "job_name",
        "master_hostname",
        "topology",
        "is_master",
        "is_modelparallel_enabled",
        "is_smddpmprun_installed",
        "is_smddprun_installed",
    }
)
_EXPORT_NAMES = {"hyperparameters": "hps", "additional_framework_parameters": "framework_params"}


def sm_value(value: object) -> str:
    """A value as the toolkit writes it into the environment: strings plain, others compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# Shared ---------------------------------------------------------------------------------


def _entry_point(step: Step) -> str:
    """The script's path inside the code folder: relative to source_dir, or its file name."""
    assert step.script is not None
    if step.source_dir is not None:
        return step.script.relative_to(step.source_dir).as_posix()
    return step.script.name


def _processing_code_mounts(step: Step) -> list[Mount]:
    """Processing code, read-only: the whole source_dir, or just the one script file."""
    if step.script is None:
        return []
    if step.source_dir is not None:
        return [Mount(str(step.source_dir), PROCESSING_CODE, read_only=True)]
    return [Mount(str(step.script), f"{PROCESSING_CODE}/{step.script.name}", read_only=True)]


def _input_mounts(step: Step, inputs: Mapping[str, Path]) -> list[Mount]:
    mounts = []
    for channel, host_path in inputs.items():
        target = input_destination(step, channel)
        if host_path.is_file() and isinstance(step.inputs[channel].source, LocalSource):
            target = f"{target}/{host_path.name}"
        mounts.append(Mount(str(host_path), target, read_only=True))
    return mounts


def _container(
    step: Step,
    ctx: JobContext,
    name: str,
    mounts: list[Mount],
    *,
    env: dict[str, str],
    entrypoint: tuple[str, ...] | None,
    command: tuple[str, ...],
    working_dir: str | None,
    host: str = CURRENT_HOST,
    network: NetworkSpec | None = None,
) -> ContainerSpec:
    return ContainerSpec(
        name=name,
        image=ctx.image,
        entrypoint=entrypoint,
        command=command,
        env={**_base_env(ctx), **env},
        secret_env=dict(ctx.secrets),
        mounts=tuple(mounts),
        labels=dict(ctx.labels),
        network=step.network,
        network_name=network.name if network is not None else None,
        cpus=ctx.cpus,
        gpus=ctx.gpus,
        memory_bytes=ctx.memory_bytes,
        pids_limit=ctx.pids_limit,
        user=ctx.user,
        working_dir=working_dir,
        timeout_seconds=step.timeout_seconds,
        hostname=host,
    )


def _base_env(ctx: JobContext) -> dict[str, str]:
    """Unbuffered output for live logs; a writable HOME when running as the invoking user."""
    env = {"PYTHONUNBUFFERED": "1"}
    if ctx.user:
        env["HOME"] = "/tmp"
    return env


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"
