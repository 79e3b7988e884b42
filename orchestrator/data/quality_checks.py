"""The named data-quality checks: one spec class per check, with its parameters and how it
evaluates a pyarrow table.

A check is either **row-level** (each row passes or fails; ``mostly`` says what share must
pass) or **table-level** (one verdict for the table; ``mostly`` does not apply). A check finds;
``quality.run_check`` turns its findings into a ``CheckResult``. A check that cannot run
raises ``CheckUnavailable`` with the reason.

Missing values are nulls and float NaN. Range, set and prediction-range checks skip them (they
are what ``no_missing_values`` and ``no_nan_predictions`` look for); drift and statistics
leave them out of the values they measure.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..files import FieldError, InputRecord, first_line
from ..issues import Severity
from . import arrow_literals as literals
from .profiles import Distribution, Scalar

PREDICTION_COLUMNS = ("probability", "prediction")
"""Columns a prediction check reads when it names none: the first of these the table has."""
PSI_FLOOR = 1e-4
"""Share given to a bin or category that holds no value on one side, so PSI stays finite."""
SHOWN_VALUES = 5
"""Values of a set or of unexpected values that a message lists."""
Measured = dict[str, float | int | None]


class CheckUnavailable(Exception):
    """A check cannot run (a missing column, an unreadable reference); the message says why."""


@dataclass(frozen=True)
class RowFindings:
    """What a row-level check found: the failing rows and how they fail."""

    failing: Any
    """Sorted int64 indices of the failing rows."""
    what: str
    """How the failing rows fail, after "N of M rows": "have probability outside [0, 1]"."""
    columns: tuple[str, ...] = ()
    """The columns checked, shown first in the sample of failing rows."""
    measured: Measured = field(default_factory=dict)


@dataclass(frozen=True)
class TableFindings:
    """What a table-level check found: one verdict and the values it measured."""

    passed: bool
    message: str
    measured: Measured = field(default_factory=dict)
    failing: Any = None
    """Indices of the rows behind a failure, when the check can name rows."""
    columns: tuple[str, ...] = ()
    distribution: Distribution | None = None


Findings = RowFindings | TableFindings


def _no_references(path: str) -> Any:
    raise CheckUnavailable(f"reference {path!r} cannot be read here: no dataset folder given")


@dataclass
class CheckContext:
    """The data a check sees: the table, the input table it came from, and references."""

    table: Any
    input_table: Any = None
    load_reference: Callable[[str], Any] = _no_references
    """Reads a reference dataset by the path a check gives; raises ``CheckUnavailable``."""

    def column(self, name: str) -> Any:
        return column_of(self.table, name, "the table")

    def columns(self, names: Sequence[str] | None) -> list[str]:
        """``names`` after checking each is in the table; every column when None."""
        if names is None:
            return list(self.table.column_names)
        for name in names:
            self.column(name)
        return list(names)

    def prediction_column(self, name: str | None) -> str:
        """``name``, or the first of ``PREDICTION_COLUMNS`` the table has."""
        if name is not None:
            self.column(name)
            return name
        for candidate in PREDICTION_COLUMNS:
            if candidate in self.table.column_names:
                return candidate
        tried = " nor ".join(repr(c) for c in PREDICTION_COLUMNS)
        raise CheckUnavailable(
            f"no prediction column: the table has neither {tried} "
            f"(columns: {listed(self.table.column_names)}); name one with 'column'"
        )


def column_of(table: Any, name: str, where: str) -> Any:
    """A column as a chunked array (dictionary-encoded columns decoded)."""
    if name not in table.column_names:
        raise CheckUnavailable(
            f"column {name!r} is not in {where} (columns: {listed(table.column_names)})"
        )
    column = table.column(name)
    if _pa().types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column


# --- the spec every check shares ------------------------------------------------------------


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Columns = Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)]
"""One column name or a list of them."""


def _pair(value: Any) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"must be [low, high] (null for no bound), got {value!r}")
    return value


Bounds = Annotated[tuple[float | None, float | None], BeforeValidator(_pair)]
"""[low, high], either of them null for no bound."""


_FACTOR = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*x\s+(\S.*?)\s*$")
ROW_BOUND_FORMS = (
    "a number of rows (500), a dataset (preprocess.test) or a factor times one (3x preprocess.test)"
)


def _row_bound(value: Any) -> Any:
    """A row bound as written: a whole number, or text naming a dataset (checked here)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be {ROW_BOUND_FORMS}, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must be 0 or more rows, got {value}")
        return value
    text = " ".join(value.split())
    if not text:
        raise ValueError(f"must be {ROW_BOUND_FORMS}, got an empty text")
    if text.isdigit():
        return int(text)
    factor, reference = row_bound(text)
    if factor <= 0:
        raise ValueError(f"'{value}': the factor must be above 0")
    return text if factor == 1 else f"{fmt(factor)}x {reference}"


