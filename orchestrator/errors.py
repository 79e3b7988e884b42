"""The exceptions cit raises.

Every error a user can cause or fix is a ``CitError``; the CLI prints it as one line and
exits with code 2. Faults inside a step (crash, timeout, out of memory) are not exceptions:
they become step results.

    CitError
    ├── InputError            a file the user wrote is wrong
    │   └── PipelineError     the pipeline itself is inconsistent (cycle, unknown reference)
    ├── EngineUnavailable     no container engine answers
    │   └── GpusUnavailable   steps on GPU instance types, an engine without GPUs
    ├── ImageError            a step's image is missing
    │   └── ImageBuildError   the runner image cannot be built
    ├── RunDirectoryError     the run directory cannot be created
    ├── S3Error               S3 data cannot be fetched or uploaded (orchestrator.s3)
    │   ├── S3UriError            not an s3://bucket/key URI (also a ValueError)
    │   ├── S3BucketNotFound      the bucket does not exist
    │   ├── S3AccessDenied        the credentials may not list or read it (or there are none)
    │   ├── S3NothingFound        no object at the URI or under it
    │   ├── S3EndpointUnreachable the endpoint does not answer
    │   ├── S3RetriesExhausted    transient faults until the retries ran out
    │   ├── S3Timeout             longer than download_timeout_seconds
    │   ├── S3ObjectChanged       an object changed between listing and download
    │   └── S3CacheError          the local cache cannot be written
    └── ExecutionError        a pipeline execution's step outputs cannot be found
        ├── ExecutionNotFound     no such execution (orchestrator.executions)
        ├── StepNotFound          no such step in it (the message lists its steps)
        ├── StepNotFinished       the step or its job is still running
        ├── StepFailed            the step or its job failed or was stopped
        ├── StepWithoutData       no processing or training job, or no S3 outputs
        └── SageMakerUnavailable  unreachable, access denied, retries or time exhausted
"""

from __future__ import annotations

from pathlib import Path


class CitError(Exception):
    """Base of every error that is the user's to fix; exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(CitError):
    """A file the user wrote cannot be used: which file, which field, what is allowed."""

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.field = field
        self.line = line
        self.detail = printable(message)
        """What is wrong, without the file and field it is in."""
        super().__init__(self._format(message))

    def _format(self, message: str) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        # one line, whatever a file name, a field (a step named in YAML) or a value holds
        return printable(f"{where}: {message}" if where else message)


class PipelineError(InputError):
    """The pipeline's steps do not fit together: a cycle, an unknown step or output."""


class EngineUnavailable(CitError):
    """No Docker engine is reachable."""


class GpusUnavailable(EngineUnavailable):
    """Steps run on GPU instance types and the engine has no GPUs to give them."""


class ImageError(CitError):
    """The runner image is missing and cannot be built, or a step's image does not exist."""


class PullError(ImageError):
    """An image cannot be pulled: ``reason`` is the registry's (or the network's) answer, and
    ``unreachable`` says no registry answered at all."""

    def __init__(self, ref: str, reason: str, *, unreachable: bool) -> None:
        self.ref = ref
        self.reason = reason
        self.unreachable = unreachable
        if unreachable:
            text = f"cannot pull {ref}: no registry reachable ({reason})"
        else:
            text = f"cannot pull {ref}: {reason}"
        super().__init__(
            f"{text}; build it or tag one of yours with that name"
            " (a SageMaker pipeline can map it with --image-map)"
        )


class ImageBuildError(ImageError):
    """Building the runner image failed: which stage, the last log lines, what to try."""


class RunDirectoryError(CitError):
    """The run directory cannot be created or written."""


# S3 (orchestrator.s3) ---------------------------------------------------------------------


class S3Error(CitError):
    """S3 data cannot be downloaded; the message says which URI and what to check."""


class S3UriError(S3Error, ValueError):
    """Text that is not a usable ``s3://bucket/key`` URI."""


class S3BucketNotFound(S3Error):
    """The bucket does not exist on the endpoint."""


class S3AccessDenied(S3Error):
    """The credentials in use may not list or read the bucket (or there are none)."""


class S3NothingFound(S3Error):
    """No object has the URI's key, and none lies under it as a prefix."""


class S3EndpointUnreachable(S3Error):
    """The S3 endpoint does not answer."""


class S3RetriesExhausted(S3Error):
    """A request kept failing with transient errors until the retries ran out."""


class S3Timeout(S3Error):
    """The whole download took longer than ``download_timeout_seconds``."""


class S3ObjectChanged(S3Error):
    """An object changed or vanished between listing and download."""


class S3CacheError(S3Error):
    """The local cache cannot be written, or a key cannot be a local file name."""


# Pipeline executions (orchestrator.executions) ------------------------------------------


class ExecutionError(CitError):
    """A pipeline execution's step cannot give its outputs; the message says why."""


class ExecutionNotFound(ExecutionError):
    """No pipeline execution has that ARN (in that region, on that endpoint)."""


class StepNotFound(ExecutionError):
    """The execution has no step of that name; the message lists the names it has."""


class StepNotFinished(ExecutionError):
    """The step (or its job) is still running."""


class StepFailed(ExecutionError):
    """The step (or its job) failed or was stopped; the message gives the reason."""


class StepWithoutData(ExecutionError):
    """The step ran no processing or training job, its job wrote nothing to S3, or is gone."""


class SageMakerUnavailable(ExecutionError):
    """SageMaker cannot be asked: unreachable, access denied, retries exhausted or timed out."""


_CONTROL = {
    code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]
} | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def printable(text: str) -> str:
    """``text`` with control characters (newlines, NUL, escape sequences) written as escapes,
    so that a message built from a user's values stays one line and cannot drive a terminal."""
    return text.translate(_CONTROL)
