"""Executing a plan: steps in DAG order, independent ones at once, faults turned into results."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from .._version import __version__
from ..engines.base import Engine
from ..engines.owner import this_process
from ..errors import RunDirectoryError
from ..files import write_problem
from ..pipeline.graph import descendants
from ..pipeline.model import SkippedStep
from .conditions import not_taken_reason, run_without_container
from .hints import archive_inputs, kept_hint, step_hints
from .observer import NullObserver, RunObserver
from .plan import PlannedStep, RunPlan, missing_sub_paths
from .results import INTERRUPTED_BEFORE_START, ConditionOutcome, RunResult, Status, StepResult
from .rundir import SpaceReserve, write_manifest
from .step_cache import StepCache, taken_result
from .step_runner import prepare, run_step, step_record

WAIT_SECONDS = 0.2


def execute(
    plan: RunPlan,
    engine: Engine,
    *,
    max_workers: int,
    observer: RunObserver | None = None,
    cancel: threading.Event | None = None,
    cache: StepCache | None = None,
    taken: Mapping[str, Path] | None = None,
) -> RunResult:
    """Run every step of ``plan``; Ctrl-C stops running containers, marks the run interrupted.
    With ``cache``, a step whose key is unchanged takes its cached outputs instead of running,
    and what passes is kept. A step in ``taken`` takes the outputs of its folder there (in an
    earlier run) and never runs."""
    run = Execution(
        plan, engine, observer or NullObserver(), cancel or threading.Event(), cache, taken
    )
    return run.execute(max(1, max_workers))


class Execution:
    """The state of one run while it executes; saved to the manifest as steps start and end."""

    def __init__(
        self,
        plan: RunPlan,
        engine: Engine,
        observer: RunObserver,
        cancel: threading.Event,
        cache: StepCache | None = None,
        taken: Mapping[str, Path] | None = None,
    ) -> None:
        self.plan = plan
        self.engine = engine
        self.observer = observer
        self.cancel = cancel
        self.cache = cache
        self.taken = dict(taken or {})
        """Steps whose outputs come from their folder in an earlier run."""
        self.created_ahead: set[str] = set()
        self.launched: set[str] = set()
        """Steps whose container was started (not taken from the cache)."""
        self.save_error: str | None = None
        self.fault: str | None = None
        """The first thing cit could not write for the run (the run's ``reason``)."""
        self.reserve = SpaceReserve(plan.run_dir)
        self.result = RunResult(
            run_id=plan.run_id,
            pipeline=plan.pipeline_name,
            pipeline_file=str(plan.pipeline_file),
            run_dir=str(plan.run_dir),
            started_at=time.time(),
            cit_version=__version__,
            owner=this_process(),
            steps=[
                *(step_record(p, Status.PENDING) for p in plan.steps.values()),
                *(excluded_record(s) for s in plan.skipped),
            ],
            sources=dict(plan.sources),
        )

    def execute(self, max_workers: int) -> RunResult:
        running: dict[Future[StepResult], str] = {}
        self.reserve.hold()
        if self.cache is not None:
            with contextlib.suppress(Exception):  # a cap lowered since the last run applies now
                self.cache.evict()
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="cit-step") as pool:
            try:
                self.save()
                self._notify(self.observer.run_started, self.result)
                self._schedule(pool, running, max_workers)
            except KeyboardInterrupt:
                self.cancel.set()
            finally:
                self._drain(running)
                self._close()
                self.reserve.release()
                if self.cache is not None:
                    self.cache.close()
        if self.save_error:
            raise RunDirectoryError(f"cannot record the run: {self.save_error}")
        return self.result

    def _schedule(
        self, pool: ThreadPoolExecutor, running: dict[Future[StepResult], str], max_workers: int
    ) -> None:
        """Start ready steps while workers are free, until all are done or ``cancel`` is set."""
        while not self.cancel.is_set():
            for name in self._ready()[: max_workers - len(running)]:
                running[pool.submit(self._run_one, self.plan.steps[name])] = name
                self._set(step_record(self.plan.steps[name], Status.RUNNING))
                self._notify(self.observer.step_started, self.result.step(name))
                self.save()
            if not running:
                return
            self._create_ahead(max_workers)
            done, _ = wait(running, timeout=WAIT_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                self._record(future.result(), running.pop(future))

    def _drain(self, running: dict[Future[StepResult], str]) -> None:
        """Wait for running steps to stop and remove their containers (bounded by the engine's
        timeouts); a front end that wants repeated Ctrl-C ignored meanwhile sets ``cancel``."""
        while running:
            try:
                done, _ = wait(running, timeout=WAIT_SECONDS, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                continue
            for future in done:
                self._record(future.result(), running.pop(future))

    def _run_one(self, planned: PlannedStep) -> StepResult:
        """The one place where an unexpected exception in a step becomes a result."""
        if self.cancel.is_set():
            self._discard_created(planned.name)
            return step_record(planned, Status.SKIPPED, INTERRUPTED_BEFORE_START)
        if planned.name in self.taken:
            return self._take(planned)
        missing = missing_sub_paths(planned)
        if missing:
            return step_record(planned, Status.SKIPPED, missing)
        try:
            if planned.job is None:
                return run_without_container(planned, self.plan.steps)
            return self._run_or_reuse(planned)
        except OSError as exc:
            reason = f"cit could not prepare or run this step: {write_problem(exc)}"
            return step_record(planned, Status.ERROR, reason).model_copy(update={"fault": reason})
        except Exception as exc:
            reason = f"cit failed while running this step: {type(exc).__name__}: {exc}"
            return step_record(planned, Status.ERROR, reason)

    def _take(self, planned: PlannedStep) -> StepResult:
        """A step taken from an earlier run; an error result when its outputs went meanwhile."""
        earlier = self.taken[planned.name]
        try:
            return taken_result(planned, earlier, time.time())
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            reason = f"cannot take its outputs from {earlier}: {exc}"
            return step_record(planned, Status.ERROR, reason)

    def _run_or_reuse(self, planned: PlannedStep) -> StepResult:
        """The cached outputs of a step whose key is unchanged, else its container's run
        (kept in the cache when it passes)."""
        key = self._cache_key(planned)
        if key is not None and self.cache is not None:
            reused = self.cache.reuse(planned, key)
            if reused is not None:
                self._discard_created(planned.name)
                return reused
        self.launched.add(planned.name)
        result = run_step(planned, self.engine, self.observer, self.cancel)
        if key is not None and self.cache is not None:
            result.cache_key = key
            self.cache.keep(planned, key, result, self.plan.run_id)
        return result

    def _cache_key(self, planned: PlannedStep) -> str | None:
        """The step's cache key; None without a cache or when its inputs cannot be read
        (the step then runs, and says what is wrong)."""
        if self.cache is None:
            return None
        try:
            return self.cache.key(planned, self.plan)
        except Exception:  # the cache only saves time: a step it cannot key just runs
            return None

    def _create_ahead(self, max_workers: int) -> None:
        """Create the containers of steps whose upstream is running, while it runs.

        Creation then leaves the path from one step's end to the next one's start. Nothing is
        lost when it fails here: the step creates its container itself and reports the error.
        """
        states = {s.name: s.status for s in self.result.steps}
        waiting = [n for n in self.created_ahead if states[n] is Status.PENDING]
        for name, planned in self.plan.steps.items():
            if len(waiting) >= max_workers:
                return
            upstream = planned.step.upstream
            if states[name] is not Status.PENDING or name in self.created_ahead or not upstream:
                continue
            if planned.job is None or planned.job.copies or planned.sub_paths or planned.job.peers:
                # A sub-path's folder is checked when the step starts, its producer done; the
                # hosts of a job on several instances need their network, made at the start.
                continue
            if self.cache is not None and not any(
                states[up] is Status.RUNNING and up in self.launched for up in upstream
            ):
                continue  # upstream taken from the cache: this one likely is too
            if all(states[up] in (Status.RUNNING, Status.SUCCEEDED) for up in upstream):
                waiting.append(name)
                self.created_ahead.add(name)
                with contextlib.suppress(Exception):
                    prepare(planned)
                    self.engine.create(planned.job.container)

    def _discard_created(self, name: str) -> None:
        if name in self.created_ahead:
            with contextlib.suppress(Exception):
                self.engine.remove_container(self.plan.steps[name].container_job.container.name)

    def _ready(self) -> list[str]:
        if self.cancel.is_set():
            return []
        states = {s.name: s.status for s in self.result.steps}
        return [
            name
            for name, planned in self.plan.steps.items()
            if states[name] is Status.PENDING
            and all(states[up] is Status.SUCCEEDED for up in planned.step.upstream)
        ]

    def _record(self, step: StepResult, name: str) -> None:
        step.hints = self._hints(step, name)
        self.fault = self.fault or step.fault
        self._set(step)
        self._notify(self.observer.step_finished, step)
        if not step.status.ok:
            self._skip_descendants(name)
        elif step.condition is not None:
            self._skip_branch_not_taken(name, step.condition)
        self.save()

    def _hints(self, step: StepResult, name: str) -> list[str]:
        """What points at the cause of a step's failure (``hints``), and how to get inside
        its container when it was kept."""
        steps = {n: p.step for n, p in self.plan.steps.items()}
        hints = step_hints(step, archive_inputs(self.plan.steps[name].step, steps))
        return hints + kept_hint(step, self.plan.run_id)

    def _skip_descendants(self, name: str) -> None:
        steps = {n: p.step for n, p in self.plan.steps.items()}
        for child in descendants(steps, name):
            current = self.result.step(child)
            if current.status is Status.PENDING:
                current.status = Status.SKIPPED
                current.reason = (
                    INTERRUPTED_BEFORE_START
                    if self.cancel.is_set()
                    else f"upstream step '{name}' did not succeed"
                )
                self._discard_created(child)
                self._notify(self.observer.step_finished, current)

    def _skip_branch_not_taken(self, name: str, outcome: ConditionOutcome) -> None:
        """Skip the steps of the branch condition ``name`` did not take, and the steps that
        depend on them, as passing: SageMaker does not run them, and that is no failure."""
        condition = self.plan.steps[name].step
        not_taken = condition.else_steps if outcome.met else condition.if_steps
        steps = {n: p.step for n, p in self.plan.steps.items()}
        for branch_step in not_taken:
            self._skip_not_taken(branch_step, not_taken_reason(name, outcome))
        for branch_step in not_taken:
            below = descendants(steps, branch_step)
            for child in [n for n in self.plan.steps if n in below]:
                self._skip_not_taken(child, not_taken_reason(name, outcome, via=branch_step))

    def _skip_not_taken(self, name: str, reason: str) -> None:
        current = self.result.step(name)
        if current.status is Status.PENDING:
            current.status = Status.SKIPPED
            current.reason = reason
            current.branch_not_taken = True
            self._discard_created(name)
            self._notify(self.observer.step_finished, current)

    def _close(self) -> None:
        for step in self.result.steps:
            if step.status is Status.PENDING:
                step.status = Status.SKIPPED
                step.reason = INTERRUPTED_BEFORE_START
                self._discard_created(step.name)
        self.result.finished_at = time.time()
        self.result.status = overall_status(self.result.steps, self.cancel.is_set())
        if self.fault and not self.result.ok:
            self.result.reason = self.fault
        self.save_error = None  # what the last save leaves on disk is what counts
        self.save(last=True)
        self._notify(self.observer.run_finished, self.result)

    def _notify(self, hook: Callable[[Any], None], value: Any) -> None:
        """Tell the observer; a front end that fails (a closed terminal) never stops the run."""
        with contextlib.suppress(Exception):
            hook(value)

    def _set(self, step: StepResult) -> None:
        self.result.steps = [step if s.name == step.name else s for s in self.result.steps]

    def save(self, *, last: bool = False) -> None:
        """Write the manifest; the ``last`` one, on a full disk, into the space the reserve
        gives back. A failure is kept for the end, after the containers are gone."""
        try:
            write_manifest(self.plan.run_dir, manifest(self.result), self.reserve if last else None)
        except OSError as exc:
            self.save_error = self.save_error or write_problem(exc)
            self.fault = self.fault or self.save_error


def excluded_record(step: SkippedStep) -> StepResult:
    """The result of a step left out before the run: skipped, with why."""
    return StepResult(
        name=step.name, kind=step.kind, status=Status.SKIPPED, reason=step.reason, excluded=True
    )


def overall_status(steps: list[StepResult], interrupted: bool) -> Status:
    if interrupted:
        return Status.INTERRUPTED
    if all(s.passed or s.excluded for s in steps):
        return Status.SUCCEEDED
    return Status.FAILED


def manifest(run: RunResult) -> dict[str, object]:
    return {"schema_version": 1, **run.model_dump(mode="json")}
