"""Download ``s3://`` objects and prefixes into a local cache; with ``ecr`` (a registry login)
the only module that uses boto3: S3 transfers and the SageMaker calls of execution discovery.

``download(uri)`` lists the URI, fetches the objects the cache lacks in parallel (retried with
backoff, bounded by one timeout for the whole URI) and returns a read-only local folder (a
prefix) or file (one object) that mirrors the keys under the URI.

Cache layout under ``S3Settings.cache_dir``::

    blobs/<ab>/<sha256 of bucket, key, ETag, size>   one file per object version, read-only
    views/<sha256 of URI and listing>/<relative keys> hard links (or copies) of the blobs
    partial/                                          files being written, renamed when complete

A changed object has another ETag or size, so it is fetched again; an unchanged listing maps to
an existing view, so a second download of it sends no GetObject at all. Blobs and views are
written under a temporary name and renamed, so an interrupted download leaves no half file.

Endpoint, region and credentials come from boto3's usual sources (``AWS_ENDPOINT_URL``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_PROFILE``, ``~/.aws``) unless set in
``S3Settings``. Credentials are never logged nor put in a message: errors name where they came
from (a profile, the environment), never their values.

``upload_folder`` copies a local folder under a prefix (parallel, retried the same way) and
``delete_prefix`` removes a prefix in batches. ``test_environment`` gives a test run its own
prefix ``s3://<bucket>/cit-tests/<name>/<timestamp>-<random>/`` for what it uploads, removed at
the end unless kept.

``SageMakerClient`` makes the three SageMaker calls of ``executions.SageMakerDiscovery``
(ListPipelineExecutionSteps, DescribeProcessingJob, DescribeTrainingJob) with the same endpoint,
credentials, retries and time bound; its failures are ``errors.ExecutionError``s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from ..container_files import is_real_dir, open_regular, walk
from ..errors import (
    CitError,
    ExecutionError,
    ExecutionNotFound,
    S3AccessDenied,
    S3BucketNotFound,
    S3CacheError,
    S3EndpointUnreachable,
    S3Error,
    S3NothingFound,
    S3ObjectChanged,
    S3RetriesExhausted,
    S3Timeout,
    S3UriError,
    SageMakerUnavailable,
    StepWithoutData,
)
from .s3_uris import S3Uri

log = logging.getLogger(__name__)

T = TypeVar("T")

_CHUNK = 1024 * 1024
_PARTIAL_MAX_AGE = 24 * 3600.0
_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "AccountProblem",
    }
)
_CREDENTIAL_SOURCES = {
    "env": "the environment (AWS_ACCESS_KEY_ID)",
    "explicit": "explicit settings",
    "shared-credentials-file": "the shared credentials file",
    "config-file": "the AWS config file",
    "iam-role": "the instance role",
    "container-role": "the container role",
    "assume-role": "an assumed role",
    "assume-role-with-web-identity": "a web identity role",
    "sso": "AWS SSO",
    "custom-process": "a credential process",
}


# -- errors ---------------------------------------------------------------------------------


class _ShortRead(Exception):
    """The body ended before the listed size (a transient fault)."""


class _DeadlinePassed(Exception):
    """The download's time is up; the caller reports it with its counts."""


class _Cancelled(Exception):
    """The download was abandoned; this worker stops quietly."""


# -- public records ---------------------------------------------------------------------------


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "cit" / "s3"