RowBound = Annotated[int | str, BeforeValidator(_row_bound)]
"""A number of rows, a dataset (its rows), or ``<factor>x <dataset>``."""


def row_bound(bound: int | str) -> tuple[float, str | None]:
    """(factor, dataset) of a row bound; a number of rows is (rows, None)."""
    if isinstance(bound, int):
        return float(bound), None
    scaled = _FACTOR.match(bound)
    if scaled is None:
        return 1.0, bound
    return float(scaled.group(1)), scaled.group(2)


class CheckSpec(InputRecord):
    """A check as declared: its name, its parameters, its severity and its tolerance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str] = ""
    row_level: ClassVar[bool] = True
    summary: ClassVar[str] = ""

    check: str
    severity: Severity = Severity.ERROR
    mostly: float = 1.0
    """Share of rows that must pass a row-level check (1.0: every row)."""
    output: str | None = None
    """The output whose table is checked (default: see the test runner)."""

    @classmethod
    def params(cls) -> list[str]:
        """The check's own parameters, in declaration order."""
        return [name for name in cls.model_fields if name not in COMMON_FIELDS]

    @classmethod
    def allowed_fields(cls) -> list[str]:
        common = [f for f in COMMON_FIELDS if cls.row_level or f != "mostly"]
        return [*common, *cls.params()]

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        """A spec built in Python may leave out ``check``: it is the class's name."""
        if isinstance(data, dict) and cls.name and "check" not in data:
            return {"check": cls.name, **data}
        return data

    @field_validator("check")
    @classmethod
    def _this_check(cls, value: str) -> str:
        if cls.name and value != cls.name:
            raise ValueError(f"is {value!r} but this spec is of {cls.name!r}")
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        text = value.strip().lower() if isinstance(value, str) else value
        if text == "warn":
            return Severity.WARNING
        if text not in tuple(Severity):
            allowed = ", ".join(s.value for s in Severity)
            raise ValueError(f"unknown severity {value!r}; allowed: {allowed}")
        return text

    @field_validator("mostly", mode="before")
    @classmethod
    def _mostly(cls, value: Any) -> Any:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not 0 <= value <= 1:
            raise ValueError(
                f"must be a number from 0 to 1 (the share of rows that must pass), got {value!r}"
            )
        return value

    def datasets(self) -> list[tuple[str, str]]:
        """The datasets the check reads beside its table, as (field, reference as written)."""
        reference = getattr(self, "reference", None)
        return [("reference", reference)] if isinstance(reference, str) else []

    def evaluate(self, ctx: CheckContext) -> Findings:
        raise NotImplementedError


COMMON_FIELDS = ("check", "severity", "mostly", "output")


