"""The report formats and what each is called in a run directory."""

from __future__ import annotations

from enum import StrEnum


class ReportFormat(StrEnum):
    """A report's format; each compares equal to its name ("json", "junit", "html")."""

    JSON = "json"
    JUNIT = "junit"
    HTML = "html"


FORMATS: tuple[ReportFormat, ...] = tuple(ReportFormat)


FILE_NAMES: dict[ReportFormat, str] = {
    ReportFormat.JSON: "report.json",
    ReportFormat.JUNIT: "report.xml",
    ReportFormat.HTML: "report.html",
}
"""What each format is called in a run directory."""