class S3Settings(BaseModel):
    """Where and how to download; ``None`` fields fall back to boto3's usual AWS sources.

    ``endpoint_url`` is S3's only (MinIO, LocalStack); SageMaker calls keep boto3's endpoint.

    ``retry_attempts`` counts every attempt of one request (1: no retry);
    ``download_timeout_seconds`` bounds the whole download of one URI, listing included.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    download_timeout_seconds: float = Field(default=300, gt=0)
    retry_attempts: int = Field(default=3, ge=1, le=20)
    workers: int = Field(default=8, ge=1, le=64)
    cache_dir: Path = Field(default_factory=_default_cache_dir)

    @field_validator("cache_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()


@dataclass(frozen=True)
class Download:
    """The local copy of one URI, ready to mount read-only."""

    uri: str
    path: Path
    files: int
    bytes: int
    fetched: int
    cached: int


# -- the client seam --------------------------------------------------------------------------


def create_client(settings: S3Settings, service: str = "s3", region: str | None = None) -> Any:
    """A boto3 client of ``service`` (S3 for transfers, SageMaker for execution discovery), made
    with boto3's own retries turned off; ``region`` overrides ``settings.region``.

    This is the one place a client is made. Tests wrap it (``monkeypatch.setattr(s3,
    "create_client", ...)``) to register botocore event hooks on ``client.meta.events``, e.g. to
    count GetObject calls or inject faults.
    """
    import boto3  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
    import botocore.session  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
    from botocore.config import Config  # deferred: boto3 costs ~0.3 s, paid only when S3 is used

    core = botocore.session.Session(profile=settings.profile)
    core.register_component("data_loader", _data_loader())
    session = boto3.session.Session(botocore_session=core, region_name=region or settings.region)
    timeout = settings.download_timeout_seconds
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=min(10.0, timeout),
        read_timeout=min(60.0, timeout),
        max_pool_connections=max(10, settings.workers),
    )
    # The endpoint setting is S3's (MinIO, LocalStack); other services keep boto3's own
    # (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SAGEMAKER, or AWS).
    endpoint = settings.endpoint_url if service == "s3" else None
    client = session.client(service, endpoint_url=endpoint, config=config)
    if service != "s3" or "amazonaws.com" in urlsplit(str(client.meta.endpoint_url)).netloc:
        return client
    # MinIO, LocalStack and other servers answer on one host name: path-style addressing.
    path_style = config.merge(Config(s3={"addressing_style": "path"}))
    return session.client("s3", endpoint_url=settings.endpoint_url, config=path_style)


_loader_lock = threading.Lock()
_loader: Any = None


def _data_loader() -> Any:
    """botocore's loader of service models, shared: loading them costs ~0.1 s per session."""
    global _loader
    with _loader_lock:
        if _loader is None:
            from botocore.loaders import (
                create_loader,  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
            )

            _loader = create_loader()
        return _loader


# -- download ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Object:
    key: str
    relative: str  # path under the result folder
    etag: str
    size: int
    blob: str  # name of the cached file


@dataclass
class _Context:
    target: S3Uri
    settings: S3Settings
    client: Any
    endpoint: str
    deadline: float
    cancel: threading.Event = field(default_factory=threading.Event)
    needs: str = "s3:ListBucket and s3:GetObject"  # the permissions named when access is denied

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


def download(uri: str | S3Uri, settings: S3Settings | None = None) -> Download:
    """Download ``uri`` (one object or a prefix) into the cache; see the module docstring."""
    target = uri if isinstance(uri, S3Uri) else S3Uri.parse(uri)
    settings = settings or S3Settings()
    started = time.monotonic()
    ctx = _context(target, settings, started + settings.download_timeout_seconds)
    try:
        objects, single = _list(ctx)
        view = _view_path(settings.cache_dir, target, objects, single)
        missing = [] if view.is_dir() else [o for o in objects if not _blob_file(ctx, o).exists()]
        _fetch_all(ctx, missing, cached=len(objects) - len(missing))
        _assemble(ctx, view, objects)
    except OSError as exc:
        raise S3CacheError(
            f"cannot write the S3 cache under {settings.cache_dir} for {target}: "
            f"{exc.strerror or exc}"
        ) from exc
    except _DeadlinePassed as exc:
        raise S3Timeout(
            f"timed out after {settings.download_timeout_seconds:g} s listing {target} "
            "(raise download_timeout_seconds or check the endpoint)"
        ) from exc
    log.debug("downloaded %s: %d fetched, %d cached", target, len(missing), len(objects))
    return Download(
        uri=str(target),
        path=view / objects[0].relative if single else view,
        files=len(objects),
        bytes=sum(o.size for o in objects),
        fetched=len(missing),
        cached=len(objects) - len(missing),
    )


def _context(target: S3Uri, settings: S3Settings, deadline: float) -> _Context:
    client = _new_client(settings, str(target), S3Error)
    endpoint = str(client.meta.endpoint_url)
    return _Context(target, settings, client, endpoint, deadline)


def _new_client(
    settings: S3Settings,
    subject: str,
    error: Callable[[str], CitError],
    service: str = "s3",
    region: str | None = None,
) -> Any:
    """``create_client``; settings it cannot use become ``error`` naming ``subject``."""
    from botocore.exceptions import (  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
        BotoCoreError,
        ProfileNotFound,
    )

    try:
        return create_client(settings, service, region)
    except ProfileNotFound as exc:
        raise error(
            f"AWS profile '{exc.kwargs.get('profile')}' (for {subject}) is not in the AWS config "
            "or credentials file (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE)"
        ) from exc
    except BotoCoreError as exc:
        raise error(f"cannot use AWS settings for {subject}: {exc}") from exc
    except ValueError as exc:  # botocore: "Invalid endpoint: ..."
        label = "S3" if service == "s3" else "SageMaker"
        raise error(f"cannot use the {label} endpoint for {subject}: {exc}") from exc


# -- listing ----------------------------------------------------------------------------------