def _ordered(low: float | None, high: float | None, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise FieldError(what, f"low bound {fmt(low)} is above high bound {fmt(high)}")


# --- missing values ---------------------------------------------------------------------------


class NoMissingValues(CheckSpec):
    name = "no_missing_values"
    summary = "rows with a null or NaN in any of `columns` (default: all) fail"

    columns: Columns | None = None

    def evaluate(self, ctx: CheckContext) -> Findings:
        names = ctx.columns(self.columns)
        masks = [missing(ctx.column(name)) for name in names]
        counts = [(n, int(pc().sum(m).as_py() or 0)) for n, m in zip(names, masks, strict=True)]
        found = ", ".join(f"{name}: {count}" for name, count in counts if count)
        what = f"have a missing value ({found})" if found else "have a missing value"
        return RowFindings(indices(any_of(masks, ctx.table.num_rows)), what, tuple(names))


class MaxMissingRatio(CheckSpec):
    name = "max_missing_ratio"
    row_level = False
    summary = "each of `columns` (default: all) is missing in at most `max_ratio` of the rows"

    columns: Columns | None = None
    max_ratio: float = Field(default=0.05, ge=0, le=1)

    def evaluate(self, ctx: CheckContext) -> Findings:
        names = ctx.columns(self.columns)
        total = ctx.table.num_rows
        allowed = allowed_count(self.max_ratio, total)
        masks = {name: missing(ctx.column(name)) for name in names}
        counts = {name: int(pc().sum(mask).as_py() or 0) for name, mask in masks.items()}
        measured: Measured = {f"missing_ratio.{n}": share(c, total) for n, c in counts.items()}
        over = sorted((n for n in names if counts[n] > allowed), key=lambda n: -counts[n])
        limit = f"{allowed} of {total} rows (max_ratio {self.max_ratio})"
        if not over:
            worst = max(names, key=lambda n: counts[n], default="")
            detail = (
                f"; most: {shown_count(worst, counts[worst], total)}"
                if worst and counts[worst]
                else ""
            )
            message = f"no column is missing in more than {limit}{detail}"
            return TableFindings(True, message, measured)
        found = ", ".join(shown_count(n, counts[n], total) for n in over)
        verb = "is" if len(over) == 1 else "are"
        message = f"{plural(len(over), 'column')} {verb} missing in more than {limit}: {found}"
        failing = indices(any_of([masks[n] for n in over], total))
        return TableFindings(False, message, measured, failing, tuple(over))


# --- values within bounds and sets ------------------------------------------------------------


class Range(InputRecord):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min is None and self.max is None:
            raise FieldError("", "give min, max or both")
        _ordered(self.min, self.max, "min")
        return self


class NumericRanges(CheckSpec):
    name = "numeric_ranges"
    summary = "rows with a value outside its column's `ranges` {column: {min, max}} fail"

    ranges: dict[str, Range] = Field(min_length=1)

    def evaluate(self, ctx: CheckContext) -> Findings:
        masks = {
            name: outside(numeric(ctx.column(name), name), bounds.min, bounds.max)
            for name, bounds in self.ranges.items()
        }
        names = tuple(self.ranges)
        if len(names) == 1:
            bounds = self.ranges[names[0]]
            what = f"have {names[0]} {beyond(bounds.min, bounds.max)}"
        else:
            counts = [
                f"{name} {interval(b.min, b.max)}: {int(pc().sum(masks[name]).as_py() or 0)}"
                for name, b in self.ranges.items()
            ]
            what = f"have a value outside its range ({'; '.join(counts)})"
        return RowFindings(indices(any_of(masks.values(), ctx.table.num_rows)), what, names)


class CategoricalConsistency(CheckSpec):
    name = "categorical_consistency"
    summary = (
        "rows whose `column` holds a value outside `allowed`, or outside the values of "
        "`reference_column` (default: `column`) in the `reference` dataset, fail"
    )

    column: str
    allowed: list[Scalar] | None = Field(default=None, min_length=1)
    reference: str | None = None
    reference_column: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.allowed is None) == (self.reference is None):
            raise FieldError("allowed", "give either allowed (a list) or reference (a dataset)")
        if self.reference_column is not None and self.reference is None:
            raise FieldError("reference_column", "only with reference")
        return self

    def evaluate(self, ctx: CheckContext) -> Findings:
        values = ctx.column(self.column)
        if self.allowed is not None:
            allowed = value_array(self.allowed)
            described = f"[{', '.join(shown(allowed.to_pylist()))}]"
        else:
            assert self.reference is not None
            name = self.reference_column or self.column
            reference = ctx.load_reference(self.reference)
            allowed = column_of(reference, name, self.reference).unique().drop_null()
            described = f"(the {len(allowed)} values of {name} in {self.reference})"
        values, allowed = comparable(values, allowed)
        known = pc().is_in(values, value_set=allowed)
        unexpected = pc().and_(pc().invert(known), values.is_valid())
        bad = pc().unique(values.filter(unexpected)).to_pylist()
        found = f" (found: {', '.join(shown(bad))})" if bad else ""
        what = f"have {self.column} outside the allowed set {described}{found}"
        return RowFindings(indices(unexpected), what, (self.column,))


