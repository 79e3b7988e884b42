"""Hooks that let a front end follow a run while it happens."""

from __future__ import annotations

from typing import Protocol

from .results import RunResult, StepResult


class RunObserver(Protocol):
    def run_started(self, run: RunResult) -> None: ...

    def step_started(self, step: StepResult) -> None: ...

    def step_log(self, step: str, text: str) -> None:
        """Output of a running step: one or more whole lines, each ending in the line break
        the step wrote (``\\r`` for a line the next one overwrites); called from the thread
        reading the container's output, which it must not hold up."""

    def step_finished(self, step: StepResult) -> None: ...

    def run_finished(self, run: RunResult) -> None: ...


class NullObserver:
    """Follows nothing: for the Python API and tests."""

    def run_started(self, run: RunResult) -> None:
        pass

    def step_started(self, step: StepResult) -> None:
        pass

    def step_log(self, step: str, text: str) -> None:
        pass

    def step_finished(self, step: StepResult) -> None:
        pass

    def run_finished(self, run: RunResult) -> None:
        pass
