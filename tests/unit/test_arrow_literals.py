"""Arrow values built from their bytes: the arrays pyarrow would make, without pandas."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from orchestrator.data import arrow_literals as literals


@pytest.mark.parametrize("length", [0, 1, 7, 8, 9, 17, 1000])
def test_arrays_equal_those_pyarrow_converts(length: int) -> None:
    floats = [i / 3 - 1 for i in range(length)]
    flags = [i % 3 == 0 for i in range(length)]
    assert literals.floats(floats).equals(pa.array(floats, pa.float64()))
    assert literals.integers(range(length)).equals(pa.array(range(length), pa.int64()))
    assert literals.booleans(flags).equals(pa.array(flags, pa.bool_()))
    assert literals.all_false(length).equals(pa.array([False] * length, pa.bool_()))


def test_scalars_compare_as_pyarrow_converted_ones() -> None:
    values = pa.chunked_array([pa.array([0.5, 1.5, None]), pa.array([2.5])])
    assert pc.less(values, literals.float_scalar(1.5)).to_pylist() == [True, False, None, False]
    assert literals.integer_scalar(-3).as_py() == -3
    assert literals.float_scalar(float("inf")).as_py() == float("inf")
    assert literals.byte_scalar(10).equals(pa.scalar(10, pa.uint8()))


# Not unique_key: it groups rows with Arrow's query engine, whose module imports pandas itself.
CHECKS_WITHOUT_PANDAS = [
    "no_missing_values",
    "max_missing_ratio",
    {"numeric_ranges": {"ranges": {"age": {"min": 18, "max": 120}}}},
    {"row_count": {"at_least": "0.5x reference.csv"}},
    "predictions_in_range_0_1",
    "no_nan_predictions",
    {"consistent_prediction_count": {"reference": "reference.csv"}},
    {"distribution_drift": {"column": "age", "reference": "reference.csv"}},
    {"distribution_drift": {"column": "tier", "reference": "reference.csv"}},
    {"statistics": {"column": "age", "mean": [0, 200], "std": [0, 100]}},
    {"categorical_consistency": {"column": "tier", "reference": "reference.csv"}},
]


def test_reading_data_and_running_checks_never_imports_pandas(tmp_path: Path) -> None:
    """pyarrow imports pandas whenever it converts a Python value, a quarter of a second that a
    run of cached steps cannot spare; none of this may convert one."""
    rows = [f"{i},{20 + i % 60},{'ABC'[i % 3]},{(i % 10) / 10}\n" for i in range(200)]
    header = "id,age,tier,probability\n"
    (tmp_path / "output.csv").write_text(header + "".join(rows))
    (tmp_path / "reference.csv").write_text(header + "".join(rows[:100]))
    program = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from orchestrator.data.capture import capture_output
        from orchestrator.data.quality import parse_checks, read_dataset, run_checks
        folder = Path({str(tmp_path)!r})
        table = read_dataset(folder / "output.csv")
        checks = parse_checks(json.loads({json.dumps(CHECKS_WITHOUT_PANDAS)!r}))
        results = run_checks(checks, table, base_dir=folder)
        capture_output("out", folder)
        print(json.dumps({{
            "pandas": "pandas" in sys.modules,
            "results": [[r.check, r.passed, r.message] for r in results],
        }}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    unavailable = [r for r in found["results"] if r[2].startswith("cannot run")]
    assert not unavailable, unavailable
    assert len(found["results"]) == len(CHECKS_WITHOUT_PANDAS)
    assert found["pandas"] is False
