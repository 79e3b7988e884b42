"""TODO"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..aws.s3 import S3Settings
from ..data.contracts import load_contract
from ..engines.base import Engine, Isolation
from ..errors import InputError
from ..files import FieldError
from ..run.context import RunContext
from ..run.observer import RunObserver
from ..run.pipeline_run import S3Fetcher, s3_fetcher
from ..run.settings import RunSettings
from .case_checks import ScriptTestResult, TestCaseResult
from .cases import TestCase, cases_from_data, load_test_cases
from .on_s3 import S3TestResult, run_s3_test
from .runner import entry_point_of, quick_case, run_script_tests, script_step


class ScriptUnitTester:
    """Tests one script against test cases, each case in its own container (or, with
    ``isolation="process"``, in a host process calling its ``main``).

    ``ScriptUnitTester("contracts/evaluate.yaml").test_script_functionality("cases.yaml")``;
    the script is the contract's ``entry_point`` next to the contract, unless ``script`` names
    it. Test cases are a file, or ``TestCase``s / mappings as in a file (paths relative to the
    working directory).
    """

    __test__ = False

    def __init__(
        self,
        contract: str | Path,
        *,
        script: str | Path | None = None,
        engine: Engine | None = None,
        settings: RunSettings | None = None,
        observer: RunObserver | None = None,
        isolation: Isolation = "container",
    ) -> None:
        contract_file = Path(contract)
        loaded = load_contract(contract_file, script)
        path = Path(script) if script is not None else entry_point_of(contract_file, loaded)
        if not path.is_file():
            raise InputError(
                f"no script at {path}; give script= (the contract's entry_point is "
                f"{loaded.entry_point})",
                file=contract_file,
                field="entry_point",
            )
        self.step = script_step(path, contract_file)
        self.source_file = path
        self.engine = engine
        self.settings = settings
        self.observer = observer
        self.isolation: Isolation = isolation

    def test_data_quality(
        self,
        input_data: str | Path | Mapping[str, str | Path],
        expected_output_schema: str | Path | None = None,
        quality_checks: str | Sequence[str] | None = None,
    ) -> TestCaseResult:
        """Run the script once on ``input_data`` and check what it wrote: against the schema,
        and with the data-quality checks ('all', or their names)."""
        schema = Path(expected_output_schema) if expected_output_schema is not None else None
        case = quick_case(
            self.step, input_data, expected_output_schema=schema, quality_checks=quality_checks
        )
        result = run_script_tests(self.step, [case], self._context(), source_file=self.source_file)
        return result.test_results[0]

    def test_with_s3_data(
        self,
        s3_locations: Mapping[str, str | Path],
        *,
        validate_schema: bool = True,
        quality_checks: str | Sequence[str] | None = None,
        s3_settings: S3Settings | None = None,
    ) -> S3TestResult:
        """Run the script once on data in S3 (input -> s3:// URI, or a local path such as a
        folder from ``S3IntegrationManager.download_pipeline_outputs``): each input's schema
        checked against the contract's ``input_schemas``, then the run judged. The result has
        ``passed``, ``performance_metrics``, ``data_quality_score`` and ``schema_issues``."""

        return run_s3_test(
            self.step,
            {channel: str(where) for channel, where in s3_locations.items()},
            self._context(fetch_s3=s3_fetcher(s3_settings)),
            source_file=self.source_file,
            validate_schema=validate_schema,
            quality_checks=quality_checks,
        )

    def test_script_functionality(
        self, test_cases: str | Path | Sequence[TestCase | dict[str, object]]
    ) -> ScriptTestResult:
        """Run every case; the result has ``passed``, ``total`` and ``test_results``."""
        if isinstance(test_cases, str | Path):
            cases = load_test_cases(Path(test_cases)).test_cases
        else:
            try:
                cases = cases_from_data(list(test_cases), Path.cwd()).test_cases
            except FieldError as exc:
                raise InputError(exc.message, field=exc.field or None) from None
        return run_script_tests(self.step, cases, self._context(), source_file=self.source_file)

    def _context(self, fetch_s3: S3Fetcher | None = None) -> RunContext:
        """What the runs of one call share."""
        return RunContext(
            engine=self.engine,
            settings=self.settings or RunSettings(),
            observer=self.observer,
            isolation=self.isolation,
            fetch_s3=fetch_s3,
        )
