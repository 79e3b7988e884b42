"""The public API of cit: about twenty names, each loaded on first use."""

from ._version import __version__ as __version__
from .data import ScriptContract as ScriptContract
from .dataflow import DataFlowTestResult as DataFlowTestResult
from .dataflow import PipelineDataFlowTester as PipelineDataFlowTester
from .engines import FakeBehaviour as FakeBehaviour
from .engines import FakeEngine as FakeEngine
from .engines import ProcessEngine as ProcessEngine
from .engines import connect as connect
from .errors import CitError as CitError
from .errors import InputError as InputError
from .pipeline import Pipeline as Pipeline
from .pipeline import PipelineDAG as PipelineDAG
from .pipeline import load_pipeline as load_pipeline
from .run import RunResult as RunResult
from .run import RunSettings as RunSettings
from .run import Status as Status
from .run import StepResult as StepResult
from .scripttest import ScriptTestResult as ScriptTestResult
from .scripttest import ScriptUnitTester as ScriptUnitTester
from .scripttest import TestDataRegistry as TestDataRegistry
from .suite import PipelineRun as PipelineRun
from .suite import S3IntegrationManager as S3IntegrationManager
from .suite import run_pipeline as run_pipeline
from .testing import IntegrationTestSuite as IntegrationTestSuite
