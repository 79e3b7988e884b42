"""Execution discovery (orchestrator.aws.discovery) on the in-memory FakeSageMaker."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator.aws.discovery import ExecutionArn, SageMakerDiscovery, StepOutputs
from orchestrator.aws.fake_sagemaker import FakeSageMaker
from orchestrator.errors import (
    CitError,
    ExecutionError,
    ExecutionNotFound,
    StepFailed,
    StepNotFinished,
    StepNotFound,
    StepWithoutData,
)

ARN = "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/churn/execution/abc123def456"
EARLIER = "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/churn/execution/0ld0ld0ld0ld"
JOB_ARN = "arn:aws:sagemaker:eu-west-1:111122223333:processing-job/"


@pytest.fixture
def fake() -> FakeSageMaker:
    return FakeSageMaker()


def outputs(fake: FakeSageMaker, step: str, arn: str = ARN) -> StepOutputs:
    return SageMakerDiscovery(api=fake).step_outputs(arn, step)


# -- ARNs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "partition", "region"),
    [
        (ARN, "aws", "eu-west-1"),
        (
            "arn:aws-cn:sagemaker:cn-north-1:111122223333:pipeline/churn/execution/abc",
            "aws-cn",
            "cn-north-1",
        ),
        (
            "arn:aws-us-gov:sagemaker:us-gov-west-1:111122223333:pipeline/a-b/execution/x1",
            "aws-us-gov",
            "us-gov-west-1",
        ),
    ],
)
def test_parse_execution_arns(text: str, partition: str, region: str) -> None:
    arn = ExecutionArn.parse(text)
    assert (arn.partition, arn.region, arn.account) == (partition, region, "111122223333")
    assert str(arn) == text


def test_parse_splits_pipeline_and_execution_id() -> None:
    arn = ExecutionArn.parse(ARN)
    assert (arn.pipeline, arn.execution_id) == ("churn", "abc123def456")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "churn/execution/abc",
        "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/churn",
        "arn:aws:sagemaker:eu-west-1:1111:pipeline/churn/execution/abc",
        "arn:aws:s3:eu-west-1:111122223333:pipeline/churn/execution/abc",
        "arn:azure:sagemaker:eu-west-1:111122223333:pipeline/churn/execution/abc",
        "arn:aws:sagemaker:eu-west-1:111122223333:processing-job/churn",
        ARN + "/extra",
    ],
)
def test_bad_arns_say_the_expected_shape_in_one_line(text: str) -> None:
    with pytest.raises(ExecutionError) as caught:
        ExecutionArn.parse(text)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(text) in message
    assert "pipeline/<name>/execution/<id>" in message
    assert "aws sagemaker list-pipeline-executions --pipeline-name NAME" in message


def test_errors_are_cit_errors_with_exit_code_2() -> None:
    for error in (ExecutionNotFound, StepNotFound, StepFailed, StepWithoutData):
        assert issubclass(error, ExecutionError)
    assert issubclass(ExecutionError, CitError)
    assert ExecutionError("x").exit_code == 2


def test_importing_executions_loads_no_boto3() -> None:
    code = "import sys, orchestrator.aws.discovery; print('boto3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# -- outputs ----------------------------------------------------------------------------------


def test_processing_step_gives_each_s3_output_by_name(fake: FakeSageMaker) -> None:
    written = {"train": "s3://bucket/prep/train", "test": "s3://bucket/prep/test"}
    fake.add_processing_step(ARN, "Preprocess", written, job_name="pipelines-abc-Preprocess")
    found = outputs(fake, "Preprocess")
    assert found == StepOutputs(
        execution_arn=ARN,
        step_name="Preprocess",
        job_kind="processing",
        job_name="pipelines-abc-Preprocess",
        outputs=written,
    )
    assert found.optional == []


def test_training_step_gives_the_model_and_optional_output_data(fake: FakeSageMaker) -> None:
    model = "s3://bucket/train/job-1/output/model.tar.gz"
    fake.add_training_step(ARN, "Train", model, output_path="s3://bucket/train/", job_name="job-1")
    found = outputs(fake, "Train")
    assert found.job_kind == "training"
    assert found.outputs == {
        "model": model,
        "output_data": "s3://bucket/train/job-1/output/output.tar.gz",
    }
    assert found.optional == ["output_data"]


def test_training_job_without_output_path_gives_only_the_model(fake: FakeSageMaker) -> None:
    fake.add_training_step(ARN, "Train", "s3://bucket/m/model.tar.gz")
    found = outputs(fake, "Train")
    assert found.outputs == {"model": "s3://bucket/m/model.tar.gz"}
    assert found.optional == []


def test_step_outputs_are_frozen(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Prep", {"out": "s3://bucket/out"})
    found = outputs(fake, "Prep")
    with pytest.raises(ValueError):
        found.job_name = "other"


def test_feature_store_outputs_are_skipped(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Prep", {"train": "s3://bucket/train"}, job_name="prep")
    fake.processing_jobs["prep"]["ProcessingOutputConfig"]["Outputs"].append(
        {"OutputName": "features", "FeatureStoreOutput": {"FeatureGroupName": "g"}}
    )
    assert outputs(fake, "Prep").outputs == {"train": "s3://bucket/train"}


def test_processing_job_with_only_feature_store_outputs_has_no_data(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Ingest", {}, job_name="ingest")
    fake.processing_jobs["ingest"]["ProcessingOutputConfig"]["Outputs"] = [
        {"OutputName": "features", "FeatureStoreOutput": {"FeatureGroupName": "g"}}
    ]
    with pytest.raises(StepWithoutData, match=r"processing job 'ingest', which writes no S3"):
        outputs(fake, "Ingest")


# -- steps that give nothing ------------------------------------------------------------------


def test_unknown_step_lists_the_steps_the_execution_has(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Preprocess", {"out": "s3://bucket/out"})
    fake.add_training_step(ARN, "Train", "s3://bucket/model.tar.gz")
    with pytest.raises(StepNotFound) as caught:
        outputs(fake, "Evaluate")
    assert str(caught.value) == (
        f"pipeline execution {ARN} has no step 'Evaluate'; its steps: Preprocess, Train"
    )


def test_unknown_execution(fake: FakeSageMaker) -> None:
    with pytest.raises(ExecutionNotFound, match="abc123def456"):
        outputs(fake, "Train")


@pytest.mark.parametrize("status", ["Starting", "Executing", "Stopping"])
def test_step_still_running(fake: FakeSageMaker, status: str) -> None:
    fake.add_training_step(ARN, "Train", "s3://bucket/model.tar.gz", status=status)
    with pytest.raises(StepNotFinished) as caught:
        outputs(fake, "Train")
    assert str(caught.value) == (
        f"step 'Train' of {ARN} is still {status.lower()}; run again when it has succeeded"
    )
    assert fake.calls == [("ListPipelineExecutionSteps", ARN)]  # no job described


def test_failed_step_gives_its_reason(fake: FakeSageMaker) -> None:
    reason = "AlgorithmError: ExecuteUserScriptError: exit code 1"
    fake.add_processing_step(ARN, "Prep", {}, status="Failed", failure_reason=reason)
    with pytest.raises(StepFailed) as caught:
        outputs(fake, "Prep")
    assert str(caught.value) == f"step 'Prep' of {ARN} failed: {reason}"


def test_stopped_step(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Prep", {}, status="Stopped")
    with pytest.raises(StepFailed, match=r"was stopped: no reason given"):
        outputs(fake, "Prep")


def test_condition_step_has_no_data(fake: FakeSageMaker) -> None:
    fake.add_step(
        ARN,
        {
            "StepName": "CheckAccuracy",
            "StepStatus": "Succeeded",
            "Metadata": {"Condition": {"Outcome": "True"}},
        },
    )
    with pytest.raises(StepWithoutData) as caught:
        outputs(fake, "CheckAccuracy")
    assert "is a Condition step: it runs no processing or training job" in str(caught.value)


def test_step_without_metadata_has_no_data(fake: FakeSageMaker) -> None:
    fake.add_step(ARN, {"StepName": "Register", "StepStatus": "Succeeded"})
    with pytest.raises(StepWithoutData, match="is a step without a job"):
        outputs(fake, "Register")


@pytest.mark.parametrize(
    ("job_status", "error", "words"),
    [
        ("InProgress", StepNotFinished, "training job 'job-7' is still InProgress"),
        ("Failed", StepFailed, "training job 'job-7' is Failed: out of memory"),
        ("Stopped", StepFailed, "training job 'job-7' is Stopped: out of memory"),
    ],
)
def test_job_must_be_completed(
    fake: FakeSageMaker, job_status: str, error: type[ExecutionError], words: str
) -> None:
    fake.add_training_step(
        ARN,
        "Train",
        "s3://bucket/model.tar.gz",
        job_name="job-7",
        job_status=job_status,
        failure_reason="out of memory",
    )
    with pytest.raises(error) as caught:
        outputs(fake, "Train")
    assert str(caught.value).startswith(f"step 'Train' of {ARN}: ")
    assert words in str(caught.value)


def test_job_that_is_gone(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Prep", {"out": "s3://bucket/out"}, job_name="prep-1")
    del fake.processing_jobs["prep-1"]
    with pytest.raises(StepWithoutData) as caught:
        outputs(fake, "Prep")
    assert str(caught.value).startswith(f"step 'Prep' of {ARN}: processing job 'prep-1'")


# -- cache hits -------------------------------------------------------------------------------


def test_cache_hit_naming_its_job_gives_that_jobs_outputs(fake: FakeSageMaker) -> None:
    fake.add_processing_step(EARLIER, "Prep", {"out": "s3://bucket/old/out"}, job_name="old-prep")
    fake.add_step(
        ARN,
        {
            "StepName": "Prep",
            "StepStatus": "Succeeded",
            "CacheHitResult": {"SourcePipelineExecutionArn": EARLIER},
            "Metadata": {"ProcessingJob": {"Arn": JOB_ARN + "old-prep"}},
        },
    )
    found = outputs(fake, "Prep")
    assert (found.job_name, found.outputs) == ("old-prep", {"out": "s3://bucket/old/out"})
    assert found.execution_arn == ARN
    assert ("ListPipelineExecutionSteps", EARLIER) not in fake.calls


def test_cache_hit_without_metadata_follows_the_source_execution(fake: FakeSageMaker) -> None:
    fake.add_processing_step(EARLIER, "Prep", {"out": "s3://bucket/old/out"}, job_name="old-prep")
    fake.add_step(
        ARN,
        {"StepName": "Prep", "CacheHitResult": {"SourcePipelineExecutionArn": EARLIER}},
    )
    found = outputs(fake, "Prep")
    assert found.job_name == "old-prep"
    assert fake.calls[:2] == [
        ("ListPipelineExecutionSteps", ARN),
        ("ListPipelineExecutionSteps", EARLIER),
    ]


def test_cache_hits_pointing_at_each_other_stop(fake: FakeSageMaker) -> None:
    fake.add_step(ARN, {"StepName": "Prep", "CacheHitResult": {"SourcePipelineExecutionArn": ARN}})
    with pytest.raises(StepWithoutData, match="more than 10 executions"):
        outputs(fake, "Prep")


# -- calls ------------------------------------------------------------------------------------


def test_steps_are_listed_once_per_execution(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Prep", {"out": "s3://bucket/out"})
    fake.add_training_step(ARN, "Train", "s3://bucket/model.tar.gz")
    fake.add_training_step(EARLIER, "Train", "s3://bucket/old/model.tar.gz")
    discovery = SageMakerDiscovery(api=fake)
    discovery.step_outputs(ARN, "Prep")
    discovery.step_outputs(ARN, "Train")
    discovery.step_outputs(EARLIER, "Train")
    with pytest.raises(StepNotFound):
        discovery.step_outputs(ARN, "Evaluate")
    listings = [arg for op, arg in fake.calls if op == "ListPipelineExecutionSteps"]
    assert listings == [ARN, EARLIER]
    assert [op for op, _ in fake.calls].count("DescribeTrainingJob") == 2


def test_fake_describes_unknown_jobs_as_without_data(fake: FakeSageMaker) -> None:
    with pytest.raises(StepWithoutData, match="training job 'nope'"):
        fake.describe_training_job("nope")
    with pytest.raises(StepWithoutData, match="processing job 'nope'"):
        fake.describe_processing_job("nope")


def test_fake_names_jobs_like_sagemaker(fake: FakeSageMaker) -> None:
    fake.add_processing_step(ARN, "Pre process", {"out": "s3://bucket/out"})
    assert outputs(fake, "Pre process").job_name == "pipelines-abc123def456-Pre-process"
