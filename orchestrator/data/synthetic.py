"""Deterministic synthetic data that satisfies a ``DataSchema``: ``cit generate-data``.

The same schema, row count and seed give the same table and byte-identical files (with the
same pyarrow). Each column draws from its own random stream, keyed by the seed and the
column's name, so adding a column leaves the others' values as they were.

What each column holds (``allowed`` values win over everything else):

- ``allowed``: exactly the share of rows each value's weight asks for (uniform without
  ``weights``), in random order;
- integer, float, number: uniform in ``min``..``max``; an unbounded side lies ``DEFAULT_SPAN``
  from the other (0..100 with neither), within the type's range; floats have
  ``FLOAT_DECIMALS`` decimals. Integer bounds are exact (a uint64 reaches 2**64 - 1), and a
  float range may span -1e308..1e308;
- string: random lower-case tokens of ``TOKEN_LENGTH`` letters; boolean: half true, half false;
- date and timestamp: uniform over 2020-01-01..2024-12-31 (``min``/``max`` do not apply);
- any: numbers as for ``number`` when ``min`` or ``max`` is given, else tokens;
- nulls: exactly ``null_ratio`` of the rows of a nullable column, at random rows; none in a
  column that is ``nullable: false``.

A schema with a ``layout`` gets one file per subfolder, each from its own stream.
numpy and pyarrow are imported only when data is made.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CitError, InputError
from ..files import FieldError
from .contracts import ScriptContract
from .formats import FORMATS as FORMATS
from .formats import DataFormat as DataFormat
from .schemas import ColumnSpec, DataSchema, TypeFamily, declared_bits

if TYPE_CHECKING:
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

ArrowTable = Any
ArrowArray = Any
"""pyarrow ships no type information: its objects are ``Any`` to the type checker."""

DEFAULT_SPAN = 100
FLOAT_DECIMALS = 4
ROUNDED_BELOW = 1e300
"""Values this large are not rounded: rounding multiplies them by 10**FLOAT_DECIMALS."""
TOKEN_LENGTH = 6
FIRST_DAY = 18262
"""2020-01-01 in days since 1970-01-01."""
DAYS = 1827
"""2020-01-01..2024-12-31."""
SECONDS_PER_DAY = 86400
CSV_BATCH_ROWS = 1024
PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "compression": "snappy",
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "1.0",
    "row_group_size": 2**20,
}
"""Fixed writer options: statistics let ``capture`` see null counts and ranges."""
MAX_ROWS = 10_000_000
"""The most rows generated at once: a few GiB for a wide schema (10**12 would ask for TiB)."""
MARKER = ".cit-generated.json"
"""Written by ``cit generate-data`` next to its files, so a later run may replace them."""


def generate_table(schema: DataSchema, rows: int, seed: int) -> ArrowTable:
    """A table of ``rows`` rows, one column per schema column, in the schema's order."""
    return _table(schema, rows, seed, part=0)


def generate_dataset(
    schema: DataSchema, rows: int, seed: int, fmt: str, folder: Path, name: str = "data"
) -> Path:
    """Write generated data into ``folder``: returns the file (``folder/data.csv``), or
    ``folder`` itself for a schema with a layout (then one such file per subfolder)."""
    written = write_dataset(schema, rows, seed, fmt, folder, name)
    return written[0] if not schema.layout else folder


def write_dataset(
    schema: DataSchema, rows: int, seed: int, fmt: str, folder: Path, name: str = "data"
) -> list[Path]:
    """Write generated data into ``folder`` (or each of its layout subfolders); the files."""
    if not schema.layout:
        return [write_table(generate_table(schema, rows, seed), folder, fmt, name)]
    return [
        write_table(_table(schema, rows, seed, part=index), folder / sub, fmt, name)
        for index, sub in enumerate(schema.layout, start=1)
    ]


