"""Process isolation gives the verdicts container isolation gives: `isolation_cases/score.py`
(csv and json only) and its cases run both ways, with the same verdicts and messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.engines.base import Engine, Isolation
from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.process_engine import ProcessEngine
from orchestrator.run.context import RunContext
from orchestrator.run.settings import RunSettings
from orchestrator.scripttest.case_checks import ScriptTestResult
from orchestrator.scripttest.cases import load_test_cases
from orchestrator.scripttest.runner import resolve_step, run_script_tests

CASES = Path(__file__).resolve().parent / "isolation_cases"

VERDICTS = {
    "scores-in-range": True,
    "single-file-input": True,
    "metric-under-threshold": False,
    "missing-output": False,
    "refuses-bad-input": True,
    "crashes-on-bad-input": False,
}
FAILURES = {
    "metric-under-threshold": [
        ("metric", "mean_probability >= 0.9", "mean_probability is 0.515, expected >= 0.9"),
        ("metric", "positives >= 30", "positives is 21, expected >= 30"),
    ],
    "missing-output": [
        (
            "output",
            "expected_outputs: roc_curve.jpg",
            "expected output 'roc_curve.jpg' was not written "
            "(outputs: metrics/metrics.json, predictions/predictions.csv)",
        )
    ],
    "crashes-on-bad-input": [
        ("behavior", "should_complete: true", "should_complete: true but the script exited 1"),
        ("output", "expected_outputs: metrics.json", "expected output 'metrics.json' was not "
         "written (outputs: none)"),
    ],
}  # fmt: skip


def run_cases(
    folder: Path, cit_dir: Path, isolation: Isolation, engine: Engine
) -> ScriptTestResult:
    step, source = resolve_step(str(folder / "score.py"))
    cases = load_test_cases(folder / "cases.yaml").test_cases
    settings = RunSettings(cit_dir=cit_dir, max_workers=1)
    return run_script_tests(
        step,
        cases,
        RunContext(engine=engine, settings=settings, isolation=isolation),
        source_file=source,
    )


def verdicts(result: ScriptTestResult) -> dict[str, tuple[bool, list[tuple[str, str, str]]]]:
    return {
        r.name: (r.passed, [(f.kind, f.expectation, f.message) for f in r.failures])
        for r in result.test_results
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "cases"
    shutil.copytree(CASES, copy)
    return copy


def test_process_and_container_isolation_agree(
    engine: DockerEngine, runner_image: str, no_leftovers: None, tmp_path: Path, folder: Path
) -> None:
    in_process = run_cases(folder, tmp_path / "process-cit", "process", ProcessEngine())
    in_container = run_cases(folder, tmp_path / ".cit", "container", engine)

    assert {r.isolation for r in in_process.test_results} == {"process"}
    assert {r.isolation for r in in_container.test_results} == {"container"}
    expected = {name: (ok, FAILURES.get(name, [])) for name, ok in VERDICTS.items()}
    assert verdicts(in_process) == expected
    assert verdicts(in_container) == expected
    for result in (in_process, in_container):
        bad = result.result("crashes-on-bad-input")
        log = (bad.run_dir or Path()) / "steps" / "score" / "log.txt"
        assert "ValueError: input has no 'amount' column: ['id', 'value']" in log.read_text()
