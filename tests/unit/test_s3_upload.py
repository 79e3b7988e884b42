"""Uploads, prefix deletion and per-run test environments in S3, against a real S3-compatible
server (moto, a separate process on loopback); and ``cit run --upload-outputs``."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.aws import s3
from orchestrator.aws.s3 import S3Settings, delete_prefix, upload_folder
from orchestrator.cli import command as cli
from orchestrator.cli.app import app
from orchestrator.run.settings import RUNNER_IMAGE
from tests.s3_server import SECRET_ACCESS_KEY, S3Server

from ..runs import run_dirs
from .conftest import write
from .test_s3 import Hook, deny, fail_first, hooks, slow_down

__all__ = ["hooks"]  # a fixture used here

STAMPED = r"\d{8}-\d{6}-[0-9a-f]{8}/"


@pytest.fixture
def settings(tmp_path: Path) -> S3Settings:
    return S3Settings(cache_dir=tmp_path / "cache", download_timeout_seconds=60)


def keys(server: S3Server, bucket: str, prefix: str = "") -> list[str]:
    """Every key in ``bucket`` under ``prefix``, sorted."""
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def body(server: S3Server, bucket: str, key: str) -> bytes:
    data: bytes = server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def nested(root: Path, count: int = 60) -> dict[str, bytes]:
    """``count`` files under ``root``, spread over three folder depths; relative path -> bytes."""
    files = {}
    for i in range(count):
        folder = ["", "a/", "a/b/c/"][i % 3]
        files[f"{folder}part-{i:03}.csv"] = f"id,value\n{i},{i * i}\n".encode()
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


# -- upload_folder ---------------------------------------------------------------------------


def test_upload_folder_copies_every_nested_file(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path
) -> None:
    files = nested(tmp_path / "out")
    bucket = s3_server.bucket({"keep/me.txt": "neighbour"})
    done = upload_folder(tmp_path / "out", f"s3://{bucket}/runs/one", settings)
    assert done.uri == f"s3://{bucket}/runs/one/"
    assert (done.files, done.bytes) == (len(files), sum(map(len, files.values())))
    assert keys(s3_server, bucket, "runs/") == sorted(f"runs/one/{name}" for name in files)
    for name, data in files.items():
        assert body(s3_server, bucket, f"runs/one/{name}") == data
    assert body(s3_server, bucket, "keep/me.txt") == b"neighbour"


def test_upload_of_an_empty_folder_uploads_nothing(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path
) -> None:
    bucket = s3_server.bucket()
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    done = upload_folder(tmp_path / "empty", s3.S3Uri(bucket, "x/"), settings)
    assert (done.files, done.bytes, done.uri) == (0, 0, f"s3://{bucket}/x/")
    assert keys(s3_server, bucket) == []


def test_upload_retries_transient_failures(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path, hooks: list[Hook]
) -> None:
    puts: list[str] = []
    hooks.append(("before-send.s3.PutObject", lambda request, **_: puts.append(request.url)))
    hooks.append(("before-send.s3.PutObject", fail_first(2, slow_down)))
    files = nested(tmp_path / "out", count=6)
    bucket = s3_server.bucket()
    upload_folder(tmp_path / "out", f"s3://{bucket}/p/", settings)
    assert keys(s3_server, bucket) == sorted(f"p/{name}" for name in files)
    assert len(puts) == 3 * len(files)  # two failures, then success, for every file


def test_upload_gives_up_after_the_retries(
    s3_server: S3Server, tmp_path: Path, hooks: list[Hook]
) -> None:
    hooks.append(("before-send.s3.PutObject", fail_first(99, slow_down)))
    nested(tmp_path / "out", count=2)
    bucket = s3_server.bucket()
    settings = S3Settings(cache_dir=tmp_path / "cache", retry_attempts=2)
    with pytest.raises(s3.S3RetriesExhausted, match=r"failed after 2 attempts: SlowDown"):
        upload_folder(tmp_path / "out", f"s3://{bucket}/p/", settings)


def test_upload_denied_names_the_permission(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path, hooks: list[Hook]
) -> None:
    hooks.append(("before-send.s3.PutObject", fail_first(99, deny)))
    nested(tmp_path / "out", count=1)
    bucket = s3_server.bucket()
    with pytest.raises(s3.S3AccessDenied) as caught:
        upload_folder(tmp_path / "out", f"s3://{bucket}/p/", settings)
    message = str(caught.value)
    assert f"access denied to S3 bucket '{bucket}'" in message and "s3:PutObject" in message
    assert SECRET_ACCESS_KEY not in message


def test_upload_to_a_missing_bucket(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path
) -> None:
    nested(tmp_path / "out", count=3)
    with pytest.raises(s3.S3BucketNotFound, match="S3 bucket 'no-such-bucket' does not exist"):
        upload_folder(tmp_path / "out", "s3://no-such-bucket/p/", settings)


def test_upload_of_a_missing_folder(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path
) -> None:
    with pytest.raises(s3.S3Error, match="no such folder"):
        upload_folder(tmp_path / "absent", f"s3://{s3_server.bucket()}/p/", settings)


# -- delete_prefix ---------------------------------------------------------------------------


def test_delete_prefix_removes_only_that_prefix(s3_server: S3Server, settings: S3Settings) -> None:
    inside = {"run/x/1.csv": "1", "run/x/deep/2.csv": "2", "run/x/marker/": ""}
    outside = {"run/xy/3.csv": "3", "run/x.csv": "4", "other/run/x/5.csv": "5"}
    bucket = s3_server.bucket({**inside, **outside})
    assert delete_prefix(f"s3://{bucket}/run/x", settings) == len(inside)
    assert keys(s3_server, bucket) == sorted(outside)
    assert delete_prefix(f"s3://{bucket}/run/x/", settings) == 0


def test_delete_prefix_pages_and_batches(
    s3_server: S3Server, settings: S3Settings, hooks: list[Hook], monkeypatch: pytest.MonkeyPatch
) -> None:
    lists: list[str] = []
    deletes: list[str] = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["MaxKeys"] = 25

    hooks.append(("before-parameter-build.s3.ListObjectsV2", small_pages))
    hooks.append(("before-send.s3.ListObjectsV2", lambda request, **_: lists.append(request.url)))
    hooks.append(("before-send.s3.DeleteObjects", lambda request, **_: deletes.append(request.url)))
    monkeypatch.setattr(s3, "_DELETE_BATCH", 40)
    many = {f"big/{i:03}": b"" for i in range(101)}
    bucket = s3_server.bucket({**many, "small/kept": "x"})
    assert delete_prefix(s3.S3Uri(bucket, "big/"), settings) == len(many)
    assert (len(lists), len(deletes)) == (5, 3)  # 25 keys a page, 40 a batch
    assert keys(s3_server, bucket) == ["small/kept"]


def test_delete_prefix_refuses_a_whole_bucket(settings: S3Settings) -> None:
    with pytest.raises(s3.S3UriError, match="refusing to delete everything in bucket 'b-1'"):
        delete_prefix("s3://b-1/", settings)


def test_delete_prefix_of_a_missing_bucket(s3_server: S3Server, settings: S3Settings) -> None:
    with pytest.raises(s3.S3BucketNotFound, match="'no-such-bucket' does not exist"):
        delete_prefix("s3://no-such-bucket/p/", settings)


# -- test_environment ------------------------------------------------------------------------


def test_environments_get_unique_prefixes(s3_server: S3Server, settings: S3Settings) -> None:
    bucket = s3_server.bucket()
    with (
        s3.test_environment(bucket, "my pipeline", settings) as one,
        s3.test_environment(bucket, "my pipeline", settings) as two,
    ):
        assert one.uri != two.uri
        for env in (one, two):
            assert re.fullmatch(f"s3://{bucket}/cit-tests/my-pipeline/{STAMPED}", env.uri)
        assert one.uri_for("prep", "out") == f"{one.uri}prep/out/"


def test_environment_under_a_prefix(s3_server: S3Server, settings: S3Settings) -> None:
    bucket = s3_server.bucket()
    with s3.test_environment(bucket, "p", settings, under="/team/ci/") as env:
        assert re.fullmatch(f"s3://{bucket}/team/ci/cit-tests/p/{STAMPED}", env.uri)


def test_environment_is_removed_on_exit(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path
) -> None:
    files = nested(tmp_path / "out", count=9)
    bucket = s3_server.bucket({"cit-tests/other-run/keep.csv": "x"})
    with s3.test_environment(bucket, "p", settings) as env:
        done = env.upload(tmp_path / "out", "prep", "out")
        prefix = env.root.key
        assert done.uri == env.uri_for("prep", "out") and done.files == len(files)
        assert len(keys(s3_server, bucket, prefix)) == len(files)
    assert keys(s3_server, bucket) == ["cit-tests/other-run/keep.csv"]
    assert env.removed == len(files) and env.uploads == [done]


def test_environment_is_removed_on_an_exception(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path
) -> None:
    nested(tmp_path / "out", count=4)
    bucket = s3_server.bucket()
    with (
        pytest.raises(RuntimeError, match="the test failed"),
        s3.test_environment(bucket, "p", settings) as env,
    ):
        env.upload(tmp_path / "out", "train", "model")
        raise RuntimeError("the test failed")
    assert keys(s3_server, bucket) == [] and env.removed == 4


def test_environment_is_kept_without_cleanup(
    s3_server: S3Server, settings: S3Settings, tmp_path: Path
) -> None:
    files = nested(tmp_path / "out", count=4)
    bucket = s3_server.bucket()
    with s3.test_environment(bucket, "p", settings, cleanup=False) as env:
        env.upload(tmp_path / "out", "prep", "out")
    assert keys(s3_server, bucket) == sorted(f"{env.root.key}prep/out/{n}" for n in files)
    assert env.removed is None


def test_environment_in_a_missing_bucket(s3_server: S3Server, settings: S3Settings) -> None:
    entered = False
    missing = "S3 bucket 'no-such-bucket' does not exist"
    with (
        pytest.raises(s3.S3BucketNotFound, match=missing),
        s3.test_environment("no-such-bucket", "p", settings),
    ):
        entered = True
    assert not entered


# -- cit run --upload-outputs ----------------------------------------------------------------

runner = CliRunner()

PIPELINE = """
name: uploads
steps:
  prep: {kind: processing, script: scripts/prep.py, inputs: {raw: data}, outputs: [out]}
  train: {kind: training, script: scripts/train.py,
          inputs: {train: {step: prep, output: out}}}
  evaluate: {kind: processing, script: scripts/evaluate.py, outputs: [report],
             inputs: {model: {step: train, output: model}}}
