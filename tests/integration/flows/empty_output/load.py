"""Loads whatever arrived; it does not mind empty inputs, which is why cit must."""

from pathlib import Path

for name in ("events", "users"):
    files = sorted(p.name for p in Path(f"/opt/ml/processing/input/{name}").iterdir())
    print(name, files)
