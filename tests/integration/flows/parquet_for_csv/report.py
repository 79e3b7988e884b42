"""Summarises every CSV file of the features folder."""

from pathlib import Path

import pandas as pd

files = sorted(Path("/opt/ml/processing/input/features").glob("*.csv"))
features = pd.concat(pd.read_csv(f) for f in files)
print(features.describe())
