"""The public names of orchestrator.scripttest, loaded on first use."""

from .case_checks import ScriptTestResult as ScriptTestResult
from .case_checks import TestCaseResult as TestCaseResult
from .cases import TestCase as TestCase
from .cases import load_test_cases as load_test_cases
from .on_s3 import S3TestResult as S3TestResult
from .registry import TestDataRegistry as TestDataRegistry
from .tester import ScriptUnitTester as ScriptUnitTester