def check_spec(schema: DataSchema, rows: int, fmt: str) -> None:
    """Raise ``ValueError`` with a one-line reason (naming the schema's file and the column)
    when ``rows`` rows of ``schema`` cannot be generated as ``fmt``; writes nothing."""
    try:
        _check(schema, rows, fmt)
    except CitError as exc:
        raise ValueError(str(exc)) from None


def _check(schema: DataSchema, rows: int, fmt: str) -> None:
    """Every mistake that would stop ``write_dataset``, found on an empty table."""
    if fmt not in FORMATS:
        raise CitError(f"format {fmt}: data can be generated as csv or parquet")
    if rows < 0:
        raise CitError(f"rows ({rows}) must be 0 or more")
    if rows > MAX_ROWS:
        raise CitError(f"rows ({rows}): at most {MAX_ROWS:,} rows are generated at once")
    _table(schema, 0, 0, part=0)


def schema_for_input(contract: ScriptContract, input_name: str) -> DataSchema:
    """The schema a contract declares for one input; an ``InputError`` names the others."""
    schema = contract.input_schemas.get(input_name)
    if schema is None:
        names = ", ".join(contract.input_schemas) or "none"
        raise InputError(
            f"input '{input_name}' has no schema; inputs with a schema: {names}",
            file=contract.label,
            field="input_schemas",
        )
    return schema if schema.source else schema.model_copy(update={"source": contract.label})


def data_format(schema: DataSchema, fmt: str | None) -> DataFormat:
    """The format to write: ``fmt``, else the schema's, else csv."""
    chosen = fmt or schema.format or "csv"
    for known in FORMATS:
        if chosen == known:
            return known
    where = f"{schema.source}: " if schema.source and not fmt else ""
    raise CitError(f"{where}format {chosen}: data can be generated as csv or parquet")


# Columns ------------------------------------------------------------------------------------


def _table(schema: DataSchema, rows: int, seed: int, part: int) -> ArrowTable:
    pa = _pyarrow()

    if not schema.columns:
        raise InputError("the schema lists no columns to generate", file=schema.source)
    if rows < 0 or seed < 0:
        raise CitError(f"rows ({rows}) and seed ({seed}) must be 0 or more")
    if rows > MAX_ROWS:
        raise CitError(f"rows ({rows}): at most {MAX_ROWS:,} rows are generated at once")
    try:
        arrays = [_column(spec, rows, _stream(seed, part, spec.name)) for spec in schema.columns]
    except FieldError as exc:
        raise InputError(exc.message, file=schema.source, field=exc.field) from None
    fields = [
        pa.field(spec.name, array.type, nullable=spec.nullable)
        for spec, array in zip(schema.columns, arrays, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _stream(seed: int, part: int, column: str) -> np.random.Generator:
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    key = zlib.crc32(column.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, part, key])))


def _column(spec: ColumnSpec, rows: int, rng: np.random.Generator) -> ArrowArray:
    nulls = math.floor(spec.null_ratio * rows + 0.5) if spec.nullable else 0
    values = _values(spec, rows - nulls, rng)
    return _with_nulls(values, rows, nulls, rng) if nulls else values


def _with_nulls(values: ArrowArray, rows: int, nulls: int, rng: np.random.Generator) -> ArrowArray:
    """``values`` spread over ``rows`` rows, with nulls at ``nulls`` random rows."""
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    pa = _pyarrow()

    empty = np.zeros(rows, dtype=bool)
    empty[rng.choice(rows, size=nulls, replace=False)] = True
    index = np.zeros(rows, dtype=np.int64)
    index[~empty] = np.arange(rows - nulls)
    return values.take(pa.array(index, mask=empty))


