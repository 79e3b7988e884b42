"""The public names of orchestrator.dataflow, loaded on first use."""

from .contract_check import ContractReport as ContractReport
from .contract_check import validate_contracts as validate_contracts
from .edges import DataFlowTestResult as DataFlowTestResult
from .edges import EdgeResult as EdgeResult
from .tester import PipelineDataFlowTester as PipelineDataFlowTester
