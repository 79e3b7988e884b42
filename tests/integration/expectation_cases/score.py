"""Scores every row of a table of amounts: a probability per id, and metrics of the batch.

Each environment variable makes the script misbehave in one way, so one test case can trigger
exactly one failed expectation:

- ``SCALE``: probability = amount / SCALE, clipped to [0, 1] (default 100)
- ``NAN_ROWS``: the first N probabilities are NaN
- ``OVER_ONE_ROWS``: the first N probabilities are 1.5
- ``DROP_ROWS``: the last N rows are not scored
- ``SHIFT``: added to every amount before scoring (a unit mistake)
- ``SLEEP``: seconds to wait before writing anything
- ``SKIP_METRICS``: when set, metrics.json is not written

An input without an ``amount`` column stops the script (exit 1); fewer than 20 rows raise
``small_dataset_warning``.
"""

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

INPUT = Path("/opt/ml/processing/input/data")
PREDICTIONS = Path("/opt/ml/processing/output/predictions")
METRICS = Path("/opt/ml/processing/output/metrics")


def count(name: str) -> int:
    return int(os.environ.get(name, "0"))


frame = pd.concat(pd.read_csv(f) for f in sorted(INPUT.rglob("*.csv")))
if "amount" not in frame.columns:
    sys.exit(f"input has no 'amount' column: {list(frame.columns)}")
if len(frame) < 20:
    warnings.warn(f"small_dataset_warning: only {len(frame)} rows", stacklevel=1)
time.sleep(float(os.environ.get("SLEEP", "0")))

frame = frame.iloc[: len(frame) - count("DROP_ROWS")].copy()
frame["amount"] = frame["amount"] + float(os.environ.get("SHIFT", "0"))
scale = float(os.environ.get("SCALE", "100"))
probability = (frame["amount"] / scale).clip(0, 1).to_numpy(dtype=float, copy=True)
probability[: count("OVER_ONE_ROWS")] = 1.5
probability[: count("NAN_ROWS")] = np.nan
frame["probability"] = probability

frame[["id", "amount", "probability"]].to_csv(PREDICTIONS / "predictions.csv", index=False)
if not os.environ.get("SKIP_METRICS"):
    metrics = {"mean_probability": round(float(np.nanmean(probability)), 4), "rows": len(frame)}
    (METRICS / "metrics.json").write_text(json.dumps(metrics))
print(f"scored {len(frame)} rows")
