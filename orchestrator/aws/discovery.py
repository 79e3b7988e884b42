"""What a step of a SageMaker pipeline execution wrote to S3 (``--pipeline-execution ARN``).

``SageMakerDiscovery.step_outputs(arn, step)`` lists the execution's steps (once per execution),
checks that the step succeeded, describes its processing or training job and returns the job's
S3 outputs as ``StepOutputs``: a processing job's ``ProcessingOutputConfig`` outputs by name, a
training job's model artifact (``model``) and its output data archive (``output_data``, which
exists only when the job wrote ``/opt/ml/output/data``).

This module holds the logic only; the SageMaker calls are ``s3.SageMakerClient`` (the one module
that uses boto3), or ``fake_sagemaker.FakeSageMaker`` in memory for tests. The errors are the
``ExecutionError`` family of ``orchestrator.errors``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from ..errors import ExecutionError, StepFailed, StepNotFinished, StepNotFound, StepWithoutData
from . import s3

if TYPE_CHECKING:
    from .s3 import S3Settings

JobKind = Literal["processing", "training"]

_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):sagemaker:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):"
    r"(?P<account>\d{12}):pipeline/(?P<pipeline>[A-Za-z0-9](?:-*[A-Za-z0-9])*)"
    r"/execution/(?P<execution_id>[A-Za-z0-9]+)"
)
_RUNNING = frozenset({"Starting", "Executing", "Stopping"})
_ENDED_BADLY = frozenset({"Failed", "Stopped"})
_JOB_RUNNING = frozenset({"InProgress", "Stopping"})
_MAX_CACHE_HOPS = 10  # a cache hit points at an earlier execution; never follow a loop


# -- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionArn:
    """``arn:<partition>:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>``."""

    partition: str
    region: str
    account: str
    pipeline: str
    execution_id: str

    @classmethod
    def parse(cls, text: str) -> ExecutionArn:
        """Parse ``text``; ``ExecutionError`` says in one line what shape is expected."""
        match = _ARN.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ExecutionError(
                f"not a pipeline execution ARN: {text!r} (expected arn:aws:sagemaker:<region>:"
                "<account>:pipeline/<name>/execution/<id>; `aws sagemaker "
                "list-pipeline-executions --pipeline-name NAME` lists them)"
            )
        return cls(**match.groupdict())

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:"
            f"pipeline/{self.pipeline}/execution/{self.execution_id}"
        )


class StepOutputs(BaseModel):
    """The S3 outputs of one step's job: output name -> ``s3://`` URI."""

    model_config = ConfigDict(frozen=True)

    execution_arn: str
    step_name: str
    job_kind: JobKind
    job_name: str
    outputs: dict[str, str]
    optional: list[str] = []
    """Outputs that may not exist in S3 (a training job's ``output_data``)."""


