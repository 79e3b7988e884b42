"""Writes the features as Parquet."""

import pandas as pd

features = pd.DataFrame({"id": [1, 2, 3, 4], "amount": [9.5, 12.25, 3.0, 7.75]})
features.to_parquet("/opt/ml/processing/output/features/part-0.parquet", index=False)