def _list(ctx: _Context) -> tuple[list[_Object], bool]:
    """The objects of the URI, and whether the URI names one object rather than a folder."""
    key = ctx.target.key
    single = False
    if key == "" or key.endswith("/"):
        objects = _list_prefix(ctx, key)
    else:
        objects = _list_prefix(ctx, key + "/")
        exact = None if objects else _exact_object(ctx, key)
        if exact is not None:
            objects, single = [exact], True
    if not objects:
        raise S3NothingFound(
            f"nothing under {ctx.target}: no object has that key and none lies under it "
            f"(endpoint {ctx.endpoint})"
        )
    _check_layout(ctx, objects)
    return objects, single


def _list_prefix(ctx: _Context, prefix: str) -> list[_Object]:
    objects: list[_Object] = []
    token: str | None = None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        request = partial(
            ctx.client.list_objects_v2, Bucket=ctx.target.bucket, Prefix=prefix, **extra
        )
        page = _call(ctx, f"listing {ctx.target}", request)
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):  # folder markers hold no data
                objects.append(_object(ctx, item, item["Key"][len(prefix) :]))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return objects


def _exact_object(ctx: _Context, key: str) -> _Object | None:
    page = _call(
        ctx,
        f"listing {ctx.target}",
        lambda: ctx.client.list_objects_v2(Bucket=ctx.target.bucket, Prefix=key, MaxKeys=1),
    )
    for item in page.get("Contents", []):
        if item["Key"] == key:
            return _object(ctx, item, key.rsplit("/", 1)[-1])
    return None


def _object(ctx: _Context, item: dict[str, Any], relative: str) -> _Object:
    key, etag, size = str(item["Key"]), str(item.get("ETag", "")), int(item["Size"])
    identity = json.dumps([ctx.target.bucket, key, etag, size])
    blob = hashlib.sha256(identity.encode()).hexdigest()
    return _Object(key=key, relative=relative, etag=etag, size=size, blob=blob)


def _check_layout(ctx: _Context, objects: list[_Object]) -> None:
    """Every key must map to a distinct file inside the result folder."""
    files = {o.relative for o in objects}
    for o in objects:
        parts = o.relative.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise S3CacheError(
                f"key s3://{ctx.target.bucket}/{o.key} cannot be a local file name "
                "(empty, '.' or '..' path segment); download a narrower prefix"
            )
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in files:
                raise S3CacheError(
                    f"{ctx.target} holds both an object and a folder named "
                    f"{'/'.join(parts[:depth])!r}; download a narrower prefix"
                )


# -- fetching ---------------------------------------------------------------------------------


def _blob_file(ctx: _Context, obj: _Object) -> Path:
    return ctx.settings.cache_dir / "blobs" / obj.blob[:2] / obj.blob


def _partial_dir(cache_dir: Path) -> Path:
    """Where files are written before they are renamed into ``blobs`` or ``views``."""
    path = cache_dir / "partial"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sweep_partial(cache_dir: Path) -> None:
    """Remove what a killed download left in ``partial`` (older than a day: not in use)."""
    folder = cache_dir / "partial"
    if not folder.is_dir():
        return
    cutoff = time.time() - _PARTIAL_MAX_AGE
    for entry in folder.iterdir():
        try:
            if entry.lstat().st_mtime < cutoff:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        except OSError:
            continue


def _fetch_all(ctx: _Context, missing: list[_Object], cached: int) -> None:
    """Fetch ``missing`` in parallel; the first error or the deadline stops the rest."""
    if not missing:
        return
    _sweep_partial(ctx.settings.cache_dir)
    already = f", {cached} more already cached" if cached else ""
    _in_parallel(
        ctx,
        [partial(_fetch, ctx, obj) for obj in missing],
        "cit-s3",
        lambda fetched: (
            f"timed out after {ctx.settings.download_timeout_seconds:g} s downloading "
            f"{ctx.target}; {fetched} of {len(missing)} objects fetched{already} "
            "(they stay cached; raise download_timeout_seconds or run again)"
        ),
    )


def _in_parallel(
    ctx: _Context, tasks: list[Callable[[], T]], name: str, timed_out: Callable[[int], str]
) -> list[T]:
    """Run ``tasks`` on up to ``workers`` threads until all are done, one fails (its error is
    raised) or the deadline passes (``S3Timeout`` with ``timed_out(tasks finished)``)."""
    pool = ThreadPoolExecutor(min(ctx.settings.workers, len(tasks)), name)
    futures = [pool.submit(task) for task in tasks]
    try:
        done, pending = wait(futures, timeout=ctx.remaining(), return_when=FIRST_EXCEPTION)
        errors = [e for e in (f.exception() for f in done) if e is not None]
        real = [e for e in errors if not isinstance(e, _DeadlinePassed | _Cancelled)]
        if real:
            raise real[0]
        if pending or errors:
            raise S3Timeout(timed_out(len(done) - len(errors)))
        return [f.result() for f in futures]
    finally:
        ctx.cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)