"""


def fake_engine(evaluate_exit: int = 0) -> FakeEngine:
    out = "/opt/ml/processing/output"
    behaviours = {
        "prep": FakeBehaviour(
            writes={f"{out}/out/part.csv": "a\n1\n", f"{out}/out/x/y.csv": "b\n2\n"}
        ),
        "train": FakeBehaviour(writes={"/opt/ml/model/weights.txt": "w=1"}),
        "evaluate": FakeBehaviour(
            exit_code=evaluate_exit, writes={f"{out}/report/report.json": "{}"}
        ),
    }
    return FakeEngine(behaviours, images={RUNNER_IMAGE: "sha256:runner"})


@pytest.fixture
def pipeline(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cli, "connect", fake_engine)
    return write(project, "pipeline.yaml", PIPELINE)


def cit_run(pipeline: Path, *options: str) -> Result:
    cit_dir = pipeline.parent / ".cit"
    return runner.invoke(app, ["run", "--dag", str(pipeline), "--cit-dir", str(cit_dir), *options])


def test_cit_run_uploads_outputs_and_removes_them(s3_server: S3Server, pipeline: Path) -> None:
    bucket = s3_server.bucket({"ci/keep.txt": "x"})
    result = cit_run(pipeline, "-q", "--upload-outputs", f"s3://{bucket}/ci")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    prefix = f"s3://{bucket}/ci/cit-tests/uploads/{STAMPED}"
    assert re.search(f"uploaded prep/out: 2 files, 8 B -> {prefix}prep/out/", result.output)
    assert re.search(f"uploaded train/model: 1 file, .* -> {prefix}train/model/", result.output)
    assert re.search("uploaded evaluate/report: 1 file", result.output)
    assert re.search(f"\n4 output\\(s\\) uploaded under {prefix}\n", result.output)
    assert re.search(f"removed {prefix} \\(5 object\\(s\\)\\)", result.output)
    assert keys(s3_server, bucket) == ["ci/keep.txt"]


def test_cit_run_keeps_uploads_of_steps_that_succeeded(
    s3_server: S3Server, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "connect", lambda: fake_engine(evaluate_exit=1))
    pipeline = write(project, "pipeline.yaml", PIPELINE)
    bucket = s3_server.bucket()
    result = cit_run(pipeline, "-q", "--upload-outputs", f"s3://{bucket}", "--keep-uploads")
    assert result.exit_code == 1, result.output  # the run failed; the uploads did not
    found = re.search(
        f"kept (s3://{bucket}/cit-tests/uploads/{STAMPED}) \\(--keep-uploads\\)", result.output
    )
    assert found, result.output
    key = found.group(1).removeprefix(f"s3://{bucket}/")
    stored = keys(s3_server, bucket)
    assert f"{key}prep/out/part.csv" in stored and f"{key}prep/out/x/y.csv" in stored
    assert f"{key}train/model/model.tar.gz" in stored  # as SageMaker stores a model
    assert not [k for k in stored if "/evaluate/" in k]  # evaluate failed: nothing uploaded
    assert body(s3_server, bucket, f"{key}prep/out/x/y.csv") == b"b\n2\n"
    model = body(s3_server, bucket, f"{key}train/model/model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(model)) as archive:
        assert archive.extractfile("weights.txt").read() == b"w=1"  # type: ignore[union-attr]


def test_cit_run_refuses_a_missing_bucket_before_the_run(
    s3_server: S3Server, pipeline: Path
) -> None:
    result = cit_run(pipeline, "-q", "--upload-outputs", "s3://no-such-bucket/x")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: S3 bucket 'no-such-bucket' does not exist")
    assert not (pipeline.parent / ".cit" / "runs").exists()  # nothing ran


def test_a_failed_upload_is_in_the_runs_report(
    s3_server: S3Server, pipeline: Path, hooks: list[Hook]
) -> None:
    hooks.append(("before-send.s3.PutObject", lambda request, **_: deny(request)))
    bucket = s3_server.bucket()
    result = cit_run(pipeline, "-q", "--upload-outputs", f"s3://{bucket}/ci")
    assert result.exit_code == 2, result.output
    assert "error: access denied to S3 bucket" in result.output
    (run_dir,) = run_dirs(pipeline.parent / ".cit" / "runs")
    report = json.loads((run_dir / "report.json").read_text())
    assert (report["exit_code"], report["outcome"]) == (2, "error")


def test_cit_run_with_uploads_kept_by_the_configuration(
    s3_server: S3Server, pipeline: Path
) -> None:
    bucket = s3_server.bucket()
    config = write(pipeline.parent, "cit.yaml", "s3_integration:\n  cleanup_after_test: false\n")
    options = ["-q", "--upload-outputs", f"s3://{bucket}", "--config", str(config)]
    result = cit_run(pipeline, *options)
    assert result.exit_code == 0, result.output
    assert re.search(f"kept s3://{bucket}/cit-tests/uploads/{STAMPED}", result.output)
    assert keys(s3_server, bucket)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--upload-outputs", "bucket/x"], "error: --upload-outputs: not a valid S3 URI"),
        (["--keep-uploads"], "error: --keep-uploads goes with --upload-outputs"),
    ],
)
def test_cit_run_refuses_bad_upload_options_before_running(
    project: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], message: str
) -> None:
    def refuse() -> Any:
        raise AssertionError("the engine was contacted")

    monkeypatch.setattr(cli, "connect", refuse)
    result = cit_run(write(project, "pipeline.yaml", PIPELINE), *options)
    assert result.exit_code == 2
    assert result.output.strip().startswith(message), result.output
