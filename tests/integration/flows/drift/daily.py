"""Writes the day's orders."""

import pandas as pd

orders = pd.DataFrame(
    {"order_id": [1, 2, 3], "amount": [10.5, 20.25, 5.0], "coupon": ["A", "B", "A"]}
)
orders.to_csv("/opt/ml/processing/output/orders/orders.csv", index=False)
