"""Scores each row of a table: a probability per id from its amount, and the batch's metrics.

It uses csv and json only, so any Python runs it, and follows the testable convention: in a
container its __main__ block calls main with the SageMaker paths; in process isolation cit
calls main with host paths.
"""

import argparse
import csv
import json
import os
from pathlib import Path


def main(input_paths, output_paths, environ_vars, job_args):
    rows = []
    for file in sorted(Path(input_paths["data"]).rglob("*.csv")):
        with file.open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    if not rows or "amount" not in rows[0]:
        columns = sorted(rows[0]) if rows else []
        raise ValueError(f"input has no 'amount' column: {columns}")
    if len(rows) < 20:
        print("small_dataset_warning: only", len(rows), "rows")
    scale = float(environ_vars.get("SCALE", "100"))
    threshold = float(getattr(job_args, "threshold", "0.5"))
    scores = [min(max(float(row["amount"]) / scale, 0.0), 1.0) for row in rows]
    with open(Path(output_paths["predictions"], "predictions.csv"), "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "probability"])
        writer.writerows([row["id"], score] for row, score in zip(rows, scores, strict=True))
    metrics = {
        "mean_probability": round(sum(scores) / len(scores), 6),
        "rows": len(rows),
        "positives": sum(score >= threshold for score in scores),
    }
    Path(output_paths["metrics"], "metrics.json").write_text(json.dumps(metrics))
    print("scored", len(rows), "rows")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", default="0.5")
    main(
        {"data": "/opt/ml/processing/input/data"},
        {
            "predictions": "/opt/ml/processing/output/predictions",
            "metrics": "/opt/ml/processing/output/metrics",
        },
        dict(os.environ),
        parser.parse_args(),
    )
