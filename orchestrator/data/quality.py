"""Data-quality checks declared in YAML or Python, run over a table: ``CheckResult`` records.

A check is a bare name, using its default parameters, or a mapping::

    data_quality_assertions:
      - no_nan_predictions
      - {check: predictions_in_range_0_1, mostly: 0.99}
      - check: numeric_ranges
        ranges: {age: {min: 18, max: 120}, income: {min: 0}}
      - check: distribution_drift
        column: income
        reference: data/reference.csv     # relative to the test-case file
        severity: warning

Every check takes ``severity`` (``error``, the default, or ``warning``). Row-level checks also
take ``mostly``: the share of rows that must pass (default 1.0, every row); the check passes
when at most ``floor((1 - mostly) * rows)`` rows fail. A failed warning is reported and does
not fail the test case. The checks and their parameters are in ``quality_checks``; a check
that cannot run (a missing column, an unreadable reference) is a failed result saying why.

Datasets (the checked table, references) are read by ``read_dataset``: a file or a folder of
``.csv``, ``.tsv``, ``.parquet``/``.pq``, ``.jsonl``/``.ndjson`` or ``.json`` (an array of
objects) files, text formats optionally compressed (``.gz``, ``.bz2``, ``.zst``). A folder's
table files, found recursively in name order, are concatenated; its other files are ignored.
"""

from __future__ import annotations

import difflib
import importlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..container_files import is_real_dir
from ..errors import InputError
from ..files import FieldError, describe_error, first_line, reject_unknown
from ..issues import Severity
from .profiles import Distribution
from .quality_checks import (
    CHECKS,
    CheckContext,
    CheckSpec,
    CheckUnavailable,
    Findings,
    Measured,
    RowFindings,
    TableFindings,
    allowed_count,
    percent,
    share,
)
from .tables import ALLOWED, JSON_ARRAY_LIMIT, table_files, table_kind

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckSpec",
    "check_from_data",
    "checks_from_data",
    "parse_checks",
    "read_dataset",
    "run_check",
    "run_checks",
]

SAMPLE_SIZE = 5
"""Failing rows a result shows."""
HEAD_LIMIT = 16 * 2**20
"""The most bytes of a JSON lines file that its first rows are read from."""
SAMPLE_COLUMNS = 12
"""A sample row holds every column of a table this narrow; of a wider one, the checked columns
and then the first others up to this many."""


class CheckResult(BaseModel):
    """The outcome of one check over one table."""

    check: str
    severity: Severity
    passed: bool
    message: str
    """One line: what was measured and why the check passed or failed."""
    total_rows: int
    failing_rows: int | None = None
    """Rows that fail; None for a table-level check that names no rows."""
    failing_share: float | None = None
    mostly: float = 1.0
    sample: list[dict[str, Any]] = Field(default_factory=list)
    """Up to ``SAMPLE_SIZE`` failing rows as {column: value}."""
    sample_rows: list[int] = Field(default_factory=list)
    """The 0-based row numbers of ``sample``."""
    measured: Measured = Field(default_factory=dict)
    distribution: Distribution | None = None
    """What a drift check compared, bin by bin."""

    @property
    def is_failure(self) -> bool:
        """Failed with error severity: fails the test case (a failed warning does not)."""
        return not self.passed and self.severity is Severity.ERROR


# --- parsing --------------------------------------------------------------------------------


def parse_checks(data: Any, source: str | None = None, *, prefix: str = "") -> list[CheckSpec]:
    """Checks from parsed YAML/JSON; a mistake is an ``InputError`` naming ``source`` (a file)
    and the field, ``prefix`` leading its path."""
    try:
        return checks_from_data(data)
    except FieldError as exc:
        field = f"{prefix}.{exc.field}" if prefix and exc.field else (exc.field or prefix)
        raise InputError(exc.message, file=source, field=field or None) from None


