"""The 0.1 API's names and module paths, kept for one release: each still works and warns
where it moved (``DeprecationWarning``)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import warnings
from types import ModuleType
from typing import Any

MOVED_MODULES = {
    "orchestrator.input_files": "orchestrator.files",
    **{
        f"orchestrator.{old}": f"orchestrator.{new}"
        for new_package, olds in {
            "data": "capture compatibility contracts metrics profiles quality quality_checks "
            "schemas snapshots synthetic tables",
            "pipeline": "dag graph loader resources sagemaker_paths source_scan validate wiring",
            "engines": "cleanup fake_engine image_build process_engine spec",
            "run": "executor hints observer packaging plan results rundir settings step_runner",
            "report": "history junit",
            "testing": "pytest_plugin unittest_suite",
        }.items()
        for old in olds.split()
        for new in [f"{new_package}.{old}"]
    },
    "orchestrator.s3_uris": "orchestrator.aws.s3_uris",
    "orchestrator.s3": "orchestrator.aws.s3",
    "orchestrator.executions": "orchestrator.aws.discovery",
    "orchestrator.fake_sagemaker": "orchestrator.aws.fake_sagemaker",
    "orchestrator.pipeline_expectations": "orchestrator.pipeline.expectations",
    "orchestrator.engine": "orchestrator.engines.base",
    "orchestrator.docker_engine": "orchestrator.engines.docker_engine",
    "orchestrator.workflow": "orchestrator.run.pipeline_run",
    "orchestrator.sagemaker_contract": "orchestrator.run.sagemaker_job",
    "orchestrator.host_secrets": "orchestrator.run.secrets",
    "orchestrator.console": "orchestrator.run.progress",
    "orchestrator.testcases": "orchestrator.scripttest.cases",
    "orchestrator.expectations": "orchestrator.scripttest.case_checks",
    "orchestrator.script_test": "orchestrator.scripttest.runner",
    "orchestrator.s3_test": "orchestrator.scripttest.on_s3",
    "orchestrator.registry": "orchestrator.scripttest.registry",
    "orchestrator.flow": "orchestrator.dataflow.edges",
    "orchestrator.contract_check": "orchestrator.dataflow.contract_check",
    "orchestrator.expectation_results": "orchestrator.dataflow.expectation_results",
    "orchestrator.report_model": "orchestrator.report.model",
    "orchestrator.reports": "orchestrator.report.write",
    "orchestrator.issue_console": "orchestrator.report.console",
    "orchestrator.html_report": "orchestrator.report.html.page",
    "orchestrator.html_charts": "orchestrator.report.html.charts",
    "orchestrator.html_dag": "orchestrator.report.html.dag",
    "orchestrator.html_text": "orchestrator.report.html.text",
    "orchestrator.html_assets": "orchestrator.report.html.assets",
    "orchestrator.config": "orchestrator.suite.config",
    "orchestrator.test_all_plan": "orchestrator.suite.plan",
    "orchestrator.test_all": "orchestrator.suite.run",
    "orchestrator.global_quality": "orchestrator.suite.quality",
    "orchestrator.s3_integration": "orchestrator.suite.s3_manager",
}
"""0.1 module path -> where it lives now. (``orchestrator.pipeline`` and
``orchestrator.dataflow`` are packages now; each hands on its public names.)"""

MOVED_NAMES = {
    **dict.fromkeys(
        ["ContractReport", "EdgeResult", "validate_contracts"], "orchestrator.dataflow"
    ),
    **dict.fromkeys(
        [
            "ColumnProfile",
            "ColumnSpec",
            "DataSchema",
            "DatasetProfile",
            "OutputProfile",
            "capture_output",
            "generate_table",
            "load_contract",
            "load_schema",
        ],
        "orchestrator.data",
    ),
    **dict.fromkeys(
        ["ContainerOutcome", "ContainerSpec", "Engine", "Mount"], "orchestrator.engines"
    ),
    **dict.fromkeys(
        ["EngineUnavailable", "ImageError", "PipelineError", "RunDirectoryError"],
        "orchestrator.errors",
    ),
    **dict.fromkeys(
        ["ExecutionDiscovery", "FakeSageMaker", "S3Settings", "SageMakerDiscovery", "StepOutputs"],
        "orchestrator.aws",
    ),
    **dict.fromkeys(["Issue", "Severity"], "orchestrator.issues"),
    **dict.fromkeys(["Instance", "Step", "StepKind", "StepOutput"], "orchestrator.pipeline"),
    **dict.fromkeys(["OutputSummary", "RUNNER_IMAGE"], "orchestrator.run"),
    **dict.fromkeys(
        ["S3TestResult", "TestCaseResult", "load_test_cases"], "orchestrator.scripttest"
    ),
    "load_config": "orchestrator.suite",
}
"""0.1 names of the package root that are no longer public there -> where to import them."""


RENAMED = {
    ("orchestrator.workflow", "run_pipeline"): (
        "orchestrator.run.pipeline_run",
        "execute_pipeline",
    ),
}
"""0.1 (module, name) -> (module, name) it has now; ``orchestrator.run_pipeline`` is the whole
``cit run`` now, the 0.1 function that only executed is ``execute_pipeline``."""


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds a 0.1 module path and hands on the module that lives there now."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED_MODULES[spec.name]
        warnings.warn(
            f"{spec.name} is deprecated; import from {new}", DeprecationWarning, stacklevel=2
        )
        alias = ModuleType(spec.name, f"Moved to {new}.")
        target = importlib.import_module(new)
        alias.__dict__.update(
            {k: v for k, v in vars(target).items() if not k.startswith("__") or k == "__all__"}
        )
        for (module, name), (now_in, now) in RENAMED.items():
            if module == spec.name:
                setattr(alias, name, getattr(importlib.import_module(now_in), now))
        return alias

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: ``create_module`` filled the module in."""