class UniqueKey(CheckSpec):
    name = "unique_key"
    summary = "rows whose `columns` values (the key; nulls count as a value) repeat fail"

    columns: Columns

    def evaluate(self, ctx: CheckContext) -> Findings:
        names = ctx.columns(self.columns)
        pa = _pa()
        keys = ctx.table.select(names).append_column(
            "__row", literals.integers(range(ctx.table.num_rows))
        )
        try:
            groups = keys.group_by(names).aggregate([("__row", "count"), ("__row", "list")])
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
            problem = f"cannot group by {', '.join(names)}: {first_line(exc)}"
            raise CheckUnavailable(problem) from None
        repeated = groups.filter(pc().greater(groups["__row_count"], literals.integer_scalar(1)))
        rows = pc().list_flatten(repeated["__row_list"]).combine_chunks()
        failing = pc().take(rows, pc().sort_indices(rows)) if len(rows) else rows
        keys_repeated = plural(repeated.num_rows, "key")
        what = f"share their key ({', '.join(names)}) with another row ({keys_repeated} repeated)"
        return RowFindings(failing.cast(pa.int64()), what, tuple(names))


class RowCount(CheckSpec):
    name = "row_count"
    row_level = False
    summary = (
        "the table has at least `min` (default 1) and at most `max` rows; `equals`, "
        "`at_least` and `at_most` compare with a number or with another dataset's rows, "
        "optionally times a factor (`3x preprocess.test`)"
    )

    min: int | None = Field(default=1, ge=0)
    max: int | None = Field(default=None, ge=0)
    equals: RowBound | None = None
    at_least: RowBound | None = None
    at_most: RowBound | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _ordered(self.min, self.max, "min")
        return self

    def datasets(self) -> list[tuple[str, str]]:
        return [
            (key, reference)
            for key, bound in self._relative()
            if (reference := row_bound(bound)[1]) is not None
        ]

    def _relative(self) -> list[tuple[str, RowBound]]:
        bounds = (("equals", self.equals), ("at_least", self.at_least), ("at_most", self.at_most))
        return [(key, bound) for key, bound in bounds if bound is not None]

    def evaluate(self, ctx: CheckContext) -> Findings:
        rows = ctx.table.num_rows
        measured: Measured = {"rows": rows}
        if self.min is not None and rows < self.min:
            return TableFindings(False, f"{rows} rows, fewer than min {self.min}", measured)
        if self.max is not None and rows > self.max:
            return TableFindings(False, f"{rows} rows, more than max {self.max}", measured)
        limits = [f"{k} {v}" for k, v in (("min", self.min), ("max", self.max)) if v is not None]
        for key, bound in self._relative():
            needed, described = _rows_of(bound, ctx)
            measured[key] = needed
            if not _ROW_BOUND_HOLDS[key](rows, needed):
                missed = _ROW_BOUND_MISSED[key]
                return TableFindings(False, f"{rows} rows, {missed} {described}", measured)
            exact = isinstance(bound, int)
            limits.append(f"{key} {bound}" if exact else f"{key} {bound} = {fmt(needed)}")
        allowed = f" ({', '.join(limits)})" if limits else ""
        return TableFindings(True, f"{rows} rows{allowed}", measured)