def checks_from_data(data: Any) -> list[CheckSpec]:
    """Checks from a list of names and mappings; raises ``FieldError`` whose field starts with
    the entry's index."""
    if not isinstance(data, list):
        raise FieldError("", f"must be a list of checks; allowed checks: {', '.join(CHECKS)}")
    specs = []
    for index, item in enumerate(data):
        try:
            specs.append(check_from_data(item))
        except FieldError as exc:
            raise FieldError(".".join(filter(None, [str(index), exc.field])), exc.message) from None
    return specs


def check_from_data(data: Any) -> CheckSpec:
    """One check from a name, a mapping with ``check``, ``{name: {parameters}}`` or a
    ``CheckSpec``; raises ``FieldError``."""
    if isinstance(data, CheckSpec):
        return data
    if isinstance(data, str):
        data = {"check": data}
    named = check_shorthand(data)
    if named is not None:
        name, params = named
        try:
            return check_from_data({"check": name, **params})
        except FieldError as exc:
            inner = "" if exc.field == "check" else exc.field
            field = ".".join(filter(None, [name, inner]))
            raise FieldError(field, exc.message) from None
    if not isinstance(data, dict):
        raise FieldError("", f"a check is a name or a mapping with 'check'; got {data!r}")
    if "check" not in data:
        raise FieldError("check", f"missing; allowed: {', '.join(CHECKS)}")
    spec_class = _check_class(data["check"])
    if not spec_class.row_level and "mostly" in data:
        raise FieldError(
            "mostly",
            f"applies to row-level checks only; {spec_class.name} checks the table as a whole",
        )
    reject_unknown(data, spec_class.allowed_fields())
    try:
        return spec_class.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field, message = describe_error(error)
        if error["type"] == "missing" and len(error["loc"]) == 1:
            message = f"required by {spec_class.name}"
        raise FieldError(field, message) from None


def check_shorthand(data: Any) -> tuple[str, dict[str, Any]] | None:
    """(name, parameters) of a check written ``{name: {parameters}}`` (or ``{name: null}``);
    None for any other form."""
    if not isinstance(data, dict) or len(data) != 1 or "check" in data:
        return None
    ((name, params),) = data.items()
    if not isinstance(name, str) or not (params is None or isinstance(params, dict)):
        return None
    if params is not None and "check" in params:
        raise FieldError(f"{name}.check", "the key above names the check already")
    return name, dict(params or {})


def _check_class(name: Any) -> type[CheckSpec]:
    spec_class = CHECKS.get(name) if isinstance(name, str) else None
    if spec_class is None:
        close = difflib.get_close_matches(str(name), list(CHECKS), n=1)
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        raise FieldError("check", f"unknown check {name!r}{guess}; allowed: {', '.join(CHECKS)}")
    return spec_class


# --- running --------------------------------------------------------------------------------


def run_checks(
    specs: Sequence[CheckSpec],
    table: Any,
    *,
    input_table: Any = None,
    base_dir: Path = Path("."),
) -> list[CheckResult]:
    """Every check over ``table`` (a pyarrow Table); references are paths under ``base_dir``,
    each read once."""
    references = _References(base_dir)
    ctx = CheckContext(table, input_table, references.load)
    return [run_check(spec, ctx) for spec in specs]


