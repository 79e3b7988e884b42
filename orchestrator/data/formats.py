"""The table formats cit writes (generated test data); ``tables`` reads many more."""

from __future__ import annotations

from typing import Literal

DataFormat = Literal["csv", "parquet"]
FORMATS: tuple[DataFormat, ...] = ("csv", "parquet")