_ROW_BOUND_HOLDS: dict[str, Callable[[int, float], bool]] = {
    "equals": lambda rows, needed: rows == needed,
    "at_least": lambda rows, needed: rows >= needed,
    "at_most": lambda rows, needed: rows <= needed,
}
_ROW_BOUND_MISSED = {"equals": "not as many as", "at_least": "fewer than", "at_most": "more than"}


def _rows_of(bound: RowBound, ctx: CheckContext) -> tuple[float, str]:
    """The rows a bound asks for, and the bound in words: "3x preprocess.test (3 * 357 =
    1071 rows)"."""
    factor, reference = row_bound(bound)
    if reference is None:
        return factor, fmt(factor)
    rows = ctx.load_reference(reference).num_rows
    if factor == 1:
        return rows, f"{reference} ({plural(rows, 'row')})"
    needed = factor * rows
    return needed, f"{bound} ({fmt(factor)} * {rows} = {fmt(needed)} rows)"


# --- predictions ------------------------------------------------------------------------------


class PredictionsInRange01(CheckSpec):
    name = "predictions_in_range_0_1"
    summary = (
        "rows whose prediction is below 0 or above 1 fail; `column` defaults to the first of "
        "probability, prediction the table has"
    )

    column: str | None = None

    def evaluate(self, ctx: CheckContext) -> Findings:
        name = ctx.prediction_column(self.column)
        mask = outside(numeric(ctx.column(name), name), 0, 1)
        return RowFindings(indices(mask), f"have {name} outside [0, 1]", (name,))


class NoNanPredictions(CheckSpec):
    name = "no_nan_predictions"
    summary = "rows whose prediction is null or NaN fail; `column` as for predictions_in_range_0_1"

    column: str | None = None

    def evaluate(self, ctx: CheckContext) -> Findings:
        name = ctx.prediction_column(self.column)
        return RowFindings(indices(missing(ctx.column(name))), f"have {name} null or NaN", (name,))


class ConsistentPredictionCount(CheckSpec):
    name = "consistent_prediction_count"
    row_level = False
    summary = (
        "the table has as many rows as the input: the `reference` dataset, by default the "
        "input data of the test case"
    )

    reference: str | None = None

    def evaluate(self, ctx: CheckContext) -> Findings:
        if self.reference is not None:
            source = ctx.load_reference(self.reference)
        elif ctx.input_table is not None:
            source = ctx.input_table
        else:
            raise CheckUnavailable("no input table to compare with; name one with 'reference'")
        rows, inputs = ctx.table.num_rows, source.num_rows
        measured: Measured = {"output_rows": rows, "input_rows": inputs}
        message = f"{rows} output rows for {inputs} input rows"
        if rows != inputs:
            difference = abs(rows - inputs)
            message += f" ({difference} {'more' if rows > inputs else 'fewer'})"
        return TableFindings(rows == inputs, message, measured)


# --- distributions ----------------------------------------------------------------------------


