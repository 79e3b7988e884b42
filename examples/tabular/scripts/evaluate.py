"""Processing step: score the test split with the trained model and report metrics.

Inputs (read-only mounts):
- ``/opt/ml/processing/input/model``: ``model.tar.gz`` as SageMaker packages a
  training job's ``/opt/ml/model`` (``xgboost-model.json``, ``feature_names.json``);
- ``/opt/ml/processing/input/test``: the test CSV(s) written by the preprocess step.

Outputs:
- ``/opt/ml/processing/output/predictions/predictions.csv``: id, label, probability;
- ``/opt/ml/processing/output/metrics/metrics.json``: flat keys (auc_roc, accuracy,
  f1_score, precision, recall, row_count, ...) plus a
  ``binary_classification_metrics`` section shaped like SageMaker model-quality
  reports.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

MODEL_INPUT_DIR = Path("/opt/ml/processing/input/model")
TEST_INPUT_DIR = Path("/opt/ml/processing/input/test")
PREDICTIONS_DIR = Path("/opt/ml/processing/output/predictions")
METRICS_DIR = Path("/opt/ml/processing/output/metrics")
MESSAGE_FILE = Path("/opt/ml/output/message")

FEATURES_FILE = "feature_names.json"
DEFAULT_MODEL_FILE = "xgboost-model.json"

logger = logging.getLogger("evaluate")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Evaluate the model on the test split.", allow_abbrev=False
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="probability cut-off for the positive class"
    )
    args = parser.parse_args(argv)
    if not 0 < args.threshold < 1:
        parser.error("--threshold must be between 0 and 1")
    return args


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a tarball, refusing members that would land outside ``target``."""
    with tarfile.open(archive, "r:*") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
            return
        root = target.resolve()
        for member in tar.getmembers():
            destination = (target / member.name).resolve()
            if root not in destination.parents and destination != root:
                raise ValueError(f"unsafe path in {archive.name}: {member.name}")
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"unsupported member in {archive.name}: {member.name}")
        tar.extractall(target)


def unpack_model(model_input: Path) -> Path:
    """Return a folder holding the model files, extracting ``model.tar.gz`` into /tmp."""
    archives = sorted(model_input.glob("*.tar.gz"))
    if not archives:
        if (model_input / FEATURES_FILE).is_file():
            logger.info("no tarball in %s; using the files found there", model_input)
            return model_input
        raise FileNotFoundError(f"no model.tar.gz in {model_input}")
    archive = model_input / "model.tar.gz"
    if not archive.is_file():
        archive = archives[0]
    target = Path(tempfile.mkdtemp(prefix="model-"))
    safe_extract(archive, target)
    logger.info("extracted %s to %s: %s", archive, target, sorted(p.name for p in target.iterdir()))
    # Tolerate a tarball that wraps everything in a single folder.
    if not (target / FEATURES_FILE).is_file():
        nested = [p.parent for p in target.rglob(FEATURES_FILE)]
        if len(nested) == 1:
            return nested[0]
    return target


def load_model(model_dir: Path) -> tuple[xgb.Booster, dict[str, Any]]:
    features_path = model_dir / FEATURES_FILE
    if not features_path.is_file():
        raise FileNotFoundError(f"{FEATURES_FILE} missing from the model archive")
    metadata = json.loads(features_path.read_text(encoding="utf-8"))
    model_path = model_dir / str(metadata.get("model_file", DEFAULT_MODEL_FILE))
    booster = xgb.Booster()
    booster.load_model(str(model_path))
    logger.info("loaded %s with %d features", model_path.name, len(metadata["features"]))
    return booster, metadata


def read_test(test_dir: Path) -> pd.DataFrame:
    files = sorted(p for p in test_dir.rglob("*.csv") if p.is_file())
    if not files:
        raise FileNotFoundError(f"no CSV file in {test_dir}")
    frame = pd.concat((pd.read_csv(path) for path in files), ignore_index=True)
    logger.info("read %d test rows from %d file(s)", len(frame), len(files))
    return frame


def score(booster: xgb.Booster, frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise ValueError(f"test data lacks the model's feature columns {missing}")
    matrix = xgb.DMatrix(frame[features].astype(float).to_numpy(), feature_names=features)
    return booster.predict(matrix)


def metric(value: float | str) -> dict[str, object]:
    return {"value": value, "standard_deviation": "NaN"}


def compute_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float
) -> dict[str, object]:
    predicted = (probabilities >= threshold).astype(int)
    both_classes = len(np.unique(labels)) == 2
    auc = float(roc_auc_score(labels, probabilities)) if both_classes else None
    accuracy = float(accuracy_score(labels, predicted))
    precision = float(precision_score(labels, predicted, zero_division=0))
    recall = float(recall_score(labels, predicted, zero_division=0))
    f1 = float(f1_score(labels, predicted, zero_division=0))
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(labels, predicted, labels=[0, 1]).ravel())
    return {
        "auc_roc": auc,
        "accuracy": accuracy,
        "f1_score": f1,
        "precision": precision,
        "recall": recall,
        "row_count": len(labels),
        "positive_count": int(labels.sum()),
        "threshold": threshold,
        "binary_classification_metrics": {
            "auc": metric(auc if auc is not None else "NaN"),
            "accuracy": metric(accuracy),
            "precision": metric(precision),
            "recall": metric(recall),
            "f1": metric(f1),
            "confusion_matrix": {
                "0": {"0": tn, "1": fp},
                "1": {"0": fn, "1": tp},
            },
        },
    }


def write_exit_message(message: str) -> None:
    """Best effort: SageMaker shows /opt/ml/output/message as the exit message."""
    try:
        MESSAGE_FILE.parent.mkdir(parents=True, exist_ok=True)
        MESSAGE_FILE.write_text(message[:1024], encoding="utf-8")
    except OSError:
        pass


def evaluate(threshold: float) -> dict[str, object]:
    booster, metadata = load_model(unpack_model(MODEL_INPUT_DIR))
    label_column = str(metadata.get("label_column", "label"))
    id_column = str(metadata.get("id_column", "id"))
    features = [str(f) for f in metadata["features"]]

    test = read_test(TEST_INPUT_DIR)
    if label_column not in test.columns:
        raise ValueError(f"test data lacks the label column {label_column!r}")
    probabilities = score(booster, test, features)
    labels = test[label_column].to_numpy().astype(int)
    ids = test[id_column] if id_column in test.columns else pd.Series(range(len(test)))

    PREDICTIONS_DIR.mkdir(parents=True, exist_ok=True)
    predictions = pd.DataFrame({"id": ids, "label": labels, "probability": probabilities})
    predictions.to_csv(PREDICTIONS_DIR / "predictions.csv", index=False)
    logger.info("wrote %d predictions", len(predictions))

    metrics = compute_metrics(labels, probabilities, threshold)
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    (METRICS_DIR / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
    args = parse_args()
    try:
        metrics = evaluate(args.threshold)
    except (OSError, ValueError, KeyError, tarfile.TarError, xgb.core.XGBoostError) as error:
        logger.error("evaluation failed: %s", error)
        write_exit_message(f"evaluation failed: {error}")
        sys.exit(1)
    headline = ("auc_roc", "accuracy", "f1_score", "precision", "recall", "row_count")
    summary = {k: metrics[k] for k in headline}
    logger.info("test metrics: %s", json.dumps(summary))


if __name__ == "__main__":
    main()
