"""Scores the holdout rows with the model from model.tar.gz and writes the accuracy."""

import json
import tarfile
from pathlib import Path

import pandas as pd

with tarfile.open("/opt/ml/processing/input/model/model.tar.gz") as archive:
    member = archive.extractfile("model.json")
    assert member is not None
    model = json.load(member)
holdout = pd.read_parquet("/opt/ml/processing/input/holdout")
accuracy = float(((holdout["x"] > model["threshold"]).astype(int) == holdout["label"]).mean())
metrics = Path("/opt/ml/processing/output/metrics/metrics.json")
metrics.write_text(json.dumps({"accuracy": accuracy}))
