"""Writes the customers table, with customer_id renamed to cust_id."""

import pandas as pd

customers = pd.DataFrame(
    {"cust_id": [1, 2, 3], "age": [31.5, 42.0, 57.25], "income": [1200.5, 3400.0, 2100.75]}
)
customers.to_csv("/opt/ml/processing/output/customers/customers.csv", index=False)
