"""orchestrator.aws.s3 against a real S3-compatible server (moto, a process on loopback)."""

from __future__ import annotations

import re
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from orchestrator.aws import s3
from orchestrator.aws.s3 import Download, S3Settings, download
from orchestrator.aws.s3_uris import S3Uri
from orchestrator.errors import CitError
from tests.s3_server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, S3Server, free_port

Hook = tuple[str, Callable[..., Any]]


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[Hook]:
    """Botocore event hooks, registered on every client that ``download`` creates."""
    registered: list[Hook] = []
    original = s3.create_client

    def create(settings: S3Settings, *args: Any, **kwargs: Any) -> Any:
        client = original(settings, *args, **kwargs)
        for event, handler in registered:
            client.meta.events.register(event, handler)
        return client

    monkeypatch.setattr(s3, "create_client", create)
    return registered


@pytest.fixture
def gets(hooks: list[Hook]) -> list[str]:
    """The URL of every GetObject request sent (one per attempt)."""
    sent: list[str] = []
    hooks.append(("before-send.s3.GetObject", lambda request, **_: sent.append(request.url)))
    return sent


@pytest.fixture
def settings(tmp_path: Path) -> S3Settings:
    return S3Settings(cache_dir=tmp_path / "cache")


def error_response(url: str, status: int, code: str) -> AWSResponse:
    """An S3 error answer, as a ``before-send`` hook returns it instead of sending."""
    body = f"<Error><Code>{code}</Code><Message>injected fault</Message></Error>".encode()

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    return AWSResponse(url, status, {"Content-Type": "application/xml"}, Raw())


