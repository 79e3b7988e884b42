"""The tabular example pipeline: preprocess -> train (XGBoost) -> evaluate.

Run it with ``cit run --dag examples/tabular/pipeline.py``; ``pipeline.yaml``
beside this file defines the same pipeline in YAML.
"""

from orchestrator import Pipeline

pipeline = Pipeline("tabular-xgboost")

prep = pipeline.processing(
    "preprocess",
    script="scripts/preprocess.py",
    inputs={"raw": "data/raw"},
    outputs=["train", "val", "test"],
    arguments=["--val-ratio", "0.15", "--test-ratio", "0.15", "--random-seed", "42"],
    env={"LABEL_COLUMN": "label"},
    contract="contracts/preprocess.yaml",
)

train = pipeline.training(
    "train",
    script="scripts/train.py",
    inputs={"train": prep.output("train"), "validation": prep.output("val")},
    hyperparameters={"max_depth": 4, "n_estimators": 60, "eta": 0.2},
    contract="contracts/train.yaml",
)

evaluate = pipeline.processing(
    "evaluate",
    script="scripts/evaluate.py",
    inputs={"model": train.model, "test": prep.output("test")},
    outputs=["predictions", "metrics"],
    contract="contracts/evaluate.yaml",
)

# What the outputs of every run must show, judged after the run: a model that learns noise
# (AUC about 0.5) fails the run.
pipeline.expect(prep, data_quality={"train": [{"row_count": {"at_least": "3x preprocess.test"}}]})
pipeline.expect(
    evaluate,
    metrics={"auc_roc": ">= 0.8", "accuracy": ">= 0.75"},
    outputs=["predictions/*.csv", "metrics/metrics.json"],
    data_quality={
        "predictions": [
            "no_nan_predictions",
            "predictions_in_range_0_1",
            {"row_count": {"equals": prep.output("test")}},
        ]
    },
)
