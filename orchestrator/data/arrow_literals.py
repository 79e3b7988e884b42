"""Arrow arrays and scalars made from Python numbers and booleans, built from their bytes.

pyarrow's own conversion (``pa.array``, ``pa.scalar``, ``pa.repeat``, and every compute call
given a Python value) first asks whether the value is a pandas object, and that question
imports pandas when it is installed: a quarter of a second, most of what a run of cached steps
would otherwise take. A check's bounds, masks and row numbers are plain numbers, so they are
laid into Arrow buffers here instead; the arrays are the ones pyarrow would have made.
"""

from __future__ import annotations

import importlib
from array import array
from collections.abc import Iterable
from typing import Any


def floats(values: Iterable[float]) -> Any:
    """A float64 array of ``values``."""
    return _from_array(_pa().float64(), array("d", values))


def integers(values: Iterable[int]) -> Any:
    """An int64 array of ``values``."""
    return _from_array(_pa().int64(), array("q", values))


def booleans(values: Iterable[bool]) -> Any:
    """A boolean array of ``values``."""
    flags = [bool(value) for value in values]
    bitmap = bytearray((len(flags) + 7) // 8)
    for position, flag in enumerate(flags):
        if flag:
            bitmap[position // 8] |= 1 << (position % 8)
    pa = _pa()
    return pa.Array.from_buffers(pa.bool_(), len(flags), [None, pa.py_buffer(bytes(bitmap))])


def all_false(length: int) -> Any:
    """A boolean array of ``length`` False values."""
    pa = _pa()
    bitmap = pa.py_buffer(bytes((length + 7) // 8))
    return pa.Array.from_buffers(pa.bool_(), length, [None, bitmap])


def float_scalar(value: float) -> Any:
    """A float64 scalar."""
    return floats([value])[0]


def integer_scalar(value: int) -> Any:
    """An int64 scalar."""
    return integers([value])[0]


def byte_scalar(value: int) -> Any:
    """A uint8 scalar."""
    pa = _pa()
    return pa.Array.from_buffers(pa.uint8(), 1, [None, pa.py_buffer(bytes([value]))])[0]


def _from_array(arrow_type: Any, values: array[Any]) -> Any:
    pa = _pa()
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])


def _pa() -> Any:
    return importlib.import_module("pyarrow")
