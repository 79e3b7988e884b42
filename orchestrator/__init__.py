"""cit: run SageMaker pipeline scripts in SageMaker-like containers, in DAG order.

The public Python API; ``cit run`` is a thin layer over ``run_pipeline``.
"""

__version__ = "0.1.0"

from .dag import PipelineDAG
from .engine import ContainerOutcome, Engine
from .errors import (
    CitError,
    EngineUnavailable,
    ImageError,
    InputError,
    PipelineError,
    RunDirectoryError,
)
from .fake_engine import FakeBehaviour, FakeEngine
from .loader import load_pipeline
from .pipeline import Instance, Pipeline, Step, StepKind, StepOutput
from .results import OutputSummary, RunResult, Status, StepResult
from .settings import RUNNER_IMAGE, RunSettings
from .spec import ContainerSpec, Mount
from .workflow import run_pipeline

__all__ = [
    "RUNNER_IMAGE",
    "CitError",
    "ContainerOutcome",
    "ContainerSpec",
    "Engine",
    "EngineUnavailable",
    "FakeBehaviour",
    "FakeEngine",
    "ImageError",
    "InputError",
    "Instance",
    "Mount",
    "OutputSummary",
    "Pipeline",
    "PipelineDAG",
    "PipelineError",
    "RunDirectoryError",
    "RunResult",
    "RunSettings",
    "Status",
    "Step",
    "StepKind",
    "StepOutput",
    "StepResult",
    "__version__",
    "load_pipeline",
    "run_pipeline",
]
