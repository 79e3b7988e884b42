"""Which reports are written and what they show: the formats, their file names in a run
directory, and the configuration file's ``reporting`` section."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


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


class ReportingConfig(BaseModel):
    """The ``reporting`` section: which reports every command writes and what they show;
    ``output_directory`` is where ``cit test-all`` also copies its reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    formats: list[ReportFormat] = Field(default_factory=lambda: [ReportFormat.JSON])
    include_plots: bool = True
    include_data_samples: bool = True
    max_sample_size: int = Field(default=20, ge=0, le=100_000)
    output_directory: Path | None = None
    """Also copy every report here (relative to the configuration file)."""

    @property
    def sample_size(self) -> int:
        """Rows of each output shown in a report: none without ``include_data_samples``."""
        return self.max_sample_size if self.include_data_samples else 0
