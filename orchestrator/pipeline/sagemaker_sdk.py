"""A pipeline built with the SageMaker Python SDK (a ``sagemaker.workflow.pipeline.Pipeline``
that a user's ``.py`` file assigns), read as the definition it would send to SageMaker.

The file runs with AWS mocked inside this process (moto's ``mock_aws``): sessions, default
buckets and the code "uploads" the SDK makes while it builds ``Pipeline.definition()`` go to an
in-memory S3, so nothing is called or uploaded. What the SDK uploaded is recorded on the way
(``Uploads``), so the definition's code and data URIs map back to the user's own files.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import MAX_NESTING, described, nesting, parse_python

SDK_EXTRA = 'pip install "cit-sagemaker[sagemaker]"'
"""What installs the SageMaker SDK and moto beside cit."""

_OFFLINE_ENV = {
    # The user's profiles (SSO, credential_process) must not run; moto brings its own keys.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_ENDPOINT_URL": None,
    "AWS_ENDPOINT_URL_S3": None,
    "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
}
_DEFAULT_REGION = "us-east-1"


@dataclass
class Uploads:
    """``s3://`` URI → the local file or folder the SDK uploaded there while building."""

    files: dict[str, Path] = field(default_factory=dict)
    folders: dict[str, Path] = field(default_factory=dict)

    def local_path(self, uri: str) -> Path | None:
        """The local file or folder ``uri`` holds, when the SDK put it there from this machine."""
        uri = uri.rstrip("/")
        if uri in self.folders:
            return self.folders[uri]
        if uri in self.files:
            return self.files[uri]
        inside = [u for u in self.files if u.startswith(uri + "/")]
        if not inside:
            return None
        # A folder upload puts each file at the prefix plus its path inside the folder.
        relative = inside[0].removeprefix(uri + "/")
        folder = self.files[inside[0]]
        for _ in Path(relative).parts:
            folder = folder.parent
        return folder

    def folders_holding_code(self) -> list[Path]:
        """The folders the uploaded code came from, where a script the SDK packed up (a
        training ``source_dir``) is looked for too."""
        found = [*self.folders.values(), *(p.parent for p in self.files.values())]
        return list(dict.fromkeys(p for p in found if p.is_dir()))


def imports_sagemaker(path: Path) -> bool:
    """Whether the Python file imports the SageMaker SDK (read, not run)."""
    for node in ast.walk(parse_python(path)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module or ""]
        else:
            continue
        if any(module.split(".")[0] == "sagemaker" for module in modules):
            return True
    return False


def is_sdk_pipeline(value: object) -> bool:
    """A SageMaker SDK ``Pipeline`` object (told by its class, without importing the SDK)."""
    if isinstance(value, type):
        return False
    # the class first: a user's object whose __getattr__ raises is never asked
    return any(
        cls.__name__ == "Pipeline" and cls.__module__.split(".")[0] == "sagemaker"
        for cls in type(value).__mro__
    ) and callable(getattr(value, "definition", None))


@contextlib.contextmanager
def offline_aws(path: Path) -> Iterator[Uploads]:
    """AWS mocked in this process while the block runs: every boto3 call, the SDK's included,
    is answered in memory. Yields what the SDK uploads meanwhile."""
    mock_aws = _mock_aws(path)
    uploads = Uploads()
    with _environment(), _quiet(), mock_aws(), _recording(uploads):
        yield uploads


def sdk_definition(pipeline: Any, path: Path) -> dict[str, Any]:
    """``pipeline.definition()`` as data; run inside ``offline_aws``."""
    try:
        text = pipeline.definition()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the user's pipeline: any exception is the file's mistake
        raise InputError(f"Pipeline.definition() failed: {described(exc)}", file=path) from None
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise InputError("Pipeline.definition() did not return JSON", file=path) from None
    if nesting(data) > MAX_NESTING:
        message = f"Pipeline.definition() is nested deeper than {MAX_NESTING} levels"
        raise InputError(message, file=path)
    if not isinstance(data, dict):
        raise InputError("Pipeline.definition() did not return a JSON object", file=path)
    return data