class DistributionDrift(CheckSpec):
    name = "distribution_drift"
    row_level = False
    summary = (
        "`column` is distributed like `reference_column` (default: `column`) in the `reference` "
        "dataset: PSI at most `psi_max` (default 0.2) over `bins` (10) reference quantile bins "
        "or over the categories; for numbers also the two-sample KS statistic at most `ks_max` "
        "(0.1). A null threshold is not checked"
    )

    column: str
    reference: str
    reference_column: str | None = None
    psi_max: float | None = Field(default=0.2, ge=0)
    ks_max: float | None = Field(default=0.1, ge=0, le=1)
    bins: int = Field(default=10, ge=2, le=1000)

    def evaluate(self, ctx: CheckContext) -> Findings:
        ref_name = self.reference_column or self.column
        ref_table = ctx.load_reference(self.reference)
        actual = present(ctx.column(self.column), self.column)
        expected = present(column_of(ref_table, ref_name, self.reference), ref_name)
        kinds = (is_numeric(actual), is_numeric(expected))
        if kinds[0] != kinds[1]:
            raise CheckUnavailable(
                f"{self.column} is {actual.type} but {ref_name} in {self.reference} is "
                f"{expected.type}: one numeric, one not"
            )
        measured: Measured
        if kinds[0]:
            actual, expected = actual.cast(_pa().float64()), expected.cast(_pa().float64())
            labels, ours, theirs = numeric_shares(actual, expected, self.bins)
            measured = {"psi": psi(ours, theirs), "ks": ks_statistic(actual, expected)}
        else:
            labels, ours, theirs = categorical_shares(actual, expected)
            measured = {"psi": psi(ours, theirs)}
        limits = {"psi": self.psi_max, "ks": self.ks_max}
        shares = Distribution(
            column=self.column,
            labels=labels,
            actual=ours,
            reference=theirs,
            statistics={k: float(v) for k, v in measured.items() if v is not None},
            limits={k: v for k, v in limits.items() if v is not None and k in measured},
        )
        return self._verdict(measured, len(actual), len(expected), shares)

    def _verdict(
        self, measured: Measured, rows: int, ref_rows: int, shares: Distribution
    ) -> TableFindings:
        parts, passed = [], True
        for key, value in measured.items():
            limit = shares.limits.get(key)
            assert value is not None
            if limit is None:
                parts.append(f"{key} {fmt(value)}")
                continue
            over = value > limit
            passed = passed and not over
            parts.append(f"{key} {fmt(value)} {'>' if over else '<='} {key}_max {fmt(limit)}")
        verdict = "matches" if passed else "drifted from"
        message = (
            f"{self.column} {verdict} {self.reference}: {'; '.join(parts)} "
            f"({rows} values vs {ref_rows} reference values)"
        )
        return TableFindings(passed, message, measured, columns=(self.column,), distribution=shares)


class Statistics(CheckSpec):
    name = "statistics"
    row_level = False
    summary = (
        "the mean and the sample standard deviation (ddof 1) of `column` lie within `mean` "
        "and `std`, each [low, high]"
    )

    column: str
    mean: Bounds | None = None
    std: Bounds | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.mean is None and self.std is None:
            raise FieldError("mean", "give mean: [low, high], std: [low, high] or both")
        for key in ("mean", "std"):
            bounds: Bounds | None = getattr(self, key)
            if bounds is not None:
                _ordered(bounds[0], bounds[1], key)
        return self

    def evaluate(self, ctx: CheckContext) -> Findings:
        values = numeric(present(ctx.column(self.column), self.column), self.column)
        measured: Measured = {
            "mean": pc().mean(values).as_py(),
            "std": pc().stddev(values, ddof=1).as_py(),
        }
        parts, passed = [], True
        for key in ("mean", "std"):
            bounds: Bounds | None = getattr(self, key)
            value = measured[key]
            if bounds is None:
                continue
            if value is None:
                raise CheckUnavailable(f"{key} of {self.column} needs 2 values, it has 1")
            inside = within(value, *bounds)
            passed = passed and inside
            where = "within" if inside else "outside"
            parts.append(f"{key} {fmt(value)} {where} {interval(*bounds)}")
        message = f"{self.column}: {'; '.join(parts)}"
        return TableFindings(passed, message, measured, columns=(self.column,))


CHECKS: dict[str, type[CheckSpec]] = {
    spec.name: spec
    for spec in (
        NoMissingValues,
        MaxMissingRatio,
        NumericRanges,
        CategoricalConsistency,
        UniqueKey,
        RowCount,
        PredictionsInRange01,
        NoNanPredictions,
        ConsistentPredictionCount,
        DistributionDrift,
        Statistics,
    )
}
"""Every check by its name."""


