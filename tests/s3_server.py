"""A real S3-compatible server for tests: moto's server mode, as a separate process on loopback.

Registered for every test folder by ``tests/conftest.py``. Fixtures:

- ``moto_endpoint`` (session): starts ``python -m moto.server`` on a free loopback port, waits
  until it answers, stops it at the end; its value is the endpoint URL.
- ``s3_server`` (per test): an ``S3Server`` handle; points the AWS environment variables
  (endpoint, fake credentials, region) at the server for the test and hides the user's own AWS
  config and credentials files.

moto's server also answers SageMaker's job calls (create and describe processing and training
jobs), but not ListPipelineExecutionSteps: ``answer_execution_steps`` answers that one from a
canned list, on every SageMaker client ``s3.create_client`` makes.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY_ID = "testing-access-key"
SECRET_ACCESS_KEY = "testing-secret-key-never-printed"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account: the one in the ARNs it makes
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/cit-test-sagemaker"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/cit-test:latest"
_STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a moto S3 server running in its own process for the whole session."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("moto") / "server.log"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(process, endpoint, log_path)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], endpoint: str, log_path: Path) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not _answers(endpoint):
        if process.poll() is not None:
            pytest.fail(f"moto server exited ({process.returncode}): {log_path.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"moto server did not answer on {endpoint}: {log_path.read_text()}")
        time.sleep(0.05)


@functools.cache
def _setup_client(endpoint: str, service: str = "s3") -> Any:
    import boto3

    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


@dataclass(frozen=True)
class S3Server:
    """A running S3 server and a way to put test data on it."""

    endpoint: str

    def client(self) -> Any:
        """A plain boto3 S3 client for arranging test data."""
        return _setup_client(self.endpoint)

    def sagemaker(self) -> Any:
        """A plain boto3 SageMaker client on the server (for jobs; it has no pipeline steps)."""
        return _setup_client(self.endpoint, "sagemaker")

    def processing_job(self, name: str, outputs: Mapping[str, str]) -> str:
        """Create a (Completed) processing job writing ``outputs`` (name -> S3 URI); its ARN."""
        answer = self.sagemaker().create_processing_job(
            ProcessingJobName=name,
            ProcessingResources={"ClusterConfig": _CLUSTER},
            AppSpecification={"ImageUri": IMAGE},
            RoleArn=ROLE_ARN,
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": output,
                        "S3Output": {
                            "S3Uri": uri,
                            "LocalPath": f"/opt/ml/processing/{output}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for output, uri in outputs.items()
                ]
            },
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        return str(answer["ProcessingJobArn"])

    def training_job(self, name: str, output_path: str) -> str:
        """Create a (Completed) training job; moto puts its model at
        ``<output_path>/<name>/output/model.tar.gz``. Returns its ARN."""
        answer = self.sagemaker().create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=ROLE_ARN,
            OutputDataConfig={"S3OutputPath": output_path},
            ResourceConfig=_CLUSTER,
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        return str(answer["TrainingJobArn"])

    def bucket(self, files: Mapping[str, bytes | str] | None = None, name: str = "") -> str:
        """Create a bucket (a fresh unique name unless given) holding ``files`` (key -> body)."""
        name = name or f"cit-test-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name)
        self.put(name, files or {})
        return name

    def put(self, bucket: str, files: Mapping[str, bytes | str]) -> None:
        """Upload (or overwrite) ``files`` (key -> body) into ``bucket``."""
        client = self.client()

        def put(item: tuple[str, bytes | str]) -> None:
            key, body = item
            data = body.encode() if isinstance(body, str) else body
            client.put_object(Bucket=bucket, Key=key, Body=data)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(put, files.items()))


_CLUSTER = {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10}


def execution_arn(pipeline: str = "cit-test", execution_id: str = "") -> str:
    """A pipeline execution ARN in moto's region and account (a fresh id unless given)."""
    execution_id = execution_id or uuid.uuid4().hex[:12]
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{pipeline}/execution/{execution_id}"


def step_item(step: str, job_arn: str, status: str = "Succeeded") -> dict[str, Any]:
    """A ``PipelineExecutionSteps`` item for a step that ran the job ``job_arn``."""
    key = "TrainingJob" if ":training-job/" in job_arn else "ProcessingJob"
    return {"StepName": step, "StepStatus": status, "Metadata": {key: {"Arn": job_arn}}}


@dataclass(frozen=True)
class _Answer:
    """The HTTP side of a canned botocore answer: only its status is read."""

    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""


def answer_execution_steps(
    monkeypatch: pytest.MonkeyPatch, steps_by_arn: Mapping[str, list[dict[str, Any]]]
) -> list[str]:
    """Make the SageMaker clients ``s3.create_client`` makes answer ListPipelineExecutionSteps
    from ``steps_by_arn`` (execution ARN -> its ``PipelineExecutionSteps`` items), in one page;
    an ARN not in it gets ResourceNotFound. Other calls go to the server as usual.

    Returns the list of execution ARNs asked for, one entry per request.
    """
    from orchestrator.aws import s3

    asked: list[str] = []
    original = s3.create_client
    operation = "sagemaker.ListPipelineExecutionSteps"

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["cit_execution_arn"] = params.get("PipelineExecutionArn", "")

    def answer(context: dict[str, Any], **_: Any) -> tuple[_Answer, dict[str, Any]]:
        arn = str(context.get("cit_execution_arn", ""))
        asked.append(arn)
        if arn not in steps_by_arn:
            error = {"Code": "ResourceNotFound", "Message": f"Pipeline execution {arn} not found"}
            return _Answer(400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        steps = [dict(step) for step in steps_by_arn[arn]]
        return _Answer(200), {
            "PipelineExecutionSteps": steps,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def create(settings: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(settings, *args, **kwargs)
        if client.meta.service_model.service_name == "sagemaker":
            client.meta.events.register(f"before-parameter-build.{operation}", remember)
            client.meta.events.register(f"before-call.{operation}", answer)
        return client

    monkeypatch.setattr(s3, "create_client", create)
    return asked


@pytest.fixture
def s3_server(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> S3Server:
    """The session's server, with the AWS environment of this test pointing at it."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return S3Server(endpoint=moto_endpoint)
