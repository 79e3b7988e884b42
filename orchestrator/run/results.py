"""Statuses and result records of a run; they serialise to JSON for the manifest and reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from ..data.profiles import OutputProfile
from ..engines.owner import Owner
from ..issues import Issue, has_errors

INTERRUPTED_BEFORE_START = "the run was interrupted before this step started"


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    OOM = "oom"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    @property
    def ok(self) -> bool:
        return self is Status.SUCCEEDED

    @property
    def broke(self) -> bool:
        """The step ran and did not succeed (as opposed to never running)."""
        return self in (Status.FAILED, Status.TIMEOUT, Status.OOM, Status.ERROR)


class OutputSummary(BaseModel):
    """One output handed downstream: where it is, what it holds and its captured schema."""

    name: str
    path: str
    files: int
    bytes: int
    schema_file: str | None = None
    profile: OutputProfile | None = None


class ConditionOutcome(BaseModel):
    """What a condition step found: whether its conditions held, what was compared, and the
    branch that runs."""

    met: bool
    detail: str
    """What was evaluated: ``evaluate.EvaluationReport metrics.accuracy.value = 0.73, needs
    >= 0.8``."""
    branch: str
    """'If' or 'Else'."""


class StepResult(BaseModel):
    name: str
    kind: str
    status: Status = Status.PENDING
    exit_code: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_seconds: float | None = None
    image: str | None = None
    sagemaker_image: str | None = None
    """The image the step's SageMaker definition names, when it came from one (``image`` is
    the one it ran on)."""
    excluded: bool = False
    """Left out of the run before it started (``--skip-step``, ``--skip-unsupported``):
    reported as skipped, with ``reason``, and never a failure."""
    image_id: str | None = None
    container_name: str | None = None
    log_file: str | None = None
    log_tail: list[str] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list)
    """What probably caused the step's failure and how to fix it (``hints.step_hints``)."""
    fault: str | None = None
    """What cit itself could not do for the step (``no space left on device writing
    <path>``); its status and exit code are still the container's own."""
    outputs: list[OutputSummary] = Field(default_factory=list)
    upstream: list[str] = Field(default_factory=list)
    container: dict[str, Any] = Field(default_factory=dict)
    """The step's container spec, secrets' values masked (``ContainerSpec.to_dict``):
    ``cit shell`` starts a container like it."""
    secret_variables: dict[str, str] = Field(default_factory=dict)
    """Container variable → the host variable its secret value came from (never the value)."""
    kept_container: str | None = None
    """The container left, stopped, after the step failed (``--keep-on-failure``)."""
    findings: list[Issue] = Field(default_factory=list)
    """What the step left that cit had to secure: links, special files, set-ID bits."""
    condition: ConditionOutcome | None = None
    """A condition step's evaluation."""
    branch_not_taken: bool = False
    """Skipped because it is in (or depends on a step in) the branch a condition did not
    take: as on SageMaker, that is no failure."""
    cached_from: str | None = None
    """Not run: its outputs are those of the same step in this earlier run (the step cache,
    or ``cit run --from/--until/--only``); its checks ran on them as on fresh ones."""
    cache_key: str | None = None
    """The step's key in the step cache (``cache_key.step_key``), when it has one."""

    @property
    def passed(self) -> bool:
        """Succeeded, and left nothing that is an error (such as a link out of its outputs);
        or skipped in a branch not taken."""
        if self.status is Status.SKIPPED:
            return self.branch_not_taken
        return self.status.ok and not has_errors(self.findings)


class RunResult(BaseModel):
    run_id: str
    pipeline: str
    pipeline_file: str
    run_dir: str
    status: Status = Status.RUNNING
    started_at: float
    finished_at: float | None = None
    cit_version: str
    owner: Owner | None = None
    """The cit process running it: a run left ``running`` by one that is gone was interrupted
    (``rundir.settled``)."""
    reason: str | None = None
    """Why it did not end as its steps say: cit was killed, or could not write its record."""
    steps: list[StepResult] = Field(default_factory=list)
    sources: dict[str, str] = Field(default_factory=dict)
    """``Step.channel`` -> the URI an input was fetched from (its mount is the local copy)."""

    @property
    def ok(self) -> bool:
        return self.status is Status.SUCCEEDED

    def step(self, name: str) -> StepResult:
        for result in self.steps:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1