def run_check(spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """One check's result; a check that cannot run is a failed result, never an exception."""
    total = ctx.table.num_rows
    try:
        findings = spec.evaluate(ctx)
    except CheckUnavailable as exc:
        return CheckResult(
            check=spec.name,
            severity=spec.severity,
            passed=False,
            message=f"cannot run: {exc}",
            total_rows=total,
            mostly=spec.mostly,
        )
    return _result(spec, findings, ctx.table)


def _result(spec: CheckSpec, findings: Findings, table: Any) -> CheckResult:
    total = table.num_rows
    failing = None if findings.failing is None else len(findings.failing)
    if isinstance(findings, RowFindings):
        assert failing is not None
        allowed = allowed_count(1 - spec.mostly, total)
        passed = failing <= allowed
        message = (
            f"{failing} of {total} rows ({percent(share(failing, total))}) {findings.what}; "
            f"mostly {spec.mostly} allows {allowed}"
        )
    else:
        passed, message = findings.passed, findings.message
    rows = [] if findings.failing is None else findings.failing.slice(0, SAMPLE_SIZE).to_pylist()
    return CheckResult(
        check=spec.name,
        severity=spec.severity,
        passed=passed,
        message=message,
        total_rows=total,
        failing_rows=failing,
        failing_share=None if failing is None else share(failing, total),
        mostly=spec.mostly,
        sample=_sample(table, rows, findings.columns),
        sample_rows=rows,
        measured=findings.measured,
        distribution=findings.distribution if isinstance(findings, TableFindings) else None,
    )


def _sample(table: Any, rows: list[int], checked: Sequence[str]) -> list[dict[str, Any]]:
    if not rows:
        return []
    names = list(table.column_names)
    if len(names) > SAMPLE_COLUMNS:
        names = list(dict.fromkeys([*checked, *names]))[: max(SAMPLE_COLUMNS, len(checked))]
    picked: list[dict[str, Any]] = table.select(names).take(rows).to_pylist()
    return picked


class _References:
    """Reference datasets by the path a check gives, read once each."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.tables: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def load(self, path: str) -> Any:
        if path not in self.tables and path not in self.errors:
            try:
                self.tables[path] = read_dataset(self.base_dir / path)
            except InputError as exc:
                self.errors[path] = f"reference {exc}"
        if path in self.errors:
            raise CheckUnavailable(self.errors[path])
        return self.tables[path]


# --- reading datasets -----------------------------------------------------------------------

def read_dataset(path: Path) -> Any:
    """A pyarrow Table of a table file or of every table file in a folder; any problem is an
    ``InputError`` naming the file."""
    if is_real_dir(path):
        files = table_files(path)
        tables = [t for t in (_read_file(f.path, in_folder=True) for f in files) if t is not None]
        if not tables:
            raise InputError(f"holds no table files; allowed: {ALLOWED}", file=path)
        return _concat(tables, path)
    table = _read_file(_checked_file(path), in_folder=False)
    assert table is not None
    return table


def read_head(path: Path, rows: int) -> Any:
    """The first ``rows`` rows of what ``read_dataset`` reads, reading no further than they
    need (a report's sample of a large output costs a few batches, not a full read)."""
    if not is_real_dir(path):
        table = _head_of_file(_checked_file(path), rows, in_folder=False)
        assert table is not None  # a single .json file that is no table raises instead
        return table
    tables: list[Any] = []
    for file in table_files(path):
        if sum(t.num_rows for t in tables) >= rows:
            break
        table = _head_of_file(file.path, rows, in_folder=True)
        if table is not None:
            tables.append(table)
    if not tables:
        raise InputError(f"holds no table files; allowed: {ALLOWED}", file=path)
    return _concat(tables, path).slice(0, rows)


def _format(path: Path) -> str | None:
    kind = table_kind(path.name)
    return kind.format if kind else None


def _checked_file(path: Path) -> Path:
    """``path``, a table file that exists; else the ``InputError`` that says what it is not."""
    if not path.exists():
        raise InputError("no such file or folder", file=path)
    if table_kind(path.name) is None:
        raise InputError(f"is not a table file; allowed: {ALLOWED}", file=path)
    return path


def _head_of_file(path: Path, rows: int, *, in_folder: bool) -> Any:
    """The first ``rows`` rows of one file, read batch by batch (JSON arrays: whole)."""
    fmt = _format(path)
    try:
        if fmt == "json":
            table = _json_table(path, in_folder)
            return None if table is None else table.slice(0, rows)
        if fmt == "parquet":
            batches = _pa("parquet").ParquetFile(path).iter_batches(batch_size=max(rows, 1))
            first = next(batches, None)
            return (
                _pa().Table.from_batches([first])
                if first is not None
                else (_pa("parquet").read_schema(path).empty_table())
            )
        with _pa().input_stream(str(path), compression="detect") as stream:
            if fmt == "jsonl":
                return _jsonl_head(stream, rows)
            return _csv_head(stream, rows, fmt)
    except InputError:
        raise
    except Exception as exc:  # the content is arbitrary: every failure is the file's fault
        raise InputError(f"cannot be read as {fmt}: {first_line(exc)}", file=path) from None


def _csv_head(stream: Any, rows: int, fmt: str | None) -> Any:
    pcsv = _pa("csv")
    reader = pcsv.open_csv(
        stream,
        convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
        parse_options=_csv_parse_options(fmt),
    )
    batches: list[Any] = []
    while sum(b.num_rows for b in batches) < rows:
        try:
            batches.append(reader.read_next_batch())
        except StopIteration:
            break
    return _pa().Table.from_batches(batches, schema=reader.schema).slice(0, rows)


def _jsonl_head(stream: Any, rows: int) -> Any:
    """The first ``rows`` records, from at most ``HEAD_LIMIT`` bytes (a record cut there is
    left out, so a file of one endless line gives none)."""
    data = stream.read(HEAD_LIMIT + 1)
    lines = [line for line in data.splitlines(keepends=True) if line.strip()]
    if len(data) > HEAD_LIMIT and lines and not lines[-1].endswith(b"\n"):
        lines.pop()
    return _pa("json").read_json(io.BytesIO(b"".join(lines[:rows])))


def _csv_parse_options(fmt: str | None) -> Any:
    return _pa("csv").ParseOptions(delimiter="\t" if fmt == "tsv" else ",", newlines_in_values=True)


def _read_file(path: Path, *, in_folder: bool) -> Any:
    """One file's table; None for a ``.json`` file in a folder that is not an array of
    objects (an artifact such as metrics.json)."""
    fmt = _format(path)
    try:
        if fmt == "json":
            return _json_table(path, in_folder)
        if fmt == "parquet":
            return _pa("parquet").read_table(path)
        with _pa().input_stream(str(path), compression="detect") as stream:
            if fmt == "jsonl":
                return _pa("json").read_json(stream)
            pcsv = _pa("csv")
            return pcsv.read_csv(
                stream,
                convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
                parse_options=_csv_parse_options(fmt),
            )
    except InputError:
        raise
    except Exception as exc:  # the content is arbitrary: every failure is the file's fault
        raise InputError(f"cannot be read as {fmt}: {first_line(exc)}", file=path) from None


def _json_table(path: Path, in_folder: bool) -> Any:
    with _pa().input_stream(str(path), compression="detect") as stream:
        data = stream.read(JSON_ARRAY_LIMIT + 1)
    if len(data) > JSON_ARRAY_LIMIT:
        limit = JSON_ARRAY_LIMIT // 2**20
        raise InputError(f"is a JSON array over {limit} MiB; it is not read whole", file=path)
    content = json.loads(data)
    if not isinstance(content, list) or not all(isinstance(row, dict) for row in content):
        if in_folder:
            return None
        raise InputError("cannot be read as a table: not a JSON array of objects", file=path)
    names = list(dict.fromkeys(key for row in content for key in row))
    return _pa().Table.from_pydict({name: [row.get(name) for row in content] for name in names})


def _concat(tables: list[Any], folder: Path) -> Any:
    if len(tables) == 1:
        return tables[0]
    try:
        return _pa().concat_tables(tables, promote_options="permissive")
    except Exception as exc:  # differing columns that no common type holds
        problem = f"its table files do not fit together: {first_line(exc)}"
        raise InputError(problem, file=folder) from None


def _pa(module: str = "") -> Any:
    """pyarrow or one of its modules, imported on first use."""
    return importlib.import_module(f"pyarrow.{module}" if module else "pyarrow")