def _values(spec: ColumnSpec, n: int, rng: np.random.Generator) -> ArrowArray:
    """``n`` values of one column, without nulls (unless ``allowed`` lists null)."""
    pa = _pyarrow()

    family = spec.family
    if spec.allowed is not None:
        return _choices(spec, n, rng)
    if family is TypeFamily.BOOLEAN:
        return _quotas(pa.array([False, True]), [1.0, 1.0], n, rng)
    if family is TypeFamily.INTEGER:
        return _integers(spec, n, rng)
    if family in (TypeFamily.FLOAT, TypeFamily.NUMBER) or (
        family is TypeFamily.ANY and (spec.min is not None or spec.max is not None)
    ):
        return _floats(spec, n, rng)
    if family is TypeFamily.DATE:
        days = rng.integers(FIRST_DAY, FIRST_DAY + DAYS, size=n, dtype="int32")
        return pa.array(days).cast(pa.date32())
    if family is TypeFamily.TIMESTAMP:
        start = FIRST_DAY * SECONDS_PER_DAY
        seconds = rng.integers(start, start + DAYS * SECONDS_PER_DAY, size=n, dtype="int64")
        return pa.array(seconds).cast(pa.timestamp("s"))
    return _tokens(n, rng)


def _choices(spec: ColumnSpec, n: int, rng: np.random.Generator) -> ArrowArray:
    allowed = list(spec.allowed or [])
    weights = list(spec.weights or [1.0] * len(allowed))
    if not spec.nullable:
        kept = [(v, w) for v, w in zip(allowed, weights, strict=True) if v is not None]
        allowed, weights = [v for v, _ in kept], [w for _, w in kept]
    if not allowed or not sum(weights) > 0:
        raise _column_error(spec, "'allowed' lists no value a non-nullable column can hold")
    return _quotas(_allowed_array(spec, allowed), weights, n, rng)


def _quotas(
    choices: ArrowArray, weights: Sequence[float], n: int, rng: np.random.Generator
) -> ArrowArray:
    """``n`` picks of ``choices``, each exactly its share of the weights (largest remainders
    round), shuffled."""
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    pa = _pyarrow()

    shares = np.asarray(weights, dtype=float) / float(sum(weights)) * n
    counts = np.floor(shares).astype(np.int64)
    extra = np.argsort(-(shares - counts), kind="stable")[: n - int(counts.sum())]
    counts[extra] += 1
    picks = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    return choices.take(pa.array(picks, type=pa.int64()))


def _allowed_array(spec: ColumnSpec, allowed: list[Any]) -> ArrowArray:
    """The allowed values as an array of the column's type."""
    pa = _pyarrow()

    target = _arrow_type(spec)
    if spec.family is TypeFamily.STRING:
        return pa.array([None if v is None else str(v) for v in allowed], type=pa.string())
    try:
        values = pa.array(allowed)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = pa.array([None if v is None else str(v) for v in allowed], type=pa.string())
    if target is None or values.type == target:
        return values
    try:
        return values.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        shown = ", ".join(str(v) for v in allowed[:6])
        raise _column_error(spec, f"allowed values {shown} are not all {spec.type}") from None


def _arrow_type(spec: ColumnSpec) -> Any:
    """The arrow type written for a column; None for ``any`` (inferred from the values)."""
    pa = _pyarrow()

    bits = declared_bits(spec.type) or 64
    family = spec.family
    if family is TypeFamily.INTEGER:
        return pa.type_for_alias(f"{'u' if spec.type.startswith('u') else ''}int{bits}")
    if family is TypeFamily.FLOAT:
        return pa.float32() if bits < 64 else pa.float64()
    simple = {
        TypeFamily.NUMBER: pa.float64(),
        TypeFamily.STRING: pa.string(),
        TypeFamily.BOOLEAN: pa.bool_(),
        TypeFamily.DATE: pa.date32(),
        TypeFamily.TIMESTAMP: pa.timestamp("s"),
    }
    return simple.get(family)


def _bounds(spec: ColumnSpec) -> tuple[float, float]:
    """``min``..``max``, an unbounded side ``DEFAULT_SPAN`` from the other. Integer bounds stay
    Python ints (exact beyond 2**53); the type says float, as int is a float to the checker."""
    low, high = spec.min, spec.max
    if low is None:
        low = 0 if high is None else high - DEFAULT_SPAN
    if high is None:
        high = low + DEFAULT_SPAN
    if low > high:
        raise _column_error(spec, f"min {low:g} is above max {high:g}")
    return low, high