def sdk_pipeline_name(pipeline: Any) -> str | None:
    name = getattr(pipeline, "name", None)
    return name if isinstance(name, str) and name else None


def _mock_aws(path: Path) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    if importlib.util.find_spec("sagemaker") is None:
        raise InputError(
            f"imports the SageMaker Python SDK, which is not installed: {SDK_EXTRA}", file=path
        )
    try:
        from moto import mock_aws
    except ImportError:
        raise InputError(
            "builds a SageMaker SDK pipeline; cit reads it offline with moto, which is not "
            f"installed: {SDK_EXTRA}",
            file=path,
        ) from None
    return mock_aws


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name, value in _OFFLINE_ENV.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
            os.environ["AWS_DEFAULT_REGION"] = _DEFAULT_REGION
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The SDK's notices (config files looked for, deprecations) are not cit's output; its
    loggers set their own levels when imported, so logging is switched off below errors."""
    previous = logging.root.manager.disable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)


@contextlib.contextmanager
def _recording(uploads: Uploads) -> Iterator[None]:
    """Note where each upload came from: boto3's managed transfer (every file the SDK puts)
    and the SDK's packing of a ``source_dir`` (whose archive is a temporary file)."""
    from boto3.s3.transfer import S3Transfer

    upload_file = S3Transfer.upload_file

    def recorded_upload(
        self: Any, filename: Any, bucket: str, key: str, *args: Any, **kwargs: Any
    ) -> Any:
        uploads.files[f"s3://{bucket}/{key}"] = Path(os.fspath(filename)).resolve()
        return upload_file(self, filename, bucket, key, *args, **kwargs)

    S3Transfer.upload_file = recorded_upload
    restore_packing = _record_source_dirs(uploads)
    restore_telemetry = _without_telemetry()
    try:
        yield
    finally:
        S3Transfer.upload_file = upload_file
        restore_packing()
        restore_telemetry()


def _without_telemetry() -> Callable[[], None]:
    """The SDK reports its use with a plain HTTP request, which moto does not see; it is not
    sent."""
    try:
        from sagemaker.telemetry import telemetry_logging
    except ImportError:
        return lambda: None
    send = getattr(telemetry_logging, "_requests_helper", None)
    if send is None:
        return lambda: None
    setattr(telemetry_logging, "_requests_helper", lambda *args, **kwargs: None)  # noqa: B010
    return lambda: setattr(telemetry_logging, "_requests_helper", send)


def _record_source_dirs(uploads: Uploads) -> Callable[[], None]:
    """Wrap the SDK's ``tar_and_upload_dir`` where the estimators call it from."""
    try:
        from sagemaker import estimator, fw_utils
    except ImportError:
        return lambda: None
    pack = getattr(fw_utils, "tar_and_upload_dir", None)
    if pack is None:
        return lambda: None
    signature = inspect.signature(pack)

    def recorded_pack(*args: Any, **kwargs: Any) -> Any:
        result = pack(*args, **kwargs)
        with contextlib.suppress(TypeError):
            call = signature.bind(*args, **kwargs).arguments
            local = _local_folder(call.get("directory")) or _local_folder(
                call.get("script"), parent=True
            )
            uri = getattr(result, "s3_prefix", None)
            if isinstance(uri, str) and local is not None:
                uploads.folders[uri.rstrip("/")] = local
        return result

    modules = [m for m in (fw_utils, estimator) if getattr(m, "tar_and_upload_dir", None) is pack]
    for module in modules:
        setattr(module, "tar_and_upload_dir", recorded_pack)  # noqa: B010 (the SDK's, untyped)

    def restore() -> None:
        for module in modules:
            setattr(module, "tar_and_upload_dir", pack)  # noqa: B010

    return restore


def _local_folder(value: Any, *, parent: bool = False) -> Path | None:
    if not isinstance(value, str | os.PathLike) or str(value).startswith("s3://"):
        return None
    path = Path(os.fspath(value)).resolve()
    return path.parent if parent else path
