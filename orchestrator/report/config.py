"""Which reports are written and what they show: the configuration file's ``reporting``
section (the formats themselves are in ``formats``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .formats import ReportFormat


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