# --- measures ---------------------------------------------------------------------------------


def numeric_psi(actual: Any, expected: Any, bins: int) -> float:
    """PSI of ``actual`` against ``expected`` over ``expected``'s quantile bins."""
    _, ours, theirs = numeric_shares(actual, expected, bins)
    return psi(ours, theirs)


def numeric_shares(
    actual: Any, expected: Any, bins: int
) -> tuple[list[str], list[float], list[float]]:
    """The bins (their upper edges as labels) and the share of each column in each; the bins
    are (-inf, q1], (q1, q2], ..., (qk, inf) for ``expected``'s distinct quantiles i/bins."""
    quantiles = pc().quantile(expected, q=[i / bins for i in range(1, bins)])
    edges = sorted(set(quantiles.to_pylist()))

    def shares(values: Any) -> list[float]:
        at_most = [
            int(pc().sum(pc().less_equal(values, literals.float_scalar(edge))).as_py() or 0)
            for edge in edges
        ]
        counts = [b - a for a, b in zip([0, *at_most], [*at_most, len(values)], strict=True)]
        return [count / len(values) for count in counts]

    labels = [f"<= {fmt(edge)}" for edge in edges] + [f"> {fmt(edges[-1])}" if edges else "all"]
    return labels, shares(actual), shares(expected)


def categorical_psi(actual: Any, expected: Any) -> float:
    """PSI over the union of both columns' values (compared as text when their types differ)."""
    _, ours, theirs = categorical_shares(actual, expected)
    return psi(ours, theirs)


def categorical_shares(actual: Any, expected: Any) -> tuple[list[str], list[float], list[float]]:
    """The values of both columns (the reference's first) and the share of each column in each."""
    actual, expected = comparable(actual, expected)

    def shares(values: Any) -> dict[Any, float]:
        counts = pc().value_counts(values).to_pylist()
        return {item["values"]: item["counts"] / len(values) for item in counts}

    ours, theirs = shares(actual), shares(expected)
    keys = list(dict.fromkeys([*theirs, *ours]))
    return (
        [str(k) for k in keys],
        [ours.get(k, 0.0) for k in keys],
        [theirs.get(k, 0.0) for k in keys],
    )


