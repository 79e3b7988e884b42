"""orchestrator.aws.s3.SageMakerClient: ListPipelineExecutionSteps under botocore's Stubber (moto's
server lacks it), the job descriptions against the moto server, and discovery end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from orchestrator.aws import s3
from orchestrator.aws.discovery import SageMakerDiscovery, StepOutputs
from orchestrator.aws.s3 import S3Settings, SageMakerClient
from orchestrator.errors import (
    ExecutionError,
    ExecutionNotFound,
    SageMakerUnavailable,
    StepFailed,
    StepWithoutData,
)
from tests.s3_server import (
    REGION,
    SECRET_ACCESS_KEY,
    S3Server,
    answer_execution_steps,
    execution_arn,
    free_port,
    step_item,
)

ARN = execution_arn(execution_id="stub0000exec")


@pytest.fixture
def settings(tmp_path: Path) -> S3Settings:
    return S3Settings(cache_dir=tmp_path / "cache")


@pytest.fixture
def stubbed(s3_server: S3Server, settings: S3Settings) -> Iterator[tuple[SageMakerClient, Stubber]]:
    """A ``SageMakerClient`` whose boto3 client answers from a Stubber, never the server."""
    client = s3.create_client(settings, "sagemaker", REGION)
    with Stubber(client) as stubber:
        yield SageMakerClient(settings, REGION, client=client), stubber
        stubber.assert_no_pending_responses()


def step(name: str, job: str = "job") -> dict[str, Any]:
    return step_item(name, f"arn:aws:sagemaker:{REGION}:123456789012:processing-job/{job}")


def reject(stubber: Stubber, code: str, message: str = "", status: int = 400) -> None:
    """Queue an error answer to the next ListPipelineExecutionSteps."""
    stubber.add_client_error(
        "list_pipeline_execution_steps",
        service_error_code=code,
        service_message=message,
        http_status_code=status,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- the client seam --------------------------------------------------------------------------


def test_create_client_makes_sagemaker_clients_in_the_region_asked(
    s3_server: S3Server, settings: S3Settings
) -> None:
    client = s3.create_client(settings, "sagemaker", "eu-west-1")
    assert client.meta.service_model.service_name == "sagemaker"
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == s3_server.endpoint
    assert s3.create_client(settings).meta.service_model.service_name == "s3"
    assert s3.create_client(settings).meta.region_name == REGION


def test_the_s3_endpoint_setting_is_not_used_for_sagemaker(
    s3_server: S3Server, settings: S3Settings
) -> None:
    minio = settings.model_copy(update={"endpoint_url": "http://127.0.0.1:9"})
    assert s3.create_client(minio).meta.endpoint_url == "http://127.0.0.1:9"
    assert s3.create_client(minio, "sagemaker").meta.endpoint_url == s3_server.endpoint


# -- ListPipelineExecutionSteps (Stubber) -------------------------------------------------------


def test_steps_of_all_pages_are_joined(stubbed: tuple[SageMakerClient, Stubber]) -> None:
    api, stubber = stubbed
    first = {"PipelineExecutionArn": ARN, "MaxResults": 100}
    stubber.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": [step("Evaluate"), step("Train")], "NextToken": "page-2"},
        first,
    )
    stubber.add_response(
        "list_pipeline_execution_steps",
        {"PipelineExecutionSteps": [step("Preprocess")]},
        {**first, "NextToken": "page-2"},
    )
    steps = api.pipeline_execution_steps(ARN)
    assert [s["StepName"] for s in steps] == ["Evaluate", "Train", "Preprocess"]


@pytest.mark.parametrize(
    ("code", "answer", "error", "message"),
    [
        (
            "ResourceNotFound",
            "Pipeline execution not found",
            ExecutionNotFound,
            f"no pipeline execution {ARN} in region {REGION} (endpoint ",
        ),
        (
            "ValidationException",
            f"Pipeline execution {ARN} does not exist.",
            ExecutionNotFound,
            f"no pipeline execution {ARN} in region {REGION} (endpoint ",
        ),
        (
            "ValidationException",
            "1 validation error detected",
            ExecutionError,
            f"listing the steps of pipeline execution {ARN} failed: ValidationException "
            "(HTTP 400) 1 validation error detected",
        ),
    ],
)
def test_error_answers(
    stubbed: tuple[SageMakerClient, Stubber],
    code: str,
    answer: str,
    error: type[ExecutionError],
    message: str,
) -> None:
    api, stubber = stubbed
    reject(stubber, code, answer)
    with pytest.raises(ExecutionError) as caught:
        api.pipeline_execution_steps(ARN)
    assert type(caught.value) is error
    assert str(caught.value).startswith(message)
    if error is ExecutionNotFound:
        hint = "`aws sagemaker list-pipeline-executions --pipeline-name NAME` lists them"
        assert str(caught.value).endswith(hint)


def test_access_denied_names_permissions_and_credential_source(
    stubbed: tuple[SageMakerClient, Stubber],
) -> None:
    api, stubber = stubbed
    reject(stubber, "AccessDeniedException", "User is not authorized")
    with pytest.raises(SageMakerUnavailable) as caught:
        api.pipeline_execution_steps(ARN)
    message = str(caught.value)
    assert message == (
        f"access denied (AccessDeniedException) while listing the steps of pipeline execution "
        f"{ARN}, with credentials from the environment (AWS_ACCESS_KEY_ID); they need "
        "sagemaker:ListPipelineExecutionSteps, sagemaker:DescribeProcessingJob and "
        f"sagemaker:DescribeTrainingJob in region {REGION}"
    )
    assert SECRET_ACCESS_KEY not in message


def test_throttling_is_retried(stubbed: tuple[SageMakerClient, Stubber]) -> None:
    api, stubber = stubbed
    reject(stubber, "ThrottlingException")
    reject(stubber, "InternalFailure", status=500)
    stubber.add_response("list_pipeline_execution_steps", {"PipelineExecutionSteps": [step("A")]})
    assert [s["StepName"] for s in api.pipeline_execution_steps(ARN)] == ["A"]


def always_throttled(settings: S3Settings, **update: Any) -> str:
    """The message of listing steps while SageMaker answers only ThrottlingException."""
    settings = settings.model_copy(update=update)
    client = s3.create_client(settings, "sagemaker", REGION)
    with Stubber(client) as stubber:
        for _ in range(settings.retry_attempts):
            reject(stubber, "ThrottlingException")
        with pytest.raises(SageMakerUnavailable) as caught:
            SageMakerClient(settings, REGION, client=client).pipeline_execution_steps(ARN)
    return str(caught.value)


def test_retries_run_out(s3_server: S3Server, settings: S3Settings) -> None:
    message = always_throttled(settings, retry_attempts=2)
    assert message == (
        f"listing the steps of pipeline execution {ARN} failed after 2 attempts: "
        f"ThrottlingException (HTTP 400); SageMaker at {s3_server.endpoint} is busy or failing, "
        "run again later"
    )


def test_the_whole_listing_is_bounded_in_time(s3_server: S3Server, settings: S3Settings) -> None:
    message = always_throttled(settings, retry_attempts=20, download_timeout_seconds=0.5)
    assert message == (
        f"timed out after 0.5 s listing the steps of pipeline execution {ARN} at "
        f"{s3_server.endpoint} (raise download_timeout_seconds or check the endpoint)"
    )


def test_unreachable_endpoint(
    s3_server: S3Server, settings: S3Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", endpoint)
    settings = settings.model_copy(update={"retry_attempts": 1})
    with pytest.raises(SageMakerUnavailable) as caught:
        SageMakerClient(settings, REGION).describe_training_job("any")
    assert str(caught.value).startswith(
        f"cannot reach the SageMaker endpoint {endpoint} while describing training job 'any' "
        "(1 attempt); check AWS_ENDPOINT_URL"
    )


def test_unknown_profile(s3_server: S3Server, settings: S3Settings) -> None:
    settings = settings.model_copy(update={"profile": "no-such-profile"})
    with pytest.raises(SageMakerUnavailable, match="AWS profile 'no-such-profile'"):
        SageMakerClient(settings, REGION)


# -- job descriptions (moto server) -------------------------------------------------------------


def test_describe_training_job(s3_server: S3Server, settings: S3Settings) -> None:
    name = unique("train")
    s3_server.training_job(name, "s3://models/runs")
    job = SageMakerClient(settings, REGION).describe_training_job(name)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == (
        f"s3://models/runs/{name}/output/model.tar.gz"
    )


def test_describe_processing_job(s3_server: S3Server, settings: S3Settings) -> None:
    name = unique("prep")
    s3_server.processing_job(name, {"train": "s3://data/prep/train"})
    job = SageMakerClient(settings, REGION).describe_processing_job(name)
    assert job["ProcessingJobStatus"] == "Completed"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == (
        "s3://data/prep/train"
    )


@pytest.mark.parametrize("kind", ["processing", "training"])
def test_a_missing_job_is_without_data(
    s3_server: S3Server, settings: S3Settings, kind: str
) -> None:
    api = SageMakerClient(settings, REGION)
    describe = api.describe_processing_job if kind == "processing" else api.describe_training_job
    with pytest.raises(StepWithoutData) as caught:
        describe("gone-job")
    message = str(caught.value)
    assert message.startswith(f"its {kind} job 'gone-job' is gone (region {REGION}, endpoint ")
    assert "Could not find" in message


# -- discovery end to end -----------------------------------------------------------------------


def test_discovery_with_an_injected_client(s3_server: S3Server, settings: S3Settings) -> None:
    name = unique("train")
    job_arn = s3_server.training_job(name, "s3://models/runs/")
    canned = {"PipelineExecutionSteps": [step_item("Train", job_arn)]}
    asked: list[str] = []

    def answer(**_: Any) -> tuple[Any, dict[str, Any]]:
        asked.append("ListPipelineExecutionSteps")

        class Http:
            status_code = 200

        return Http(), canned

    client = s3.create_client(settings, "sagemaker", REGION)
    client.meta.events.register("before-call.sagemaker.ListPipelineExecutionSteps", answer)
    api = SageMakerClient(settings, REGION, client=client)
    found = SageMakerDiscovery(settings, api=api).step_outputs(ARN, "Train")
    assert found == StepOutputs(
        execution_arn=ARN,
        step_name="Train",
        job_kind="training",
        job_name=name,
        outputs={
            "model": f"s3://models/runs/{name}/output/model.tar.gz",
            "output_data": f"s3://models/runs/{name}/output/output.tar.gz",
        },
        optional=["output_data"],
    )
    assert asked == ["ListPipelineExecutionSteps"]


def test_discovery_without_an_api_makes_its_own_clients(
    s3_server: S3Server, settings: S3Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    prep, train = unique("prep"), unique("train")
    prep_arn = s3_server.processing_job(prep, {"train": "s3://data/prep/train"})
    train_arn = s3_server.training_job(train, "s3://models/runs")
    steps = [step_item("Prep", prep_arn), step_item("Train", train_arn)]
    asked = answer_execution_steps(monkeypatch, {ARN: steps})
    made: list[tuple[Any, ...]] = []
    wrapped = s3.create_client

    def create(settings: S3Settings, *args: Any, **kwargs: Any) -> Any:
        made.append(args)
        return wrapped(settings, *args, **kwargs)

    monkeypatch.setattr(s3, "create_client", create)
    discovery = SageMakerDiscovery(settings)
    assert discovery.step_outputs(ARN, "Prep").outputs == {"train": "s3://data/prep/train"}
    model = discovery.step_outputs(ARN, "Train").outputs["model"]
    assert model == f"s3://models/runs/{train}/output/model.tar.gz"
    assert asked == [ARN]
    assert made == [("sagemaker", REGION)]


def test_discovery_of_an_unknown_execution_and_a_failed_step(
    s3_server: S3Server, settings: S3Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = {**step_item("Train", "x"), "StepStatus": "Failed", "FailureReason": "OOM"}
    answer_execution_steps(monkeypatch, {ARN: [failed]})
    discovery = SageMakerDiscovery(settings)
    with pytest.raises(ExecutionNotFound, match=f"no pipeline execution {execution_arn('p', 'x')}"):
        discovery.step_outputs(execution_arn("p", "x"), "Train")
    with pytest.raises(StepFailed, match=r"step 'Train' of .* failed: OOM"):
        discovery.step_outputs(ARN, "Train")
