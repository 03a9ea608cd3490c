"""Casting a page's raw cells to their declared types without letting one bad cell sink the page.

The whole column is cast at Arrow speed; only when that fails is it cast cell by cell, to find
the rows to quarantine. Cells that fail come back as null and by index.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

_FAILURES = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError, ValueError, OverflowError)


def cast_or_reject(raw: pa.Array, target: pa.DataType) -> tuple[pa.Array, list[int]]:
    """`raw` (strings) cast to `target`, plus the indices of the cells that would not cast."""
    if raw.type == target:
        return raw, []
    try:
        return pc.cast(raw, target), []
    except _FAILURES:
        pass
    values, failures = [], []
    for index, cell in enumerate(raw.to_pylist()):
        try:
            values.append(None if cell is None else pc.cast(pa.array([cell], raw.type), target)[0].as_py())
        except _FAILURES:
            values.append(None)
            failures.append(index)
    return pa.array(values, target), failures


def array_or_reject(values: list[Any], target: pa.DataType) -> tuple[pa.Array, list[int]]:
    """Python values (already JSON-typed) as an Arrow array, plus the indices that do not fit."""
    try:
        return pa.array(values, target), []
    except _FAILURES:
        pass
    kept, failures = [], []
    for index, value in enumerate(values):
        try:
            kept.append(pa.array([value], target)[0].as_py())
        except _FAILURES:
            kept.append(None)
            failures.append(index)
    return pa.array(kept, target), failures
