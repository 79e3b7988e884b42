"""``FakeSageMaker``: an in-memory ``SageMakerApi``, so code built on execution discovery is
tested without AWS and without patching: ``SageMakerDiscovery(api=FakeSageMaker())``.

    fake = FakeSageMaker()
    fake.add_training_step(arn, "train", "s3://bucket/exec/train/output/model.tar.gz")
    SageMakerDiscovery(api=fake).step_outputs(arn, "train").outputs["model"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ExecutionNotFound, StepWithoutData
from .discovery import ExecutionArn

_JOB_STATUS = {
    "Starting": "InProgress",
    "Executing": "InProgress",
    "Stopping": "Stopping",
    "Stopped": "Stopped",
    "Failed": "Failed",
    "Succeeded": "Completed",
}


class FakeSageMaker:
    """An in-memory ``SageMakerApi``: executions, their steps and jobs, as tests arrange them.

    ``calls`` records every call as ``(operation, argument)``.
    """

    def __init__(self) -> None:
        self.steps: dict[str, list[dict[str, Any]]] = {}
        self.processing_jobs: dict[str, dict[str, Any]] = {}
        self.training_jobs: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []

    def add_step(self, execution_arn: str, item: dict[str, Any]) -> None:
        """Add a raw ``PipelineExecutionSteps`` item (a Condition step, a cache hit...)."""
        self.steps.setdefault(execution_arn, []).append(item)

    def add_processing_step(
        self,
        execution_arn: str,
        step: str,
        outputs: Mapping[str, str],
        *,
        status: str = "Succeeded",
        job_name: str | None = None,
        failure_reason: str = "",
        job_status: str | None = None,
    ) -> None:
        """A processing step whose job wrote ``outputs`` (output name -> S3 URI).

        The job's status follows the step's (Succeeded -> Completed) unless ``job_status``.
        """
        name = job_name or _job_name(execution_arn, step)
        self.processing_jobs[name] = {
            "ProcessingJobName": name,
            "ProcessingJobStatus": job_status or _JOB_STATUS.get(status, status),
            "ProcessingOutputConfig": {
                "Outputs": [
                    {"OutputName": output, "S3Output": {"S3Uri": uri, "LocalPath": "/"}}
                    for output, uri in outputs.items()
                ]
            },
            **({"FailureReason": failure_reason} if failure_reason else {}),
        }
        self._add_job_step(execution_arn, step, "ProcessingJob", name, status, failure_reason)

    def add_training_step(
        self,
        execution_arn: str,
        step: str,
        model_uri: str,
        *,
        output_path: str | None = None,
        status: str = "Succeeded",
        job_name: str | None = None,
        failure_reason: str = "",
        job_status: str | None = None,
    ) -> None:
        """A training step whose job saved ``model_uri``; ``output_path`` is its
        ``OutputDataConfig.S3OutputPath`` (none: the job has no output data path)."""
        name = job_name or _job_name(execution_arn, step)
        job: dict[str, Any] = {
            "TrainingJobName": name,
            "TrainingJobStatus": job_status or _JOB_STATUS.get(status, status),
            "ModelArtifacts": {"S3ModelArtifacts": model_uri},
        }
        if output_path is not None:
            job["OutputDataConfig"] = {"S3OutputPath": output_path}
        if failure_reason:
            job["FailureReason"] = failure_reason
        self.training_jobs[name] = job
        self._add_job_step(execution_arn, step, "TrainingJob", name, status, failure_reason)

    def _add_job_step(
        self, execution_arn: str, step: str, key: str, name: str, status: str, reason: str
    ) -> None:
        arn = ExecutionArn.parse(execution_arn)
        resource = "processing-job" if key == "ProcessingJob" else "training-job"
        job_arn = f"arn:{arn.partition}:sagemaker:{arn.region}:{arn.account}:{resource}/{name}"
        item: dict[str, Any] = {
            "StepName": step,
            "StepStatus": status,
            "Metadata": {key: {"Arn": job_arn}},
            "AttemptCount": 1,
        }
        if reason:
            item["FailureReason"] = reason
        self.add_step(execution_arn, item)

    def pipeline_execution_steps(self, execution_arn: str) -> list[dict[str, Any]]:
        self.calls.append(("ListPipelineExecutionSteps", execution_arn))
        if execution_arn not in self.steps:
            raise ExecutionNotFound(f"no pipeline execution {execution_arn} (in memory)")
        return [dict(step) for step in self.steps[execution_arn]]

    def describe_processing_job(self, name: str) -> dict[str, Any]:
        self.calls.append(("DescribeProcessingJob", name))
        return _known(self.processing_jobs, "processing", name)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        self.calls.append(("DescribeTrainingJob", name))
        return _known(self.training_jobs, "training", name)


def _job_name(execution_arn: str, step: str) -> str:
    """Like SageMaker's: ``pipelines-<execution id>-<step>``, at most 63 characters."""
    execution_id = execution_arn.rpartition("/")[2]
    part = re.sub(r"[^A-Za-z0-9-]+", "-", step).strip("-") or "step"
    return f"pipelines-{execution_id}-{part}"[:63].rstrip("-")


def _known(jobs: dict[str, dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    if name not in jobs:
        raise StepWithoutData(f"{kind} job '{name}' was not found (in memory)")
    return dict(jobs[name])
