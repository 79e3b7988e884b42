"""cit: run SageMaker pipeline scripts in SageMaker-like containers, in DAG order.

The public Python API; ``cit run`` is a thin layer over ``run_pipeline``. Names are imported on
first use, so that ``cit`` and a pipeline file's ``from orchestrator import Pipeline`` load only
the modules they need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "capture_output": "data.capture",
    "ContractReport": "dataflow.contract_check",
    "validate_contracts": "dataflow.contract_check",
    "ScriptContract": "data.contracts",
    "load_contract": "data.contracts",
    "PipelineDAG": "pipeline.dag",
    "PipelineDataFlowTester": "dataflow.tester",
    "ContainerOutcome": "engines.base",
    "Engine": "engines.base",
    "CitError": "errors",
    "EngineUnavailable": "errors",
    "ImageError": "errors",
    "InputError": "errors",
    "PipelineError": "errors",
    "RunDirectoryError": "errors",
    "FakeBehaviour": "engines.fake_engine",
    "FakeEngine": "engines.fake_engine",
    "DataFlowTestResult": "dataflow.edges",
    "EdgeResult": "dataflow.edges",
    "Issue": "issues",
    "Severity": "issues",
    "load_pipeline": "pipeline.loader",
    "Instance": "pipeline.model",
    "Pipeline": "pipeline.model",
    "Step": "pipeline.model",
    "StepKind": "pipeline.model",
    "StepOutput": "pipeline.model",
    "ColumnProfile": "data.profiles",
    "DatasetProfile": "data.profiles",
    "OutputProfile": "data.profiles",
    "OutputSummary": "run.results",
    "RunResult": "run.results",
    "Status": "run.results",
    "StepResult": "run.results",
    "ColumnSpec": "data.schemas",
    "DataSchema": "data.schemas",
    "load_schema": "data.schemas",
    "RUNNER_IMAGE": "run.settings",
    "RunSettings": "run.settings",
    "ContainerSpec": "engines.spec",
    "Mount": "engines.spec",
    "run_pipeline": "run.pipeline_run",
    "ProcessEngine": "engines.process_engine",
    "S3IntegrationManager": "suite.s3_manager",
    "S3TestResult": "scripttest.on_s3",
    "S3Settings": "aws.s3",
    "ExecutionDiscovery": "aws.discovery",
    "SageMakerDiscovery": "aws.discovery",
    "FakeSageMaker": "aws.fake_sagemaker",
    "StepOutputs": "aws.discovery",
    "load_config": "suite.config",
    "ScriptUnitTester": "scripttest.tester",
    "IntegrationTestSuite": "testing.unittest_suite",
    "TestDataRegistry": "scripttest.registry",
    "ScriptTestResult": "scripttest.case_checks",
    "TestCaseResult": "scripttest.case_checks",
    "load_test_cases": "scripttest.cases",
    "generate_table": "data.synthetic",
}
"""Public name -> the module of this package that defines it."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestrator' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from .aws.discovery import ExecutionDiscovery, SageMakerDiscovery, StepOutputs
    from .aws.fake_sagemaker import FakeSageMaker
    from .aws.s3 import S3Settings
    from .data.capture import capture_output
    from .data.contracts import ScriptContract, load_contract
    from .data.profiles import ColumnProfile, DatasetProfile, OutputProfile
    from .data.schemas import ColumnSpec, DataSchema, load_schema
    from .data.synthetic import generate_table
    from .dataflow.contract_check import ContractReport, validate_contracts
    from .dataflow.edges import DataFlowTestResult, EdgeResult
    from .dataflow.tester import PipelineDataFlowTester
    from .engines.base import ContainerOutcome, Engine
    from .engines.fake_engine import FakeBehaviour, FakeEngine
    from .engines.process_engine import ProcessEngine
    from .engines.spec import ContainerSpec, Mount
    from .errors import (
        CitError,
        EngineUnavailable,
        ImageError,
        InputError,
        PipelineError,
        RunDirectoryError,
    )
    from .issues import Issue, Severity
    from .pipeline.dag import PipelineDAG
    from .pipeline.loader import load_pipeline
    from .pipeline.model import Instance, Pipeline, Step, StepKind, StepOutput
    from .run.pipeline_run import run_pipeline
    from .run.results import OutputSummary, RunResult, Status, StepResult
    from .run.settings import RUNNER_IMAGE, RunSettings
    from .scripttest.case_checks import ScriptTestResult, TestCaseResult
    from .scripttest.cases import load_test_cases
    from .scripttest.on_s3 import S3TestResult
    from .scripttest.registry import TestDataRegistry
    from .scripttest.tester import ScriptUnitTester
    from .suite.config import load_config
    from .suite.s3_manager import S3IntegrationManager
    from .testing.unittest_suite import IntegrationTestSuite

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
    "ExecutionDiscovery",
    "FakeBehaviour",
    "FakeEngine",
    "FakeSageMaker",
    "ImageError",
    "InputError",
    "Instance",
    "IntegrationTestSuite",
    "Issue",
    "Mount",
    "OutputProfile",
    "OutputSummary",
    "Pipeline",
    "PipelineDAG",
    "PipelineDataFlowTester",
    "PipelineError",
    "ProcessEngine",
    "RunDirectoryError",
    "RunResult",
    "RunSettings",
    "S3IntegrationManager",
    "S3Settings",
    "S3TestResult",
    "SageMakerDiscovery",
    "ScriptContract",
    "ScriptTestResult",
    "ScriptUnitTester",
    "Severity",
    "Status",
    "Step",
    "StepKind",
    "StepOutput",
    "StepOutputs",
    "StepResult",
    "TestCaseResult",
    "TestDataRegistry",
    "__version__",
    "capture_output",
    "generate_table",
    "load_config",
    "load_contract",
    "load_pipeline",
    "load_schema",
    "load_test_cases",
    "run_pipeline",
    "validate_contracts",
]
