"""The charts of the HTML report, as inline SVG: numeric metrics as bars against the thresholds
they missed, drift statistics against their limits, and a checked distribution beside its
reference. Every chart is a ``<figure class="plot">``, so a page can leave them out.

Thresholds and drift statistics come structured from the results (``MetricExpectation``s,
a drift check's ``Distribution``); nothing here reads them back out of text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...data.metrics import MetricExpectation
from ...data.profiles import Distribution
from ...scripttest.case_checks import Failure, find_metric
from .text import attributes, cut, esc, is_number, number

MAX_BARS = 40
"""Numeric metrics drawn per chart; the table lists them all."""

_PLOT = re.compile(r'<figure class="plot">.*?</figure>\n?', re.DOTALL)


def without_plots(html: str) -> str:
    """``html`` with every chart left out."""
    return _PLOT.sub("", html)


@dataclass(frozen=True)
class Bound:
    """A threshold a metric was held to: ``op value``, or ``between value and upper``."""

    op: str
    value: float
    upper: float | None = None

    @classmethod
    def of(cls, expectation: MetricExpectation) -> Bound:
        """The bound of a metric expectation."""
        return cls(expectation.op, expectation.value, expectation.upper)

    @property
    def points(self) -> list[float]:
        return [self.value] if self.upper is None else [self.value, self.upper]

    def __str__(self) -> str:
        if self.upper is not None:
            return f"between {number(self.value)} and {number(self.upper)}"
        return f"{self.op} {number(self.value)}"

    @property
    def short(self) -> str:
        """The bound in a few characters, for a chart: ">= 0.8", "in [0.7, 0.9]"."""
        if self.upper is not None:
            return f"in [{number(self.value)}, {number(self.upper)}]"
        return str(self)


def metric_bounds(
    failures: Sequence[Failure], metrics: Mapping[str, Any]
) -> dict[str, list[Bound]]:
    """The thresholds that ``failures`` missed, by the metric name in ``metrics`` they are
    about (a name that is not a full path matches the one name ending with it)."""
    missed = [f.bound for f in failures if f.kind == "metric" and f.bound is not None]
    return expected_bounds(missed, metrics)


def expected_bounds(
    expected: Sequence[MetricExpectation], metrics: Mapping[str, Any]
) -> dict[str, list[Bound]]:
    """Every threshold of ``expected``, met or not, by the metric in ``metrics``."""
    found: dict[str, list[Bound]] = {}
    for expectation in expected:
        key = _metric_key(expectation.metric, metrics)
        if key is not None:
            found.setdefault(key, []).append(Bound.of(expectation))
    return found


def _metric_key(metric: str, metrics: Mapping[str, Any]) -> str | None:
    """The one metric ``metric`` names (see ``find_metric``); None when none or several."""
    found = find_metric(metrics, metric)
    return found[0] if len(found) == 1 else None


def metrics_plot(
    metrics: Mapping[str, Any], bounds: Mapping[str, list[Bound]], missed: set[str]
) -> str:
    """Horizontal bars of the numeric metrics: those within [0, 1] (thresholds included) on a
    0 to 1 scale, the others relative to the largest; a threshold is a marker on its bar."""
    unit: list[tuple[str, float]] = []
    other: list[tuple[str, float]] = []
    for name, value in metrics.items():
        if not is_number(value):
            continue
        points = [float(value), *(p for b in bounds.get(name, []) for p in b.points)]
        (unit if all(0 <= p <= 1 for p in points) else other).append((name, float(value)))
    charts = []
    if unit:
        charts.append(_bar_chart(unit, bounds, missed, 1.0, "metrics on a 0 to 1 scale", axis=True))
    if other:
        scale = max(abs(p) for n, v in other for p in [v, *_points(bounds.get(n, []))]) or 1.0
        caption = f"other metrics, relative to {number(scale)}"
        charts.append(_bar_chart(other, bounds, missed, scale, caption, axis=False))
    return "".join(charts)


def _points(bounds: Sequence[Bound]) -> list[float]:
    return [p for b in bounds for p in b.points]


LABEL_W, BAR_W, VALUE_W, ROW_H, TOP = 190, 240, 170, 22, 6
LABEL_CHARS = 28


def _bar_chart(
    rows: Sequence[tuple[str, float]],
    bounds: Mapping[str, list[Bound]],
    missed: set[str],
    scale: float,
    caption: str,
    *,
    axis: bool,
) -> str:
    shown = rows[:MAX_BARS]
    if len(rows) > MAX_BARS:
        caption += f" (first {MAX_BARS} of {len(rows)}; the table has all)"
    width = LABEL_W + BAR_W + VALUE_W
    height = TOP + len(shown) * ROW_H + (18 if axis else 4)
    bars = "".join(
        _bar(i, name, value, bounds.get(name, []), name in missed, scale)
        for i, (name, value) in enumerate(shown)
    )
    ticks = _ticks(TOP + len(shown) * ROW_H) if axis else ""
    return (
        f'<figure class="plot"><svg class="bars" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(caption)}">{bars}{ticks}</svg>'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _x(value: float, scale: float) -> float:
    return round(LABEL_W + BAR_W * min(max(abs(value) / scale, 0.0), 1.0), 1)


def _bar(
    row: int, name: str, value: float, bounds: Sequence[Bound], miss: bool, scale: float
) -> str:
    y = TOP + row * ROW_H
    kind = "bar miss" if miss else ("bar neg" if value < 0 else "bar")
    marks = "".join(_threshold(name, b, y, scale) for b in bounds)
    wanted = f" ({', '.join(b.short for b in bounds)})" if bounds else ""
    return (
        f"<g{attributes(class_='bar-row' + (' missed' if miss else ''), data_metric=name)}>"
        f"<title>{esc(name)} = {esc(number(value))}{esc(wanted)}</title>"
        f'<text class="label" x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end">'
        f"{esc(_cut_left(name, LABEL_CHARS))}</text>"
        f'<rect class="track" x="{LABEL_W}" y="{y + 2}" width="{BAR_W}" height="12"/>'
        f'<rect class="{kind}" x="{LABEL_W}" y="{y + 2}" width="{_x(value, scale) - LABEL_W}" '
        f'height="12"/>{marks}'
        f'<text class="value" x="{LABEL_W + BAR_W + 6}" y="{y + 12}">'
        f"{esc(number(value))}{esc(wanted)}</text></g>"
    )


def _cut_left(text: str, chars: int) -> str:
    """The end of ``text``: the end of a dotted metric name tells it apart."""
    return text if len(text) <= chars else "…" + text[1 - chars :]


def _threshold(name: str, bound: Bound, y: int, scale: float) -> str:
    tip = f"<title>{esc(name)} {esc(bound)}</title>"
    if bound.upper is not None:
        x1, x2 = _x(bound.value, scale), _x(bound.upper, scale)
        return (
            f'<rect class="band" x="{x1}" y="{y}" width="{max(x2 - x1, 1)}" height="16">'
            f"{tip}</rect>"
            f'<line class="threshold" x1="{x1}" x2="{x1}" y1="{y - 1}" y2="{y + 17}"/>'
            f'<line class="threshold" x1="{x2}" x2="{x2}" y1="{y - 1}" y2="{y + 17}"/>'
        )
    x = _x(bound.value, scale)
    return f'<line class="threshold" x1="{x}" x2="{x}" y1="{y - 1}" y2="{y + 17}">{tip}</line>'


def _ticks(y: int) -> str:
    return "".join(
        f'<text class="tick" x="{_x(v, 1.0)}" y="{y + 12}" text-anchor="middle">{label}</text>'
        for v, label in ((0.0, "0"), (0.5, "0.5"), (1.0, "1"))
    )


def drift_stats(distribution: Distribution) -> list[tuple[str, float, float]]:
    """(statistic, value, limit) of each statistic a drift check held to a limit."""
    limits = distribution.limits
    return [(k, v, limits[k]) for k, v in distribution.statistics.items() if k in limits]


def drift_plot(failure: Failure) -> str:
    """The drift statistics of a failed distribution check against their limits, and the two
    distributions it compared."""
    drift = failure.distribution if failure.kind == "data_quality" else None
    stats = drift_stats(drift) if drift is not None else []
    shares = distribution_plot(failure.distribution) if failure.distribution else ""
    if not stats:
        return f'<div class="drift">{shares}</div>\n' if shares else ""
    bounds = {stat: [Bound("<=", limit)] for stat, _, limit in stats}
    missed = {stat for stat, value, limit in stats if value > limit}
    scale = max(max(value, limit) for _, value, limit in stats) * 1.25 or 1.0
    rows = [(stat, value) for stat, value, _ in stats]
    chart = _bar_chart(
        rows,
        bounds,
        missed,
        scale,
        f"{failure.expectation}: statistics against their limits",
        axis=False,
    )
    return f'<div class="drift">{chart}{shares}</div>\n'


DIST_H, DIST_BAR, DIST_GAP, DIST_TOP, DIST_LABEL_H = 120, 9, 8, 18, 46
MAX_BINS = 40


def distribution_plot(distribution: Distribution) -> str:
    """The checked and the reference share of each bin (or category) side by side, as SVG."""
    bins = list(zip(distribution.labels, distribution.actual, distribution.reference, strict=False))
    shown = bins[:MAX_BINS]
    peak = max([max(a, r) for _, a, r in shown] + [1e-9])
    group = 2 * DIST_BAR + DIST_GAP
    width = max(240, len(shown) * group + 20)
    height = DIST_TOP + DIST_H + DIST_LABEL_H
    bars = []
    for i, (label, actual, reference) in enumerate(shown):
        x = 10 + i * group
        for j, (value, cls, who) in enumerate(
            ((actual, "dist-actual", "checked"), (reference, "dist-reference", "reference"))
        ):
            h = round(DIST_H * value / peak, 1)
            tip = f"<title>{esc(label)}: {who} {value:.1%}</title>"
            bars.append(
                f'<rect class="{cls}" x="{x + j * DIST_BAR}" y="{DIST_TOP + DIST_H - h}" '
                f'width="{DIST_BAR - 1}" height="{h}">{tip}</rect>'
            )
        ty = DIST_TOP + DIST_H + 8
        bars.append(
            f'<text class="tick" x="{x + DIST_BAR}" y="{ty}" text-anchor="end" '
            f'transform="rotate(-45 {x + DIST_BAR} {ty})">{esc(cut(label, 12))}</text>'
        )
    more = f" (first {MAX_BINS} of {len(bins)})" if len(bins) > MAX_BINS else ""
    caption = (
        f"{esc(distribution.column)}: share per bin, checked "
        f'<span class="dist-actual-key">■</span> against reference '
        f'<span class="dist-reference-key">■</span>{more}'
    )
    svg = (
        f'<svg class="distribution" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" data-column="{esc(distribution.column)}">'
        + "".join(bars)
        + "</svg>"
    )
    return f'<figure class="plot">{svg}<figcaption>{caption}</figcaption></figure>\n'
