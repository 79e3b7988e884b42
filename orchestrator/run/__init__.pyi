"""The public names of orchestrator.run, loaded on first use."""

from .pipeline_run import execute_pipeline as execute_pipeline
from .results import OutputSummary as OutputSummary
from .results import RunResult as RunResult
from .results import Status as Status
from .results import StepResult as StepResult
from .selection import StepSelection as StepSelection
from .settings import RUNNER_IMAGE as RUNNER_IMAGE
from .settings import RunSettings as RunSettings
