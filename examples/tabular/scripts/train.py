"""Training step (SageMaker script mode): fit an XGBoost binary classifier.

Hyperparameters arrive as ``--key value`` arguments; data and output locations
come from the environment the SageMaker training toolkit sets:

- ``SM_CHANNEL_TRAIN`` / ``SM_CHANNEL_VALIDATION``: folders of CSV files with a
  header, the label column, an id column and numeric feature columns;
- ``SM_MODEL_DIR``: receives ``xgboost-model.json`` and ``feature_names.json``
  (SageMaker packages this folder as ``model.tar.gz``);
- ``SM_OUTPUT_DATA_DIR``: receives ``training_summary.json``;
- ``SM_OUTPUT_DIR``: on failure, the reason is written to ``failure`` there.

Works with xgboost 1.7 up to 3.x (native ``xgb.train`` API only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

MODEL_FILE = "xgboost-model.json"
FEATURES_FILE = "feature_names.json"
SUMMARY_FILE = "training_summary.json"


class TrainingError(Exception):
    """A problem with the inputs that should fail the job with a clear reason."""


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default))


def default_nthread() -> int:
    cpus = os.environ.get("SM_NUM_CPUS", "")
    available = int(cpus) if cpus.isdigit() else (os.cpu_count() or 1)
    return max(1, min(2, available))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train an XGBoost binary classifier.", allow_abbrev=False
    )
    # Hyperparameters (SageMaker passes every value as a string).
    parser.add_argument("--max_depth", type=int, default=4)
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--eta", type=float, default=0.2)
    parser.add_argument("--subsample", type=float, default=1.0)
    parser.add_argument("--colsample_bytree", type=float, default=1.0)
    parser.add_argument("--min_child_weight", type=float, default=1.0)
    parser.add_argument("--early_stopping_rounds", type=int, default=10)
    parser.add_argument("--nthread", type=int, default=default_nthread())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label_column", default="label")
    parser.add_argument("--id_column", default="id")
    # Locations (SageMaker training toolkit environment).
    parser.add_argument(
        "--train", type=Path, default=env_path("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    parser.add_argument(
        "--validation",
        type=Path,
        default=env_path("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    parser.add_argument("--model-dir", type=Path, default=env_path("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument(
        "--output-data-dir",
        type=Path,
        default=env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"),
    )
    # Unknown hyperparameters are reported and ignored rather than fatal.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"ignoring unknown arguments: {unknown}")
    return args


def read_channel(channel_dir: Path) -> pd.DataFrame:
    files = sorted(p for p in channel_dir.rglob("*.csv") if p.is_file())
    if not files:
        raise TrainingError(f"no CSV file in channel {channel_dir}")
    frame = pd.concat((pd.read_csv(path) for path in files), ignore_index=True)
    print(f"read {len(frame)} rows from {len(files)} file(s) in {channel_dir}")
    return frame


def split_features(
    frame: pd.DataFrame, label_column: str, id_column: str, feature_names: list[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    if label_column not in frame.columns:
        raise TrainingError(f"label column {label_column!r} not in {list(frame.columns)}")
    if feature_names is None:
        feature_names = [c for c in frame.columns if c not in (label_column, id_column)]
    missing = [c for c in feature_names if c not in frame.columns]
    if missing:
        raise TrainingError(f"feature columns missing: {missing}")
    features = frame[feature_names]
    non_numeric = [c for c in feature_names if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise TrainingError(f"feature columns are not numeric: {non_numeric}")
    labels = frame[label_column].to_numpy()
    if not np.isin(labels, [0, 1]).all():
        raise TrainingError(f"label column {label_column!r} must hold only 0 and 1")
    return features.astype(float), labels.astype(int)


def xgb_params(args: argparse.Namespace) -> dict[str, object]:
    return {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "max_depth": args.max_depth,
        "eta": args.eta,
        "subsample": args.subsample,
        "colsample_bytree": args.colsample_bytree,
        "min_child_weight": args.min_child_weight,
        "nthread": args.nthread,
        "seed": args.seed,
        "tree_method": "hist",
    }


def fit(
    args: argparse.Namespace,
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_val: pd.DataFrame | None,
    y_val: np.ndarray | None,
) -> xgb.Booster:
    feature_names = list(x_train.columns)
    dtrain = xgb.DMatrix(x_train.to_numpy(), label=y_train, feature_names=feature_names)
    evals = [(dtrain, "train")]
    early_stopping = None
    if x_val is not None:
        dval = xgb.DMatrix(x_val.to_numpy(), label=y_val, feature_names=feature_names)
        evals.append((dval, "validation"))
        if args.early_stopping_rounds > 0:
            early_stopping = args.early_stopping_rounds
    booster = xgb.train(
        xgb_params(args),
        dtrain,
        num_boost_round=args.n_estimators,
        evals=evals,
        early_stopping_rounds=early_stopping,
        verbose_eval=10,
    )
    if early_stopping is not None:
        best = int(booster.best_iteration)
        print(f"best iteration: {best} of {args.n_estimators}")
        booster = booster[: best + 1]
    return booster


def predict(booster: xgb.Booster, features: pd.DataFrame) -> np.ndarray:
    matrix = xgb.DMatrix(features.to_numpy(), feature_names=list(features.columns))
    return booster.predict(matrix)


def auc_or_none(labels: np.ndarray, scores: np.ndarray) -> float | None:
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def save_model(
    booster: xgb.Booster, model_dir: Path, args: argparse.Namespace, features: list[str]
) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / MODEL_FILE))
    metadata = {
        "label_column": args.label_column,
        "id_column": args.id_column,
        "features": features,
        "model_file": MODEL_FILE,
        "xgboost_version": xgb.__version__,
    }
    (model_dir / FEATURES_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    print(f"saved model to {model_dir / MODEL_FILE}")


def write_summary(output_dir: Path, summary: dict[str, object]) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"wrote {path}")


def write_failure(reason: str) -> None:
    """SageMaker reports the content of /opt/ml/output/failure as the failure reason."""
    output_dir = env_path("SM_OUTPUT_DIR", "/opt/ml/output")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "failure").write_text(reason, encoding="utf-8")
    except OSError as error:
        print(f"could not write the failure file: {error}", file=sys.stderr)


def run(args: argparse.Namespace) -> dict[str, object]:
    train_frame = read_channel(args.train)
    x_train, y_train = split_features(train_frame, args.label_column, args.id_column)
    features = list(x_train.columns)

    x_val = y_val = None
    if args.validation.is_dir() and any(args.validation.rglob("*.csv")):
        val_frame = read_channel(args.validation)
        x_val, y_val = split_features(val_frame, args.label_column, args.id_column, features)
    else:
        print(f"no validation data at {args.validation}; training without early stopping")

    booster = fit(args, x_train, y_train, x_val, y_val)
    train_auc = auc_or_none(y_train, predict(booster, x_train))
    val_auc = None
    if x_val is not None and y_val is not None:
        val_auc = auc_or_none(y_val, predict(booster, x_val))
    print(f"train_auc={train_auc}")
    print(f"validation_auc={val_auc}")

    save_model(booster, args.model_dir, args, features)
    importance = booster.get_score(importance_type="gain")
    return {
        "hyperparameters": {
            "max_depth": args.max_depth,
            "n_estimators": args.n_estimators,
            "eta": args.eta,
            "subsample": args.subsample,
            "colsample_bytree": args.colsample_bytree,
            "min_child_weight": args.min_child_weight,
            "early_stopping_rounds": args.early_stopping_rounds,
            "seed": args.seed,
        },
        "num_boosted_rounds": int(booster.num_boosted_rounds()),
        "train_rows": len(y_train),
        "validation_rows": len(y_val) if y_val is not None else 0,
        "train_positive_rate": float(y_train.mean()),
        "train_auc": train_auc,
        "validation_auc": val_auc,
        "features": features,
        "feature_importance_gain": dict(sorted(importance.items())),
        "xgboost_version": xgb.__version__,
    }


def main() -> None:
    args = parse_args()
    print(f"arguments: {vars(args)}")
    try:
        summary = run(args)
        write_summary(args.output_data_dir, summary)
    except Exception as error:  # any failure must reach the failure file
        reason = f"{type(error).__name__}: {error}"
        print(f"training failed: {reason}", file=sys.stderr)
        traceback.print_exc()
        write_failure(reason + "\n\n" + traceback.format_exc())
        sys.exit(1)


if __name__ == "__main__":
    main()