def _fetch(ctx: _Context, obj: _Object) -> None:
    blob = _blob_file(ctx, obj)
    if blob.exists():  # another download got it meanwhile
        return
    blob.parent.mkdir(parents=True, exist_ok=True)
    uri = f"s3://{ctx.target.bucket}/{obj.key}"
    _call(ctx, f"downloading {uri}", lambda: _get_once(ctx, obj, blob))


def _get_once(ctx: _Context, obj: _Object, blob: Path) -> None:
    """One GetObject into a temporary file, renamed onto ``blob`` once complete."""
    condition = {"IfMatch": obj.etag} if obj.etag else {}
    response = ctx.client.get_object(Bucket=ctx.target.bucket, Key=obj.key, **condition)
    fd, name = tempfile.mkstemp(dir=_partial_dir(ctx.settings.cache_dir), prefix="blob-")
    part = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            written = _copy(ctx, response["Body"], out)
        if written != obj.size:
            raise _ShortRead(f"got {written} of {obj.size} bytes")
        part.chmod(0o444)
        part.replace(blob)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _copy(ctx: _Context, body: Any, out: IO[bytes]) -> int:
    written = 0
    try:
        for chunk in body.iter_chunks(_CHUNK):
            if ctx.cancel.is_set():
                raise _Cancelled()
            out.write(chunk)
            written += len(chunk)
    finally:
        body.close()
    return written


# -- retries and error translation ---------------------------------------------------------------


def _call(ctx: _Context, what: str, request: Callable[[], T]) -> T:
    """``request()``, retried on transient faults; failures become specific ``S3Error``s."""
    return _retried(
        ctx.settings,
        ctx.remaining,
        request,
        lambda exc, attempts: _translate(ctx, what, exc, attempts),
        ctx.cancel,
    )


