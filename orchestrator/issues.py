"""Findings of data-flow and contract checks: one ``Issue`` per problem, with a severity."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class RuleInfo(NamedTuple):
    """A rule's default severity and what it means, as docs/data-flow.md's tables list it."""

    severity: Severity
    meaning: str


class Issue(BaseModel):
    """One problem found: which rule, how bad, where, and how to fix it."""

    rule: str
    severity: Severity
    description: str
    hint: str | None = None
    step: str | None = None
    edge: str | None = None
    """'Producer.output -> Consumer.input' for an issue on an edge; 'Producer.output' for one on
    an output that no tested edge carries."""
    file: str | None = None
    """The script, contract or schema file the issue is about."""
    line: int | None = None
    column: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def located(self, **where: str | None) -> Issue:
        """This issue with its location filled in where it had none."""
        updates = {k: v for k, v in where.items() if v is not None and getattr(self, k) is None}
        return self.model_copy(update=updates)


def errors_in(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.is_error]


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(issue.is_error for issue in issues)
