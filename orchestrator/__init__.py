"""cit: run SageMaker pipeline scripts in SageMaker-like containers, in DAG order.

The public Python API; ``cit run`` is a thin layer over ``run_pipeline``.
"""

__version__ = "0.1.0"

from .capture import capture_output
from .contract_check import ContractReport, validate_contracts
from .contracts import ScriptContract, load_contract
from .dag import PipelineDAG
from .dataflow import PipelineDataFlowTester
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
from .flow import DataFlowTestResult, EdgeResult
from .issues import Issue, Severity
from .loader import load_pipeline
from .pipeline import Instance, Pipeline, Step, StepKind, StepOutput
from .profiles import ColumnProfile, DatasetProfile, OutputProfile
from .results import OutputSummary, RunResult, Status, StepResult
from .schemas import ColumnSpec, DataSchema, load_schema
from .settings import RUNNER_IMAGE, RunSettings
from .spec import ContainerSpec, Mount
from .workflow import run_pipeline

__all__ = [
    "RUNNER_IMAGE",
    "CitError",
    "ColumnProfile",
    "ColumnSpec",
    "ContainerOutcome",
    "ContainerSpec",
    "ContractReport",
    "DataFlowTestResult",
    "DataSchema",
    "DatasetProfile",
    "EdgeResult",
    "Engine",
    "EngineUnavailable",
    "FakeBehaviour",
    "FakeEngine",
    "ImageError",
    "InputError",
    "Instance",
    "Issue",
    "Mount",
    "OutputProfile",
    "OutputSummary",
    "Pipeline",
    "PipelineDAG",
    "PipelineDataFlowTester",
    "PipelineError",
    "RunDirectoryError",
    "RunResult",
    "RunSettings",
    "ScriptContract",
    "Severity",
    "Status",
    "Step",
    "StepKind",
    "StepOutput",
    "StepResult",
    "__version__",
    "capture_output",
    "load_contract",
    "load_pipeline",
    "load_schema",
    "run_pipeline",
    "validate_contracts",
]