def _integers(spec: ColumnSpec, n: int, rng: np.random.Generator) -> ArrowArray:
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    pa = _pyarrow()

    target = _arrow_type(spec) or pa.int64()
    low, high = _bounds(spec)
    info = np.iinfo(target.to_pandas_dtype())
    first = max(math.ceil(low), int(info.min))
    last = min(math.floor(high), int(info.max))
    if first > last:
        raise _column_error(spec, f"no {spec.type} value lies between min and max")
    drawn = np.int64 if last <= np.iinfo(np.int64).max else np.uint64
    values = rng.integers(first, last, size=n, dtype=drawn, endpoint=True)
    return pa.array(values).cast(target)


def _floats(spec: ColumnSpec, n: int, rng: np.random.Generator) -> ArrowArray:
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    pa = _pyarrow()

    target = _arrow_type(spec) or pa.float64()
    low, high = (float(bound) for bound in _bounds(spec))
    if target == pa.float32():
        low, high = _float32_bounds(spec, low, high)
    values = np.clip(_uniform(low, high, n, rng), low, high)
    if target == pa.float32():
        # float32 may round a value just past a bound: keep to the float32 values inside.
        low32, high32 = np.float32(low), np.float32(high)
        if float(low32) < low:
            low32 = np.nextafter(low32, np.float32(np.inf))
        if float(high32) > high:
            high32 = np.nextafter(high32, np.float32(-np.inf))
        if low32 > high32:
            raise _column_error(spec, f"no {spec.type} value lies between min and max")
        return pa.array(np.clip(values.astype(np.float32), low32, high32))
    return pa.array(values).cast(target)


def _float32_bounds(spec: ColumnSpec, low: float, high: float) -> tuple[float, float]:
    """``low``..``high`` narrowed to the finite float32 values."""
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    largest = float(np.finfo(np.float32).max)
    low, high = max(low, -largest), min(high, largest)
    if low > high:
        raise _column_error(spec, f"no {spec.type} value lies between min and max")
    return low, high