def _retried(
    settings: S3Settings,
    remaining: Callable[[], float],
    request: Callable[[], T],
    translate: Callable[[Exception, int], CitError | None],
    cancel: threading.Event | None = None,
) -> T:
    """``request()``, retried with backoff on transient faults up to ``retry_attempts`` while
    time ``remaining()``; a failure becomes ``translate(exception, attempts)`` (None: as it is).
    Raises ``_DeadlinePassed`` when the time is up, ``_Cancelled`` once ``cancel`` is set."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        if cancel is not None and cancel.is_set():
            raise _Cancelled()
        if remaining() <= 0:
            raise _DeadlinePassed()
        attempts += 1
        return request()

    base_wait = wait_exponential(multiplier=0.2, max=5) + wait_random(0, 0.2)

    def pause(state: RetryCallState) -> float:
        return min(base_wait(state), remaining())

    retrying = Retrying(
        stop=stop_after_attempt(settings.retry_attempts),
        wait=pause,
        retry=retry_if_exception(_is_transient),
        reraise=True,
    )
    try:
        return retrying(attempt)
    except (_Cancelled, _DeadlinePassed):
        raise
    except Exception as exc:
        if _is_transient(exc) and remaining() <= 0:
            raise _DeadlinePassed() from exc
        error = translate(exc, attempts)
        if error is None:
            raise
        raise error from None


def _is_transient(exc: BaseException) -> bool:
    from botocore.exceptions import (  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        IncompleteReadError,
    )

    # HTTPClientError: read timeouts, closed connections, broken response streams.
    connection = EndpointConnectionError | ConnectTimeoutError | HTTPClientError
    if isinstance(exc, connection | IncompleteReadError):
        return True
    if isinstance(exc, _ShortRead):
        return True
    if isinstance(exc, ClientError):
        status, code = _status_and_code(exc)
        return status >= 500 or status == 429 or code in _THROTTLING
    return False


def _tries(attempts: int) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''}"


def _status_and_code(exc: Any) -> tuple[int, str]:
    response = exc.response
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return status, str(response.get("Error", {}).get("Code", ""))


def _translate(ctx: _Context, what: str, exc: Exception, attempts: int) -> S3Error | None:
    """The ``S3Error`` for ``exc``, or None for an exception that is not about S3."""
    from botocore.exceptions import (  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
        ClientError,  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
    )

    if isinstance(exc, ClientError):
        return _translate_client_error(ctx, what, exc, _tries(attempts))
    subject = f" for bucket '{ctx.target.bucket}'"
    fault = _fault(exc, what, attempts, f"S3 endpoint {ctx.endpoint}", subject)
    if fault is None:
        return None
    kind, message = fault
    errors = {
        "unreachable": S3EndpointUnreachable,
        "credentials": S3AccessDenied,
        "exhausted": S3RetriesExhausted,
    }
    return errors.get(kind, S3Error)(message)


def _fault(
    exc: Exception, what: str, attempts: int, endpoint: str, subject: str = ""
) -> tuple[str, str] | None:
    """What went wrong short of a service's answer (not a ``ClientError``), as a kind
    ('unreachable', 'credentials', 'exhausted' or 'other') and a message; None if not botocore's.

    ``endpoint`` is e.g. "S3 endpoint http://..."; ``subject`` follows "no usable AWS credentials".
    """
    from botocore.exceptions import (  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
        BotoCoreError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    tries = _tries(attempts)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return "unreachable", (
            f"cannot reach the {endpoint} while {what} ({tries}); check "
            "AWS_ENDPOINT_URL or the endpoint setting, and that the server is running"
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "credentials", (
            f"no usable AWS credentials{subject} while {what}; set AWS_PROFILE, "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure ~/.aws"
        )
    if _is_transient(exc):
        return "exhausted", f"{what} failed after {tries}: {type(exc).__name__}"
    if isinstance(exc, BotoCoreError):
        return "other", f"{what} failed: {exc}"
    return None


def _translate_client_error(ctx: _Context, what: str, exc: Any, tries: str) -> S3Error:
    bucket = ctx.target.bucket
    status, code = _status_and_code(exc)
    if code == "NoSuchBucket":
        return S3BucketNotFound(f"S3 bucket '{bucket}' does not exist (endpoint {ctx.endpoint})")
    if code in _DENIED or status == 403:
        return S3AccessDenied(
            f"access denied to S3 bucket '{bucket}' ({code or status}) while {what}, with "
            f"credentials from {_credentials_source(ctx.settings)}; they need {ctx.needs} on it"
        )
    if code in ("PreconditionFailed", "NoSuchKey") or status in (404, 412):
        return S3ObjectChanged(
            f"an object changed or was deleted while {what}; run again once the data is stable"
        )
    if _is_transient(exc):
        return S3RetriesExhausted(f"{what} failed after {tries}: {code} (HTTP {status})")
    message = str(exc.response.get("Error", {}).get("Message", ""))
    return S3Error(f"{what} failed: {code} (HTTP {status}) {message}".rstrip())


def _credentials_source(settings: S3Settings) -> str:
    """Where the credentials in use come from (a profile, the environment); never their values."""
    import boto3  # deferred: boto3 costs ~0.3 s, paid only when S3 is used

    profile = settings.profile or os.environ.get("AWS_PROFILE")
    try:
        session = boto3.session.Session(profile_name=settings.profile)
        credentials = session.get_credentials()
    except Exception:  # only a description: never let it mask the real error
        credentials = None
    method = getattr(credentials, "method", None)
    source = _CREDENTIAL_SOURCES.get(str(method), str(method or "an unknown source"))
    if profile and method != "env":
        return f"profile '{profile}' ({source})"
    return source


# -- result folder ----------------------------------------------------------------------------


def _view_path(cache_dir: Path, target: S3Uri, objects: list[_Object], single: bool) -> Path:
    listing = [[o.relative, o.blob] for o in sorted(objects, key=lambda o: o.relative)]
    digest = hashlib.sha256(json.dumps([str(target), single, listing]).encode()).hexdigest()
    return cache_dir / "views" / digest[:40]


def _assemble(ctx: _Context, view: Path, objects: list[_Object]) -> None:
    """Build the result folder under a temporary name, then rename it into place."""
    if view.is_dir():
        return
    view.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=_partial_dir(ctx.settings.cache_dir), prefix="view-"))
    try:
        for obj in objects:
            target = staging / obj.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(_blob_file(ctx, obj), target)
        try:
            staging.rename(view)
        except OSError:
            if not view.is_dir():  # not a concurrent download that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def link_or_copy(blob: Path, target: Path) -> None:
    """``target`` as a hard link to a cached file, else a read-only copy of it."""
    try:
        os.link(blob, target)
    except OSError:  # another file system, or no hard links there
        shutil.copyfile(blob, target)
        target.chmod(0o444)


# -- upload and clean-up ----------------------------------------------------------------------

_DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
_UPLOAD_NEEDS = "s3:PutObject (and s3:ListBucket, s3:DeleteObject to clean up)"
_DELETE_NEEDS = "s3:ListBucket and s3:DeleteObject"
TEST_ROOT = "cit-tests"


@dataclass(frozen=True)
class Upload:
    """A local folder copied under an S3 prefix."""

    uri: str
    files: int
    bytes: int
    links: int = 0
    """Links in the folder: never followed, so not uploaded."""


def _folder_uri(uri: str | S3Uri) -> S3Uri:
    """``uri`` as a folder: its key ends with '/' (or is '' for the bucket)."""
    target = uri if isinstance(uri, S3Uri) else S3Uri.parse(uri)
    if target.key and not target.key.endswith("/"):
        return S3Uri(target.bucket, target.key + "/")
    return target


def upload_folder(folder: Path, uri: str | S3Uri, settings: S3Settings | None = None) -> Upload:
    """Copy every file under ``folder`` to ``uri`` as a prefix, keeping relative paths as keys.

    Files go up in parallel, each retried with backoff like a download; the whole upload is
    bounded by ``download_timeout_seconds``. An empty folder uploads nothing.
    """
    target = _folder_uri(uri)
    settings = settings or S3Settings()
    if not is_real_dir(folder):
        raise S3Error(f"cannot upload {folder} to {target}: no such folder")
    found = walk(folder)
    if found.unreadable:
        raise S3Error(f"cannot read {folder / found.unreadable[0]} to upload it")
    files = [entry.rel for entry in found.files]
    ctx = _context(target, settings, time.monotonic() + settings.download_timeout_seconds)
    ctx.needs = _UPLOAD_NEEDS
    try:
        sizes = _upload_all(ctx, folder, files)
    except OSError as exc:
        raise S3Error(f"cannot read {exc.filename or folder} to upload it: {exc.strerror}") from exc
    log.debug("uploaded %s to %s: %d files", folder, target, len(files))
    return Upload(uri=str(target), files=len(files), bytes=sum(sizes), links=len(found.links))


def _upload_all(ctx: _Context, folder: Path, files: list[str]) -> list[int]:
    """Upload ``files`` in parallel; the first error or the deadline stops the rest."""
    if not files:
        return []
    return _in_parallel(
        ctx,
        [partial(_upload_one, ctx, folder / name, name) for name in files],
        "cit-s3-upload",
        lambda uploaded: (
            f"timed out after {ctx.settings.download_timeout_seconds:g} s uploading to "
            f"{ctx.target}; {uploaded} of {len(files)} files uploaded "
            "(raise download_timeout_seconds or check the endpoint)"
        ),
    )


def _upload_one(ctx: _Context, path: Path, relative: str) -> int:
    key = ctx.target.key + relative
    uri = f"s3://{ctx.target.bucket}/{key}"

    def put() -> int:
        with open_regular(path) as body:
            size = os.fstat(body.fileno()).st_size
            ctx.client.put_object(Bucket=ctx.target.bucket, Key=key, Body=body)
        return size

    return _call(ctx, f"uploading {uri}", put)


def delete_prefix(uri: str | S3Uri, settings: S3Settings | None = None) -> int:
    """Delete every object under ``uri`` (taken as a folder), in batches; returns how many.

    A whole bucket is refused: the URI must name a prefix.
    """
    target = _folder_uri(uri)
    if not target.key:
        raise S3UriError(
            f"refusing to delete everything in bucket '{target.bucket}': name a prefix"
        )
    settings = settings or S3Settings()
    ctx = _context(target, settings, time.monotonic() + settings.download_timeout_seconds)
    ctx.needs = _DELETE_NEEDS
    try:
        keys = _all_keys(ctx)
        for start in range(0, len(keys), _DELETE_BATCH):
            _delete_batch(ctx, keys[start : start + _DELETE_BATCH])
    except _DeadlinePassed as exc:
        raise S3Timeout(
            f"timed out after {settings.download_timeout_seconds:g} s deleting {target} "
            "(raise download_timeout_seconds or check the endpoint)"
        ) from exc
    log.debug("deleted %d objects under %s", len(keys), target)
    return len(keys)


def _all_keys(ctx: _Context) -> list[str]:
    """Every key under the prefix, folder markers included, page by page."""
    keys: list[str] = []
    token: str | None = None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        request = partial(
            ctx.client.list_objects_v2, Bucket=ctx.target.bucket, Prefix=ctx.target.key, **extra
        )
        page = _call(ctx, f"listing {ctx.target}", request)
        keys.extend(str(item["Key"]) for item in page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return keys


def _delete_batch(ctx: _Context, keys: list[str]) -> None:
    objects = [{"Key": key} for key in keys]
    request = partial(
        ctx.client.delete_objects,
        Bucket=ctx.target.bucket,
        Delete={"Objects": objects, "Quiet": True},
    )
    answer = _call(ctx, f"deleting under {ctx.target}", request)
    failed = answer.get("Errors") or []
    if not failed:
        return
    first = failed[0]
    code, key = str(first.get("Code", "")), first.get("Key", "")
    what = f"{len(failed)} of {len(keys)} objects under {ctx.target} were not deleted"
    if code in _DENIED:
        raise S3AccessDenied(
            f"{what}: access denied ({code}) with credentials from "
            f"{_credentials_source(ctx.settings)}; they need {ctx.needs} on it"
        )
    raise S3Error(f"{what}, e.g. s3://{ctx.target.bucket}/{key}: {code} {first.get('Message', '')}")


class TestEnvironment:
    """A unique S3 prefix for one test run: what the run uploads goes under it.

    Made by ``test_environment``, which removes everything under the prefix at the end.
    """

    __test__ = False

    def __init__(self, root: S3Uri, settings: S3Settings, cleanup: bool) -> None:
        self.root = root
        self.settings = settings
        self.cleanup = cleanup
        self.uploads: list[Upload] = []
        self.removed: int | None = None
        """Objects deleted at the end; None until then, and when kept."""

    @property
    def uri(self) -> str:
        """``s3://bucket/.../`` — the prefix, ending with '/'."""
        return str(self.root)

    def uri_for(self, step: str, output: str) -> str:
        """Where ``step``'s output ``output`` goes: ``<prefix><step>/<output>/``."""
        return f"{self.uri}{_key_part(step)}/{_key_part(output)}/"

    def upload(self, folder: Path, step: str, output: str) -> Upload:
        """Upload ``folder`` as ``step``'s output ``output``."""
        done = upload_folder(folder, self.uri_for(step, output), self.settings)
        self.uploads.append(done)
        return done

    def remove(self) -> int:
        """Delete everything under the prefix now; returns how many objects."""
        self.removed = delete_prefix(self.root, self.settings)
        return self.removed