def psi(actual: Sequence[float], expected: Sequence[float]) -> float:
    """Population stability index: sum of (a - e) * ln(a / e), zero shares raised to
    ``PSI_FLOOR``."""
    total = 0.0
    for a, e in zip(actual, expected, strict=True):
        a, e = max(a, PSI_FLOOR), max(e, PSI_FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def ks_statistic(actual: Any, expected: Any) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest distance between the two empirical
    distribution functions, evaluated after each distinct value."""
    pa = _pa()
    values = pa.concat_arrays([actual.combine_chunks(), expected.combine_chunks()])
    steps = pa.concat_arrays(
        [
            literals.floats([1 / len(actual)] * len(actual)),
            literals.floats([-1 / len(expected)] * len(expected)),
        ]
    )
    order = pc().sort_indices(values)
    values, steps = pc().take(values, order), pc().take(steps, order)
    distance = pc().cumulative_sum(steps)
    last_of_value = pa.concat_arrays(
        [
            pc().not_equal(values.slice(0, len(values) - 1), values.slice(1)),
            literals.booleans([True]),
        ]
    )
    return float(pc().max(pc().abs(distance.filter(last_of_value))).as_py())


# --- helpers over arrow arrays ----------------------------------------------------------------


def missing(column: Any) -> Any:
    """True where a value is null or NaN."""
    return pc().is_null(column, nan_is_null=True)


def present(column: Any, name: str) -> Any:
    """The values that are neither null nor NaN; a column without any cannot be measured."""
    values = column.filter(pc().invert(missing(column)))
    if len(values) == 0:
        raise CheckUnavailable(f"column {name!r} has no values (every row is null or NaN)")
    return values


def is_numeric(column: Any) -> bool:
    types = _pa().types
    return bool(types.is_integer(column.type) or types.is_floating(column.type)) or bool(
        types.is_decimal(column.type)
    )


def numeric(column: Any, name: str) -> Any:
    """The column as float64; a column that does not hold numbers cannot be checked."""
    if not is_numeric(column):
        raise CheckUnavailable(f"column {name!r} is {column.type}, not numeric")
    return column.cast(_pa().float64())


def outside(values: Any, low: float | None, high: float | None) -> Any:
    """True where a value is below ``low`` or above ``high``; nulls and NaN are not."""
    mask = literals.all_false(len(values))
    if low is not None:
        mask = pc().or_(mask, pc().less(values, literals.float_scalar(low)))
    if high is not None:
        mask = pc().or_(mask, pc().greater(values, literals.float_scalar(high)))
    return pc().fill_null(mask, literals.booleans([False])[0])


def any_of(masks: Iterable[Any], rows: int) -> Any:
    """True where any of ``masks`` is (all False without masks)."""
    combined = literals.all_false(rows)
    for mask in masks:
        combined = pc().or_(combined, mask)
    return combined


def indices(mask: Any) -> Any:
    """Sorted int64 indices where ``mask`` is True."""
    return pc().indices_nonzero(mask).cast(_pa().int64())


def value_array(values: list[Scalar]) -> Any:
    """An arrow array of the values; of their text when they mix types."""
    pa = _pa()
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def comparable(values: Any, others: Any) -> tuple[Any, Any]:
    """Both arrays in one type: ``others`` cast to ``values``'s type, or both cast to text."""
    pa = _pa()
    if values.type == others.type:
        return values, others
    try:
        return values, others.cast(values.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return values.cast(pa.string()), others.cast(pa.string())


# --- wording ----------------------------------------------------------------------------------


def allowed_count(ratio: float, total: int) -> int:
    """How many of ``total`` rows a share of ``ratio`` allows (rounded so 0.1 * 100 is 10)."""
    return math.floor(round(ratio * total, 9))


def share(count: int, total: int) -> float:
    return count / total if total else 0.0


def percent(value: float) -> str:
    """A share as a percentage with up to three significant digits: 0.015 → "1.5%"."""
    return f"{value * 100:.3g}%"


def fmt(value: float) -> str:
    """A number with up to four significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def beyond(low: float | None, high: float | None) -> str:
    """How a value fails bounds: "above 0.5", "below 5" or "outside [0, 1]"."""
    if low is None:
        return f"above {fmt(high)}" if high is not None else "outside any value"
    return f"below {fmt(low)}" if high is None else f"outside [{fmt(low)}, {fmt(high)}]"


def interval(low: float | None, high: float | None) -> str:
    if low is None:
        return f"<= {fmt(high)}" if high is not None else "any value"
    return f">= {fmt(low)}" if high is None else f"[{fmt(low)}, {fmt(high)}]"


def within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def shown_count(name: str, count: int, total: int) -> str:
    """ "income 12 (6%)"."""
    return f"{name} {count} ({percent(share(count, total))})"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def shown(values: Sequence[Any]) -> list[str]:
    """Up to ``SHOWN_VALUES`` values as Python literals, then how many more."""
    text = [repr(v) for v in values[:SHOWN_VALUES]]
    more = len(values) - SHOWN_VALUES
    return [*text, f"... {more} more"] if more > 0 else text


def listed(names: Sequence[str], limit: int = 10) -> str:
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f", ... {more} more" if more > 0 else "")


def _pa(module: str = "") -> Any:
    """pyarrow or one of its modules, imported on first use."""
    return importlib.import_module(f"pyarrow.{module}" if module else "pyarrow")


def pc() -> Any:
    return _pa("compute")
