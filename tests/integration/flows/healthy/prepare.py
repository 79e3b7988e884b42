"""Writes the train split as CSV under train/ and the holdout rows as Parquet."""

from pathlib import Path

import pandas as pd

rows = pd.DataFrame(
    {
        "id": range(1, 9),
        "x": [0.5, 1.25, 2.5, 3.75, 4.5, 5.25, 6.5, 7.75],
        "label": [0, 0, 0, 1, 0, 1, 1, 1],
    }
)
train = Path("/opt/ml/processing/output/splits/train")
train.mkdir(parents=True, exist_ok=True)
rows.iloc[:6].to_csv(train / "train.csv", index=False)
rows.iloc[6:].to_parquet("/opt/ml/processing/output/holdout/holdout.parquet", index=False)