def _key_part(text: str) -> str:
    """``text`` as one safe path segment of a key."""
    part = re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-.")
    return part or "unnamed"


def new_test_prefix(name: str, under: str = "", now: float | None = None) -> str:
    """``[under/]cit-tests/<name>/<UTC timestamp>-<random>/``, unique per call."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    root = f"{under.strip('/')}/" if under.strip("/") else ""
    return f"{root}{TEST_ROOT}/{_key_part(name)}/{stamp}-{secrets.token_hex(4)}/"


@contextmanager
def test_environment(
    bucket: str,
    name: str,
    settings: S3Settings | None = None,
    *,
    cleanup: bool = True,
    under: str = "",
) -> Iterator[TestEnvironment]:
    """A ``TestEnvironment`` at ``s3://<bucket>/[<under>/]cit-tests/<name>/<stamp>-<random>/``.

    The bucket is checked on entry (``S3BucketNotFound``, ``S3AccessDenied``). On exit, also
    on an exception, everything under the prefix is deleted unless ``cleanup`` is False; a
    failed clean-up after an exception is logged, so the first error is the one raised.
    """
    settings = settings or S3Settings()
    root = S3Uri.parse(f"s3://{bucket}/{new_test_prefix(name, under)}")
    check_bucket(root, settings)
    env = TestEnvironment(root, settings, cleanup)
    try:
        yield env
    except BaseException:
        if cleanup:
            try:
                env.remove()
            except S3Error as exc:
                log.warning("could not remove %s: %s", root, exc)
        raise
    if cleanup:
        env.remove()


test_environment.__test__ = False  # type: ignore[attr-defined]


def check_bucket(root: S3Uri, settings: S3Settings) -> None:
    """The bucket exists and may be listed: one small listing of ``root``
    (``S3BucketNotFound``, ``S3AccessDenied``, ``S3Timeout``, ...)."""
    ctx = _context(root, settings, time.monotonic() + settings.download_timeout_seconds)
    ctx.needs = _UPLOAD_NEEDS
    request = partial(ctx.client.list_objects_v2, Bucket=root.bucket, Prefix=root.key, MaxKeys=1)
    try:
        _call(ctx, f"checking bucket '{root.bucket}'", request)
    except _DeadlinePassed as exc:
        raise S3Timeout(
            f"timed out after {settings.download_timeout_seconds:g} s checking bucket "
            f"'{root.bucket}' (raise download_timeout_seconds or check the endpoint)"
        ) from exc


# -- SageMaker --------------------------------------------------------------------------------

_SAGEMAKER_NEEDS = (
    "sagemaker:ListPipelineExecutionSteps, sagemaker:DescribeProcessingJob and "
    "sagemaker:DescribeTrainingJob"
)
_SAGEMAKER_DENIED = _DENIED | {
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
}
_SAGEMAKER_MISSING = re.compile(r"could not find|not found|does not exist", re.IGNORECASE)
_STEPS_PAGE = 100  # the most steps one ListPipelineExecutionSteps page holds


class SageMakerClient:
    """The SageMaker calls of execution discovery (``executions.SageMakerApi``) in one region.

    Each call is retried on transient faults like an S3 request and bounded as a whole by
    ``download_timeout_seconds``; ``client`` replaces the boto3 client (e.g. one under a
    botocore ``Stubber``).
    """

    def __init__(self, settings: S3Settings, region: str, *, client: Any = None) -> None:
        self.settings = settings
        self.region = region
        subject = f"SageMaker in {region}"
        if client is None:
            client = _new_client(settings, subject, SageMakerUnavailable, "sagemaker", region)
        self._client = client
        self.endpoint = str(self._client.meta.endpoint_url)

    def pipeline_execution_steps(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every step of the execution (ListPipelineExecutionSteps, all pages)."""
        remaining = self._deadline()
        what = f"listing the steps of pipeline execution {execution_arn}"

        def missing(_: str) -> ExecutionError:
            return ExecutionNotFound(
                f"no pipeline execution {execution_arn} in region {self.region} (endpoint "
                f"{self.endpoint}); `aws sagemaker list-pipeline-executions --pipeline-name "
                "NAME` lists them"
            )

        steps: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            extra = {"NextToken": token} if token else {}
            request = partial(
                self._client.list_pipeline_execution_steps,
                PipelineExecutionArn=execution_arn,
                MaxResults=_STEPS_PAGE,
                **extra,
            )
            page = self._call(what, remaining, request, missing)
            steps.extend(page.get("PipelineExecutionSteps", []))
            token = page.get("NextToken")
            if not token:
                return steps

    def describe_processing_job(self, name: str) -> dict[str, Any]:
        """DescribeProcessingJob; a job SageMaker no longer knows is ``StepWithoutData``."""
        request = partial(self._client.describe_processing_job, ProcessingJobName=name)
        return self._describe("processing", name, request)

    def describe_training_job(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob; a job SageMaker no longer knows is ``StepWithoutData``."""
        request = partial(self._client.describe_training_job, TrainingJobName=name)
        return self._describe("training", name, request)

    def _describe(
        self, kind: str, name: str, request: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        def missing(message: str) -> ExecutionError:
            return StepWithoutData(
                f"its {kind} job '{name}' is gone (region {self.region}, endpoint "
                f"{self.endpoint}): {message}"
            )

        return self._call(f"describing {kind} job '{name}'", self._deadline(), request, missing)

    def _deadline(self) -> Callable[[], float]:
        end = time.monotonic() + self.settings.download_timeout_seconds
        return lambda: max(0.0, end - time.monotonic())

    def _call(
        self,
        what: str,
        remaining: Callable[[], float],
        request: Callable[[], T],
        missing: Callable[[str], ExecutionError],
    ) -> T:
        def translate(exc: Exception, attempts: int) -> ExecutionError | None:
            return self._translate(what, exc, attempts, missing)

        try:
            return _retried(self.settings, remaining, request, translate)
        except _DeadlinePassed as exc:
            raise SageMakerUnavailable(
                f"timed out after {self.settings.download_timeout_seconds:g} s {what} at "
                f"{self.endpoint} (raise download_timeout_seconds or check the endpoint)"
            ) from exc

    def _translate(
        self, what: str, exc: Exception, attempts: int, missing: Callable[[str], ExecutionError]
    ) -> ExecutionError | None:
        """The ``ExecutionError`` for ``exc``, or None for one that is not about SageMaker."""
        from botocore.exceptions import (  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
            ClientError,  # deferred: boto3 costs ~0.3 s, paid only when S3 is used
        )

        if isinstance(exc, ClientError):
            return self._translate_client_error(what, exc, attempts, missing)
        fault = _fault(exc, what, attempts, f"SageMaker endpoint {self.endpoint}")
        return None if fault is None else SageMakerUnavailable(fault[1])

    def _translate_client_error(
        self, what: str, exc: Any, attempts: int, missing: Callable[[str], ExecutionError]
    ) -> ExecutionError:
        status, code = _status_and_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if code in _SAGEMAKER_DENIED or status == 403:
            return SageMakerUnavailable(
                f"access denied ({code or status}) while {what}, with credentials from "
                f"{_credentials_source(self.settings)}; they need {_SAGEMAKER_NEEDS} in "
                f"region {self.region}"
            )
        gone = code == "ValidationException" and _SAGEMAKER_MISSING.search(message)
        if code in ("ResourceNotFound", "ResourceNotFoundException") or gone:
            return missing(message or code)
        if _is_transient(exc):
            return SageMakerUnavailable(
                f"{what} failed after {_tries(attempts)}: {code} (HTTP {status}); SageMaker at "
                f"{self.endpoint} is busy or failing, run again later"
            )
        return ExecutionError(f"{what} failed: {code} (HTTP {status}) {message}".rstrip())
