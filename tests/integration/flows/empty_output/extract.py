"""A filter that matched nothing: no events file at all, and a users CSV with only its header."""

import pandas as pd

pd.DataFrame({"user_id": [], "country": []}).to_csv(
    "/opt/ml/processing/output/users/users.csv", index=False
)