def _uniform(low: float, high: float, n: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """``n`` uniform draws in ``low``..``high``, rounded to ``FLOAT_DECIMALS`` decimals where
    that cannot overflow; a range wider than the largest float is drawn without its width."""
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    if math.isfinite(high - low):
        values = rng.uniform(low, high, size=n)
    else:
        share = rng.random(size=n)
        values = low * (1.0 - share) + high * share
    small = np.abs(values) < ROUNDED_BELOW
    values[small] = np.round(values[small], FLOAT_DECIMALS)
    return values


def _tokens(n: int, rng: np.random.Generator) -> ArrowArray:
    import numpy as np  # deferred: numpy costs ~60 ms, paid only when data is generated

    pa = _pyarrow()

    size = (n, TOKEN_LENGTH)
    letters = rng.integers(ord("a"), ord("z"), size=size, dtype=np.uint8, endpoint=True)
    return pa.array(letters.view(f"S{TOKEN_LENGTH}").ravel()).cast(pa.string())


def _column_error(spec: ColumnSpec, message: str) -> FieldError:
    return FieldError(f"columns.{spec.name}", message)


# Files --------------------------------------------------------------------------------------


def write_table(table: ArrowTable, folder: Path, fmt: str, name: str = "data") -> Path:
    """Write ``table`` as ``folder/<name>.csv`` or ``.parquet`` with fixed writer options, so
    the same table always gives the same bytes; the file is replaced atomically."""
    if fmt not in FORMATS:
        raise CitError(f"format {fmt}: data can be written as csv or parquet")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.{fmt}"
    partial = folder / f".{name}.{fmt}.partial"
    try:
        _write(table, partial, fmt)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _write(table: ArrowTable, path: Path, fmt: str) -> None:
    if fmt == "csv":
        pcsv = _pyarrow("csv")

        options = pcsv.WriteOptions(
            include_header=True, batch_size=CSV_BATCH_ROWS, delimiter=",", quoting_style="needed"
        )
        pcsv.write_csv(table, str(path), write_options=options)
    else:
        pq = _pyarrow("parquet")

        pq.write_table(table, str(path), **PARQUET_OPTIONS)


# The output folder of ``cit generate-data`` -------------------------------------------------


def replaceable_files(folder: Path) -> list[Path]:
    """Files ``cit generate-data`` wrote into ``folder`` earlier and nobody changed since,
    which a new run may replace. Anything else in the folder is an error: a user's file is
    never overwritten."""
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise CitError(f"--output: {folder} is a file; give a folder")
    recorded = _recorded(folder)
    foreign = sorted(islice(_foreign_files(folder, recorded), 4))  # stop early in a big tree
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise CitError(
            f"--output: {folder} holds files cit did not generate ({shown}); "
            "give an empty or new folder"
        )
    return [folder / rel for rel in recorded if (folder / rel).is_file()]


def _foreign_files(folder: Path, recorded: dict[str, str]) -> Iterator[str]:
    """Files (and links) under ``folder`` that are neither the marker nor unchanged output."""
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if rel == MARKER or (path.is_dir() and not path.is_symlink()):
            continue
        if rel not in recorded or recorded[rel] != _sha256(path):
            yield rel


def generate_into(
    folder: Path, schema: DataSchema, rows: int, seed: int, fmt: str, /, **about: Any
) -> list[Path]:
    """Write generated data into ``folder`` for ``cit generate-data``; the files.

    The data is made in a staging folder next to ``folder`` and moved in once complete; files
    of an earlier run are removed only then, and the marker (with ``about``) is written last.
    A failed run leaves ``folder`` as it was; a user's file is never touched."""
    _check(schema, rows, fmt)
    earlier = {path.relative_to(folder) for path in replaceable_files(folder)}
    target = folder.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise CitError(f"--output: cannot write to {folder}: {exc.strerror or exc}") from None
    try:
        made = write_dataset(schema, rows, seed, fmt, staging)
        files = [_move(path, staging, target) for path in made]
        for old in earlier - {path.relative_to(target) for path in files}:
            _remove(target / old, target)
        (staging / MARKER).write_text(_marker_text(target, files, about), encoding="utf-8")
        os.replace(staging / MARKER, target / MARKER)
    except OSError as exc:
        raise CitError(f"--output: cannot write to {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / path.relative_to(target) for path in files]


def _move(path: Path, staging: Path, target: Path) -> Path:
    """Move a staged file to the same place under ``target``, replacing what is there."""
    destination = target / path.relative_to(staging)
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, destination)
    return destination


def _remove(path: Path, folder: Path) -> None:
    """Delete a file of an earlier run, and the subfolders of ``folder`` that leaves empty."""
    path.unlink(missing_ok=True)
    parent = path.parent
    while parent != folder and folder in parent.parents and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def record_generated(folder: Path, files: list[Path], **about: Any) -> None:
    """Note which files of ``folder`` were generated (and their hashes), for a later run."""
    (folder / MARKER).write_text(_marker_text(folder, files, about), encoding="utf-8")


def _marker_text(folder: Path, files: list[Path], about: dict[str, Any]) -> str:
    hashes = {path.relative_to(folder).as_posix(): _sha256(path) for path in files}
    return (
        json.dumps({"generated_by": "cit generate-data", **about, "files": hashes}, indent=2) + "\n"
    )


def _recorded(folder: Path) -> dict[str, str]:
    try:
        files = json.loads((folder / MARKER).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(files, dict):
        return {}
    inside = {
        k: v for k, v in files.items() if not Path(k).is_absolute() and ".." not in Path(k).parts
    }
    return {str(k): str(v) for k, v in inside.items()}


def _sha256(path: Path) -> str:
    """Hex digest, streamed; empty when the file cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(2**20):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def _pyarrow(module: str = "") -> Any:
    """pyarrow or one of its modules, imported on first use."""
    return importlib.import_module(f"pyarrow.{module}" if module else "pyarrow")