def fail_first(times: int, fault: Callable[[Any], Any], only: str = "") -> Callable[..., Any]:
    """A ``before-send`` hook: the first ``times`` attempts of each URL containing ``only`` fail."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def hook(request: Any, **_: Any) -> Any:
        if only not in request.url:
            return None
        with lock:
            seen[request.url] += 1
            attempt = seen[request.url]
        return fault(request) if attempt <= times else None

    return hook


def refuse(request: Any) -> None:
    raise EndpointConnectionError(endpoint_url=request.url)


def slow_down(request: Any) -> AWSResponse:
    return error_response(request.url, 503, "SlowDown")


def deny(request: Any) -> AWSResponse:
    return error_response(request.url, 403, "AccessDenied")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def cache_leftovers(cache: Path, within: float = 2.0) -> list[Path]:
    """Unfinished files in the cache, once requests still in flight have had time to stop."""
    deadline = time.monotonic() + within
    while True:
        partial = cache / "partial"
        left = list(partial.iterdir()) if partial.is_dir() else []
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def dataset(count: int = 200) -> dict[str, bytes]:
    """``count`` small files under ``data/``, every third one in a subfolder."""
    return {
        f"data/{'sub/' if i % 3 == 0 else ''}part-{i:03}.csv": f"id\n{i}\n".encode()
        for i in range(count)
    }


NEIGHBOURS = {"database.csv": b"not data/\n", "data-old/part.csv": b"old\n", "other/x.csv": b"x\n"}


# -- URIs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bucket", "key"),
    [
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my.bucket-1/data/", "my.bucket-1", "data/"),
        ("s3://abc/data/train/part-0.parquet", "abc", "data/train/part-0.parquet"),
        ("S3://abc/x", "abc", "x"),
    ],
)
def test_parse_good_uris(text: str, bucket: str, key: str) -> None:
    uri = S3Uri.parse(text)
    assert (uri.bucket, uri.key) == (bucket, key)
    assert str(uri) == f"s3://{bucket}/{key}"
    assert S3Uri.parse(str(uri)) == uri


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "must start with s3://"),
        ("bucket/key", "must start with s3://"),
        ("s3:/bucket/key", "must start with s3://"),
        ("https://bucket/key", "must start with s3://"),
        ("s3://", "bucket name is missing"),
        ("s3:///key", "bucket name is missing"),
        ("s3://My-Bucket/key", "bucket name 'My-Bucket'"),
        ("s3://ab/key", "bucket name 'ab'"),
        ("s3://under_score/key", "bucket name"),
        ("s3://-dash/key", "bucket name"),
        ("s3://10.0.0.1/key", "bucket name"),
        (" s3://bucket/key", "spaces around it"),
    ],
)
def test_parse_bad_uris(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as caught:
        S3Uri.parse(text)
    assert isinstance(caught.value, CitError)
    assert "\n" not in str(caught.value)


def test_settings_are_strict() -> None:
    with pytest.raises(ValueError):
        S3Settings(retry_attempt=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        S3Settings(download_timeout_seconds=0)
    assert S3Settings().cache_dir == Path.home() / ".cache" / "cit" / "s3"


# -- downloads ----------------------------------------------------------------------------------


def test_prefix_downloads_as_a_read_only_folder_mirroring_the_keys(
    s3_server: S3Server, settings: S3Settings, gets: list[str]
) -> None:
    files = dataset()
    bucket = s3_server.bucket({**files, **NEIGHBOURS, "data/empty-folder/": b""})

    result = download(f"s3://{bucket}/data", settings)

    expected = {key.removeprefix("data/"): body for key, body in files.items()}
    assert tree(result.path) == expected
    assert result == Download(
        uri=f"s3://{bucket}/data",
        path=result.path,
        files=200,
        bytes=sum(len(b) for b in files.values()),
        fetched=200,
        cached=0,
    )
    assert len(gets) == 200
    assert result.path.is_relative_to(settings.cache_dir)
    for path in result.path.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, path
    assert cache_leftovers(settings.cache_dir) == []


def test_trailing_slash_and_whole_bucket(s3_server: S3Server, settings: S3Settings) -> None:
    bucket = s3_server.bucket({"data/a.csv": b"a", "data/b/c.csv": b"c", "top.csv": b"t"})
    assert tree(download(f"s3://{bucket}/data/", settings).path) == {"a.csv": b"a", "b/c.csv": b"c"}
    whole = download(S3Uri(bucket), settings)
    assert tree(whole.path) == {"data/a.csv": b"a", "data/b/c.csv": b"c", "top.csv": b"t"}
    assert whole.cached == 2 and whole.fetched == 1  # blobs are shared between URIs


def test_one_object_downloads_as_a_file(
    s3_server: S3Server, settings: S3Settings, gets: list[str]
) -> None:
    bucket = s3_server.bucket({"models/model.tar.gz": b"tarball", "models/model.tar.gz.bak": b"x"})

    result = download(f"s3://{bucket}/models/model.tar.gz", settings)

    assert result.path.is_file()
    assert result.path.name == "model.tar.gz"
    assert result.path.read_bytes() == b"tarball"
    assert (result.files, result.bytes, result.fetched, result.cached) == (1, 7, 1, 0)
    assert len(gets) == 1


def test_rerun_sends_no_get_and_a_changed_object_is_fetched_again(
    s3_server: S3Server, settings: S3Settings, gets: list[str]
) -> None:
    files = dataset(30)
    bucket = s3_server.bucket(files)
    uri = f"s3://{bucket}/data"
    first = download(uri, settings)
    gets.clear()

    again = download(uri, settings)

    assert gets == []
    assert again.path == first.path
    assert (again.fetched, again.cached, again.files) == (0, 30, 30)

    s3_server.put(bucket, {"data/part-001.csv": b"changed\n", "data/new.csv": b"new\n"})
    changed = download(uri, settings)

    assert [url.rsplit("/", 1)[-1] for url in sorted(gets)] == ["new.csv", "part-001.csv"]
    assert (changed.fetched, changed.cached, changed.files) == (2, 29, 31)
    assert changed.path != first.path
    assert (changed.path / "part-001.csv").read_bytes() == b"changed\n"
    assert (first.path / "part-001.csv").read_bytes() == b"id\n1\n"  # a mounted view never changes


@pytest.mark.parametrize("fault", [refuse, slow_down], ids=["connection-refused", "503-slowdown"])
def test_transient_failures_are_retried(
    s3_server: S3Server, settings: S3Settings, hooks: list[Hook], fault: Callable[[Any], Any]
) -> None:
    bucket = s3_server.bucket(dataset(20))
    hooks.append(("before-send.s3.GetObject", fail_first(2, fault, only="7.csv")))
    hooks.append(("before-send.s3.ListObjectsV2", fail_first(1, fault)))

    result = download(f"s3://{bucket}/data", settings)

    assert (result.files, result.fetched) == (20, 20)
    assert tree(result.path)["part-017.csv"] == b"id\n17\n"


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (refuse, s3.S3EndpointUnreachable, "cannot reach the S3 endpoint http://127.0.0.1:"),
        (slow_down, s3.S3RetriesExhausted, "failed after 1 attempt: SlowDown (HTTP 503)"),
    ],
    ids=["connection-refused", "503-slowdown"],
)
def test_without_retries_a_transient_failure_is_reported(
    s3_server: S3Server,
    tmp_path: Path,
    hooks: list[Hook],
    fault: Callable[[Any], Any],
    error: type[s3.S3Error],
    message: str,
) -> None:
    bucket = s3_server.bucket(dataset(20))
    hooks.append(("before-send.s3.GetObject", fail_first(2, fault, only="part-007.csv")))
    settings = S3Settings(cache_dir=tmp_path / "cache", retry_attempts=1)

    with pytest.raises(error, match=re.escape(message)) as caught:
        download(f"s3://{bucket}/data", settings)

    assert "part-007.csv" in str(caught.value)
    assert cache_leftovers(settings.cache_dir) == []
    assert not (settings.cache_dir / "views").exists() or not any(
        (settings.cache_dir / "views").iterdir()
    )


def test_timeout_names_the_counts_and_keeps_what_was_fetched(
    s3_server: S3Server, tmp_path: Path, hooks: list[Hook], gets: list[str]
) -> None:
    bucket = s3_server.bucket(dataset(20))
    hooks.append(("before-send.s3.GetObject", lambda **_: time.sleep(0.25)))
    settings = S3Settings(cache_dir=tmp_path / "cache", workers=2, download_timeout_seconds=0.6)
    uri = f"s3://{bucket}/data"

    started = time.monotonic()
    with pytest.raises(s3.S3Timeout) as caught:
        download(uri, settings)

    assert time.monotonic() - started < 1.5
    match = re.fullmatch(
        rf"timed out after 0.6 s downloading {uri}; (\d+) of 20 objects fetched \(.*\)",
        str(caught.value),
    )
    assert match, str(caught.value)
    fetched_before = int(match.group(1))
    assert 0 < fetched_before < 20

    hooks.clear()
    assert cache_leftovers(settings.cache_dir) == []
    rest = download(uri, settings.model_copy(update={"download_timeout_seconds": 30}))
    assert rest.cached >= fetched_before
    assert rest.fetched + rest.cached == 20


def test_interrupted_download_leaves_no_partial_file(
    s3_server: S3Server, settings: S3Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket({"data/a.csv": b"a" * 5000, "data/b.csv": b"b"})
    copy = s3._copy

    def interrupted(ctx: Any, body: Any, out: Any) -> int:
        copy(ctx, body, out)
        raise KeyboardInterrupt

    monkeypatch.setattr(s3, "_copy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download(f"s3://{bucket}/data", settings)

    blobs = settings.cache_dir / "blobs"
    assert [p for p in blobs.rglob("*") if p.is_file()] == []
    monkeypatch.setattr(s3, "_copy", copy)
    assert download(f"s3://{bucket}/data", settings).fetched == 2


# -- errors -----------------------------------------------------------------------------------


def test_missing_bucket(s3_server: S3Server, settings: S3Settings) -> None:
    with pytest.raises(s3.S3BucketNotFound, match="S3 bucket 'cit-no-such-bucket' does not exist"):
        download("s3://cit-no-such-bucket/data", settings)


@pytest.mark.parametrize("key", ["other", "data/nothing/", "dat", "database"])
def test_nothing_under_the_prefix(s3_server: S3Server, settings: S3Settings, key: str) -> None:
    bucket = s3_server.bucket({"data/a.csv": b"a", "database.csv": b"d"})
    with pytest.raises(s3.S3NothingFound, match=re.escape(f"nothing under s3://{bucket}/{key}")):
        download(f"s3://{bucket}/{key}", settings)


def test_empty_bucket(s3_server: S3Server, settings: S3Settings) -> None:
    bucket = s3_server.bucket()
    with pytest.raises(s3.S3NothingFound):
        download(f"s3://{bucket}", settings)


def test_access_denied_names_bucket_and_credential_source(
    s3_server: S3Server, settings: S3Settings, hooks: list[Hook]
) -> None:
    bucket = s3_server.bucket({"data/a.csv": b"a"})
    hooks.append(("before-send.s3.ListObjectsV2", fail_first(99, deny)))

    with pytest.raises(s3.S3AccessDenied) as caught:
        download(f"s3://{bucket}/data", settings)

    message = str(caught.value)
    assert f"access denied to S3 bucket '{bucket}' (AccessDenied)" in message
    assert "credentials from the environment" in message
    assert SECRET_ACCESS_KEY not in message and ACCESS_KEY_ID not in message


def test_access_denied_names_the_profile(
    s3_server: S3Server, tmp_path: Path, hooks: list[Hook], monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket({"data/a.csv": b"a"})
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    credentials = tmp_path / "no-aws-credentials"
    credentials.write_text(
        f"[ci]\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = {SECRET_ACCESS_KEY}\n"
    )
    hooks.append(("before-send.s3.GetObject", fail_first(99, deny)))
    settings = S3Settings(cache_dir=tmp_path / "cache", profile="ci")

    with pytest.raises(s3.S3AccessDenied) as caught:
        download(f"s3://{bucket}/data", settings)

    message = str(caught.value)
    assert "profile 'ci'" in message and "credentials file" in message
    assert SECRET_ACCESS_KEY not in message and ACCESS_KEY_ID not in message


def test_unknown_profile(s3_server: S3Server, settings: S3Settings) -> None:
    with pytest.raises(s3.S3Error, match=r"AWS profile 'nope' .* is not in the AWS config"):
        download("s3://bucket/data", settings.model_copy(update={"profile": "nope"}))


def test_unreachable_endpoint_fails_fast(s3_server: S3Server, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    settings = S3Settings(cache_dir=tmp_path / "cache", endpoint_url=endpoint)

    started = time.monotonic()
    with pytest.raises(s3.S3EndpointUnreachable) as caught:
        download("s3://some-bucket/data", settings)

    assert time.monotonic() - started < 5
    assert f"cannot reach the S3 endpoint {endpoint} while listing s3://some-bucket/data" in str(
        caught.value
    )
    assert "(3 attempts)" in str(caught.value)


def test_no_credentials(
    s3_server: S3Server, settings: S3Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(s3.S3AccessDenied, match="no usable AWS credentials for bucket 'some-buck"):
        download("s3://some-bucket/data", settings)


@pytest.mark.parametrize("uri_key", ["data", "other/.."])
def test_keys_that_cannot_be_local_files(
    s3_server: S3Server, settings: S3Settings, uri_key: str
) -> None:
    bucket = s3_server.bucket({"data/../escape.csv": b"x", "other/..": b"y"})
    with pytest.raises(s3.S3CacheError, match=r"cannot be a local file name"):
        download(f"s3://{bucket}/{uri_key}", settings)
    assert not list(settings.cache_dir.rglob("escape.csv"))


def test_an_object_and_a_folder_of_the_same_name(s3_server: S3Server, settings: S3Settings) -> None:
    bucket = s3_server.bucket({"data/a": b"file", "data/a/b.csv": b"x"})
    with pytest.raises(s3.S3CacheError, match="both an object and a folder named 'a'"):
        download(f"s3://{bucket}/data", settings)
