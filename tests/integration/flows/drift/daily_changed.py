"""The same export after a change: amount is written as text and coupon is gone."""

import pandas as pd

orders = pd.DataFrame({"order_id": [1, 2, 3], "amount": ["10.50 EUR", "20.25 EUR", "5.00 EUR"]})
orders.to_csv("/opt/ml/processing/output/orders/orders.csv", index=False)
