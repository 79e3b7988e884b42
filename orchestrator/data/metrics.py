"""A step's metrics: the file that holds them and the bounds written on them (``auc >= 0.8``,
``between 0.7 and 0.9``), parsed once into ``MetricExpectation`` and judged from it."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any, Literal

from ..files import FieldError, StrictRecord

ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
"""The ordering comparisons by their symbol: metric bounds, version requirements and
pipeline conditions read them alike."""

DEFAULT_METRICS_FILE = "metrics.json"


EQUAL_TOLERANCE = 1e-9
"""Relative tolerance of ``==`` between a metric and its expected value."""


Operator = Literal[">=", ">", "<=", "<", "==", "between"]


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


_COMPARISON = re.compile(rf"^\s*(>=|<=|==|>|<)?\s*({_NUMBER})\s*$")


_BETWEEN = re.compile(rf"^\s*between\s+({_NUMBER})\s+and\s+({_NUMBER})\s*$", re.IGNORECASE)


METRIC_FORMS = "'>= 0.8', '> 0.8', '<= 1', '< 1', '== 3', 'between 0.7 and 0.9', or a number"


def number_text(value: float) -> str:
    """A number as a person writes it: 3 rather than 3.0, 0.8 rather than 0.80000."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class MetricExpectation(StrictRecord):
    """One bound on a metric: ``op value``, or ``between value and upper`` (inclusive)."""

    metric: str
    op: Operator
    value: float
    upper: float | None = None

    @property
    def bound(self) -> str:
        """The bound as written: ">= 0.8" or "between 0.7 and 0.9"."""
        if self.op == "between":
            return f"between {number_text(self.value)} and {number_text(self.upper or 0.0)}"
        return f"{self.op} {number_text(self.value)}"

    def describe(self) -> str:
        return f"{self.metric} {self.bound}"

    def holds(self, actual: float) -> bool:
        """Whether ``actual`` satisfies the bound (NaN never does)."""
        if self.op == "between":
            return self.value <= actual <= (self.upper if self.upper is not None else self.value)
        if self.op == "==":
            return math.isclose(actual, self.value, rel_tol=EQUAL_TOLERANCE, abs_tol=1e-12)
        return ORDERINGS[self.op](actual, self.value)


def parse_metric_expectation(metric: str, written: Any) -> MetricExpectation:
    """An expression such as ">= 0.8" or "between 0.7 and 0.9"; a bare number means ">="."""
    if isinstance(written, MetricExpectation):
        return written
    if isinstance(written, bool) or not isinstance(written, str | int | float):
        raise ValueError(f"must be an expression such as {METRIC_FORMS}")
    text = written if isinstance(written, str) else repr(written)
    between = _BETWEEN.match(text)
    if between:
        low, high = float(between.group(1)), float(between.group(2))
        if low > high:
            raise ValueError(f"'{text}': the lower bound is above the upper bound")
        return MetricExpectation(metric=metric, op="between", value=low, upper=high)
    comparison = _COMPARISON.match(text)
    if comparison is None:
        raise ValueError(f"cannot read '{text}'; write {METRIC_FORMS} (meaning >=)")
    op = comparison.group(1) or ">="
    return MetricExpectation.model_validate(
        {"metric": metric, "op": op, "value": float(comparison.group(2))}
    )


def parse_expected_metrics(value: dict[Any, Any]) -> dict[str, MetricExpectation]:
    """Metric name -> bound as written (``expected_metrics``); a ``FieldError`` names the
    metric whose bound cannot be read."""
    parsed = {}
    for metric, written in value.items():
        if not str(metric).strip():
            raise FieldError(str(metric), "a metric name must not be empty")
        try:
            parsed[str(metric)] = parse_metric_expectation(str(metric), written)
        except ValueError as exc:
            raise FieldError(str(metric), str(exc)) from None
    return parsed


def relative_pattern(written: str) -> str:
    """An output name or glob relative to the outputs root, without './' or a trailing '/'."""
    text = written.strip()
    while text.startswith("./"):
        text = text[2:]
    text = text.rstrip("/")
    if not text:
        raise ValueError("an output name or glob must not be empty")
    if text.startswith("/") or "\\" in text or ".." in text.split("/"):
        raise ValueError(
            f"'{written}' must be relative to the outputs root, without '..', "
            "e.g. 'metrics/metrics.json', 'predictions/*.csv' or 'roc_curve.jpg'"
        )
    return text
