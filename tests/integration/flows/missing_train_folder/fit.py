"""Reads the train split from train/ under its input."""

import pandas as pd

train = pd.read_csv("/opt/ml/processing/input/splits/train/data.csv")
print(f"{len(train)} training rows")
