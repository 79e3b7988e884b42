"""Which reports are written and what they show: the formats, their file names in a run
directory, and the configuration file's ``reporting`` section."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ReportFormat = Literal["json", "junit", "html"]


FORMATS: tuple[ReportFormat, ...] = ("json", "junit", "html")


FILE_NAMES: dict[ReportFormat, str] = {
    "json": "report.json",
    "junit": "report.xml",
    "html": "report.html",
}
"""What each format is called in a run directory."""


class ReportingConfig(BaseModel):
    """The ``reporting`` section: which reports every command writes and what they show;
    ``output_directory`` is where ``cit test-all`` also copies its reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    formats: list[ReportFormat] = Field(default_factory=lambda: list[ReportFormat](["json"]))
    include_plots: bool = True
    include_data_samples: bool = True
    max_sample_size: int = Field(default=20, ge=0, le=100_000)
    output_directory: Path | None = None
    """Also copy every report here (relative to the configuration file)."""

    @property
    def sample_size(self) -> int:
        """Rows of each output shown in a report: none without ``include_data_samples``."""
        return self.max_sample_size if self.include_data_samples else 0
