"""The exceptions cit raises.

Every error a user can cause or fix is a ``CitError``; the CLI prints it as one line and
exits with code 2. Faults inside a step (crash, timeout, out of memory) are not exceptions:
they become step results.

    CitError
    ├── InputError            a file the user wrote is wrong
    │   └── PipelineError     the pipeline itself is inconsistent (cycle, unknown reference)
    ├── EngineUnavailable     no container engine answers
    ├── ImageError            a step's image is missing
    │   └── ImageBuildError   the runner image cannot be built
    ├── RunDirectoryError     the run directory cannot be created
    ├── S3Error               S3 data cannot be fetched or uploaded (``orchestrator.s3``:
    │                         bucket missing, access denied, nothing there, timed out, ...)
    └── ExecutionError        a SageMaker pipeline execution's step outputs cannot be found
                              (``orchestrator.executions``: no such execution or step, step
                              not finished or failed, SageMaker unreachable or denied)
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
        super().__init__(self._format(message))

    def _format(self, message: str) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        return f"{where}: {message}" if where else message


class PipelineError(InputError):
    """The pipeline's steps do not fit together: a cycle, an unknown step or output."""


class EngineUnavailable(CitError):
    """No Docker engine is reachable."""


class ImageError(CitError):
    """The runner image is missing and cannot be built, or a step's image does not exist."""


class ImageBuildError(ImageError):
    """Building the runner image failed: which stage, the last log lines, what to try."""


class RunDirectoryError(CitError):
    """The run directory cannot be created or written."""
