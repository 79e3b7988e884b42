"""The verdict of a command: what it judged, as one outcome and the exit code that says it.

Every command that judges something (steps, edges, outputs against their schemas, test cases,
S3 inputs, data-quality checks, expectations) records each judgement as an ``Outcome``, one per
report item; ``verdict_of`` is the only place where outcomes become an exit code, so the exit
code, ``report.json`` and JUnit cannot disagree:

====  ==================================================================================
0     everything judged passed (or was skipped)
1     something judged failed or errored: a step, an error-level finding, an expectation,
      a test
2     bad input or environment: a ``CitError`` stopped the command, or a part of it that
      judges nothing (an S3 upload)
130   interrupted (Ctrl-C, SIGTERM, a closed terminal)
====  ==================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .issues import Issue

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class Outcome(StrEnum):
    """The verdict on a test item, a suite or a whole report."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


EXPECTED_FAILURE = "failed as expected"
"""What a test case that was to fail (``should_complete: false``) and did is called."""

STYLES = {
    Outcome.PASSED: "green",
    Outcome.FAILED: "bold red",
    Outcome.ERROR: "bold red",
    Outcome.SKIPPED: "yellow",
    Outcome.INTERRUPTED: "yellow",
}
"""The terminal colour of each outcome, wherever the console shows one."""

STATUS_OUTCOMES = {
    "succeeded": Outcome.PASSED,
    "failed": Outcome.FAILED,
    "timeout": Outcome.FAILED,
    "oom": Outcome.FAILED,
    "error": Outcome.ERROR,
    "skipped": Outcome.SKIPPED,
    "pending": Outcome.SKIPPED,
    "running": Outcome.INTERRUPTED,
    "interrupted": Outcome.INTERRUPTED,
}
"""A step's (or a run's) status as the outcome it judges to: a timed-out step failed, a step
left ``running`` by a stopped cit was interrupted."""


def outcome_word(outcome: Outcome, *, expected_failure: bool = False) -> str:
    """How the console, ``cit history``, HTML and JUnit name an outcome: its value, and
    "failed as expected" for a passed test case that was to fail."""
    if outcome is Outcome.PASSED and expected_failure:
        return EXPECTED_FAILURE
    return outcome.value


def outcome_of_status(status: str) -> Outcome:
    """The outcome of a step or run status (``Status`` values)."""
    return STATUS_OUTCOMES[status]


def overall(outcomes: Iterable[Outcome]) -> Outcome:
    """The worst of ``outcomes``: interrupted, error, failed, then passed (skips do not count)."""
    seen = set(outcomes)
    for worst in (Outcome.INTERRUPTED, Outcome.ERROR, Outcome.FAILED):
        if worst in seen:
            return worst
    return Outcome.PASSED


@dataclass(frozen=True)
class Verdict:
    """A command's outcome and its exit code, always decided together."""

    outcome: Outcome
    exit_code: int

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_PASSED


def verdict_of(
    outcomes: Iterable[Outcome], *, interrupted: bool = False, bad_input: bool = False
) -> Verdict:
    """The verdict on everything a command judged.

    ``outcomes`` are those of its items (and suites); ``interrupted`` says the command was
    stopped even if no item shows it (a run stopped before any step started); ``bad_input``
    that a ``CitError`` stopped a part of it that judges nothing, such as an upload.
    """
    worst = overall(outcomes)
    if interrupted or worst is Outcome.INTERRUPTED:
        return Verdict(Outcome.INTERRUPTED, EXIT_INTERRUPTED)
    if bad_input:
        return Verdict(Outcome.ERROR if worst is Outcome.PASSED else worst, EXIT_BAD_INPUT)
    if worst is Outcome.PASSED:
        return Verdict(Outcome.PASSED, EXIT_PASSED)
    return Verdict(worst, EXIT_FAILED)


def finding_outcomes(issues: Iterable[Issue]) -> list[Outcome]:
    """Findings as judged items: an error-level one fails, a warning passes."""
    return [Outcome.FAILED if issue.is_error else Outcome.PASSED for issue in issues]