class SageMakerApi(Protocol):
    """The three SageMaker calls discovery needs; they return the raw API dicts."""

    def pipeline_execution_steps(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every ``PipelineExecutionSteps`` item of ListPipelineExecutionSteps, all pages."""
        ...

    def describe_processing_job(self, name: str) -> dict[str, Any]: ...

    def describe_training_job(self, name: str) -> dict[str, Any]: ...


class ExecutionDiscovery(Protocol):
    """Finds what a step of a pipeline execution wrote."""

    def step_outputs(self, execution_arn: str, step_name: str) -> StepOutputs: ...


# -- discovery --------------------------------------------------------------------------------


class SageMakerDiscovery:
    """``ExecutionDiscovery`` through the SageMaker API (``api``, or one client per region)."""

    def __init__(self, settings: S3Settings | None = None, *, api: SageMakerApi | None = None):
        self._settings = settings
        self._api = api
        self._clients: dict[str, SageMakerApi] = {}
        self._steps: dict[str, list[dict[str, Any]]] = {}

    def step_outputs(self, execution_arn: str, step_name: str) -> StepOutputs:
        """The outputs of ``step_name``'s job in the execution; an ``ExecutionError`` if none."""
        arn = ExecutionArn.parse(execution_arn)
        kind, job_name = _job(self._job_arn(arn, step_name))
        where = f"step '{step_name}' of {arn}"
        try:
            job = self._describe(arn, kind, job_name)
        except StepWithoutData as exc:
            raise StepWithoutData(f"{where}: {exc}") from exc
        _check_job(where, kind, job_name, job)
        outputs, optional = _outputs(kind, job_name, job)
        if not outputs:
            raise StepWithoutData(
                f"{where} ran {kind} job '{job_name}', which writes no S3 outputs "
                "(only Feature Store or none); name a step with S3 outputs"
            )
        return StepOutputs(
            execution_arn=str(arn),
            step_name=step_name,
            job_kind=kind,
            job_name=job_name,
            outputs=outputs,
            optional=optional,
        )

    def _job_arn(self, arn: ExecutionArn, step_name: str) -> str:
        """The ARN of the job a finished step ran, following cache hits to their source."""
        for _ in range(_MAX_CACHE_HOPS):
            step = self._step(arn, step_name)
            source = (step.get("CacheHitResult") or {}).get("SourcePipelineExecutionArn")
            if not source:
                _check_step(arn, step)
            job_arn = _job_arn(step)
            if job_arn:
                return job_arn
            if not source:
                raise StepWithoutData(
                    f"step '{step_name}' of {arn} is {_kind_of(step)}: it runs no processing or "
                    "training job, so it has no S3 outputs to test; name a processing or "
                    "training step"
                )
            arn = ExecutionArn.parse(source)
        raise StepWithoutData(
            f"step '{step_name}' of {arn} reuses cached results through more than "
            f"{_MAX_CACHE_HOPS} executions; name the execution that ran it"
        )

    def _step(self, arn: ExecutionArn, step_name: str) -> dict[str, Any]:
        steps = self._execution_steps(arn)
        for step in steps:
            if step.get("StepName") == step_name:
                return step
        names = sorted({str(s.get("StepName")) for s in steps})
        have = f"its steps: {', '.join(names)}" if names else "it has no steps yet"
        raise StepNotFound(f"pipeline execution {arn} has no step '{step_name}'; {have}")

    def _execution_steps(self, arn: ExecutionArn) -> list[dict[str, Any]]:
        key = str(arn)
        if key not in self._steps:
            self._steps[key] = self._client(arn).pipeline_execution_steps(key)
        return self._steps[key]

    def _describe(self, arn: ExecutionArn, kind: JobKind, name: str) -> dict[str, Any]:
        api = self._client(arn)
        if kind == "processing":
            return api.describe_processing_job(name)
        return api.describe_training_job(name)

    def _client(self, arn: ExecutionArn) -> SageMakerApi:
        if self._api is not None:
            return self._api
        if arn.region not in self._clients:

            settings = self._settings or s3.S3Settings()
            self._clients[arn.region] = s3.SageMakerClient(settings, region=arn.region)
        return self._clients[arn.region]


def _check_step(arn: ExecutionArn, step: dict[str, Any]) -> None:
    name, status = step.get("StepName"), str(step.get("StepStatus", ""))
    if status in _RUNNING:
        raise StepNotFinished(
            f"step '{name}' of {arn} is still {status.lower()}; run again when it has succeeded"
        )
    if status in _ENDED_BADLY:
        reason = step.get("FailureReason") or "no reason given"
        verb = "failed" if status == "Failed" else "was stopped"
        raise StepFailed(f"step '{name}' of {arn} {verb}: {reason}")


def _job_arn(step: dict[str, Any]) -> str:
    metadata = step.get("Metadata") or {}
    for key in ("ProcessingJob", "TrainingJob"):
        arn = (metadata.get(key) or {}).get("Arn")
        if arn:
            return str(arn)
    return ""


def _kind_of(step: dict[str, Any]) -> str:
    """What kind of step it is, from its metadata: 'a Condition step'."""
    kinds = [key for key, value in (step.get("Metadata") or {}).items() if value is not None]
    if not kinds:
        return "a step without a job"
    return f"a {kinds[0]} step"


def _job(job_arn: str) -> tuple[JobKind, str]:
    """``arn:...:processing-job/NAME`` -> ('processing', 'NAME')."""
    resource, _, name = job_arn.rpartition("/")
    kind: JobKind = "training" if resource.endswith("training-job") else "processing"
    return kind, name


def _check_job(where: str, kind: JobKind, name: str, job: dict[str, Any]) -> None:
    status = str(job.get("ProcessingJobStatus" if kind == "processing" else "TrainingJobStatus"))
    if status == "Completed":
        return
    if status in _JOB_RUNNING:
        raise StepNotFinished(
            f"{where}: {kind} job '{name}' is still {status}; run again when it has succeeded"
        )
    reason = job.get("FailureReason") or "no reason given"
    raise StepFailed(f"{where}: {kind} job '{name}' is {status}: {reason}")


def _outputs(kind: JobKind, name: str, job: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    if kind == "processing":
        found = (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        return {
            str(o["OutputName"]): str(o["S3Output"]["S3Uri"])
            for o in found
            if (o.get("S3Output") or {}).get("S3Uri")
        }, []
    outputs: dict[str, str] = {}
    model = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if model:
        outputs["model"] = str(model)
    path = (job.get("OutputDataConfig") or {}).get("S3OutputPath")
    if not path:
        return outputs, []
    outputs["output_data"] = f"{str(path).rstrip('/')}/{name}/output/output.tar.gz"
    return outputs, ["output_data"]
