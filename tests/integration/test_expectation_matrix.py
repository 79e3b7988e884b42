"""Every kind of test-case expectation, once met and once missed, on real containers.

`cit test-script` runs once over `expectation_cases/cases.yaml` (score.py, made to misbehave in
one way per failing case by its environment); each case is then its own test, asserting its
verdict and, for a failing case, every failure's kind, expectation and exact message.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engines.docker_engine import DockerEngine
from orchestrator.engines.spec import RUN_LABEL

from .conftest import cit_test_script

CASES = Path(__file__).resolve().parent / "expectation_cases"

Expected = tuple[str, str, str | re.Pattern[str]]
"""(kind, expectation, message): the message exactly, or a pattern it must match in full."""

SLEEP_SECONDS = 1.5
"""What time-fail's SLEEP makes the script wait, longer than its limit of 1 s."""

EXPECTED: dict[str, list[Expected]] = {
    "metric-pass": [],
    "metric-fail": [
        ("metric", "mean_probability >= 0.5", "mean_probability is 0.41, expected >= 0.5"),
    ],
    "output-pass": [],
    "output-fail": [
        (
            "output",
            "expected_outputs: metrics/metrics.json",
            "expected output 'metrics/metrics.json' was not written "
            "(outputs: predictions/predictions.csv)",
        ),
    ],
    "nan-pass": [],
    "nan-fail": [
        (
            "data_quality",
            "no_nan_predictions",
            "no_nan_predictions on predictions: 4 of 40 rows (10%) have probability null or NaN; "
            "mostly 0.95 allows 2",
        ),
    ],
    "range-pass": [],
    "range-fail": [
        (
            "data_quality",
            "predictions_in_range_0_1",
            "predictions_in_range_0_1 on predictions: 3 of 40 rows (7.5%) have probability "
            "outside [0, 1]; mostly 1.0 allows 0",
        ),
    ],
    "rows-pass": [],
    "rows-fail": [
        ("behavior", "min_predictions: 40", "wrote 35 predictions, fewer than min_predictions 40"),
        (
            "data_quality",
            "consistent_prediction_count",
            "consistent_prediction_count on predictions: 35 output rows for 40 input rows "
            "(5 fewer)",
        ),
    ],
    "drift-pass": [],
    "drift-fail": [
        (
            "data_quality",
            "distribution_drift",
            "distribution_drift on predictions: amount drifted from reference/amounts.csv: "
            "psi 4.359 > psi_max 0.2; ks 0.525 > ks_max 0.1 "
            "(40 values vs 40 reference values)",
        ),
    ],
    "refuses-bad-input-pass": [],
    "refuses-bad-input-fail": [
        (
            "behavior",
            "should_complete: false",
            "should_complete: false but the script exited 0",
        ),
    ],
    "crashes-fail": [
        ("behavior", "should_complete: true", "should_complete: true but the script exited 1"),
        ("metric", "rows >= 1", "metrics file 'metrics.json' was not written (outputs: none)"),
        (
            "output",
            "expected_outputs: predictions/predictions.csv",
            "expected output 'predictions/predictions.csv' was not written (outputs: none)",
        ),
    ],
    "time-pass": [],
    "time-fail": [
        (
            "behavior",
            "max_execution_time_seconds: 1",
            re.compile(r"ran (\d+\.\d+) s, more than max_execution_time_seconds 1"),
        ),
    ],
    "warning-pass": [],
    "warning-fail": [
        (
            "warning",
            "warnings_expected: small_dataset_warning",
            "expected warning 'small_dataset_warning' not in the log",
        ),
        (
            "warning",
            r"warnings_expected: /only \d+ rows/",
            r"expected warning '/only \d+ rows/' not in the log",
        ),
    ],
}


@dataclass(frozen=True)
class MatrixRun:
    """One `cit test-script` over the whole cases file."""

    returncode: int
    output: str
    report: dict[str, Any]
    cit_dir: Path

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        return {result["name"]: result for result in self.report["test_results"]}


@pytest.fixture(scope="module")
def matrix(
    engine: DockerEngine, runner_image: str, tmp_path_factory: pytest.TempPathFactory
) -> MatrixRun:
    """Runs every case once, from a working directory other than the cases' folder."""
    root = tmp_path_factory.mktemp("matrix")
    folder = root / "cases"
    shutil.copytree(CASES, folder)
    done, report = cit_test_script(folder / "score.py", folder / "cases.yaml", root, cwd=root)
    output = done.stdout + done.stderr
    assert report.is_file(), output
    return MatrixRun(done.returncode, output, json.loads(report.read_text()), root / ".cit")


def test_every_case_ran_once_in_its_own_container(matrix: MatrixRun) -> None:
    results = matrix.report["test_results"]
    assert [r["name"] for r in results] == list(EXPECTED), matrix.output
    assert all(r["isolation"] == "container" for r in results)
    assert len({r["run_dir"] for r in results}) == len(EXPECTED)
    passing = sum(not failures for failures in EXPECTED.values())
    counts = (matrix.report["total"], matrix.report["passed"], matrix.report["failed"])
    assert counts == (len(EXPECTED), passing, len(EXPECTED) - passing)
    assert matrix.returncode == 1, matrix.output
    assert f"{passing} of {len(EXPECTED)} test case(s) passed" in matrix.output


def test_no_container_is_left_behind(engine: DockerEngine, matrix: MatrixRun) -> None:
    runs = matrix.cit_dir / "runs"
    run_ids = [p.name for p in runs.iterdir() if (p / "manifest.json").exists()]
    assert len(run_ids) == len(EXPECTED)  # one run per case, beside the command's report
    left = [c.name for r in run_ids for c in engine.list_containers({RUN_LABEL: r})]
    assert not left, f"containers left behind: {left}"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_case_verdict_and_reasons(matrix: MatrixRun, name: str) -> None:
    result = matrix.results[name]
    expected = EXPECTED[name]
    failures = result["failures"]
    assert [(f["kind"], f["expectation"]) for f in failures] == [
        (kind, expectation) for kind, expectation, _ in expected
    ], failures
    for failure, (_, _, message) in zip(failures, expected, strict=True):
        if isinstance(message, re.Pattern):
            assert message.fullmatch(failure["message"]), failure["message"]
        else:
            assert failure["message"] == message
    assert result["passed"] == (not expected)
    first = failures[0]["message"] if failures else None
    assert result["error_message"] == first


def test_the_time_limit_counts_the_time_the_script_really_ran(matrix: MatrixRun) -> None:
    result = matrix.results["time-fail"]
    (failure,) = result["failures"]
    pattern = EXPECTED["time-fail"][0][2]
    assert isinstance(pattern, re.Pattern)
    match = pattern.fullmatch(failure["message"])
    assert match is not None, failure["message"]
    ran = float(match.group(1))
    assert ran >= SLEEP_SECONDS
    assert failure["actual"] == f"{match.group(1)} s"
    assert result["duration_seconds"] == pytest.approx(ran, abs=0.051)
