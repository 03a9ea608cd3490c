"""Keeping each key's first row, in Arrow: a run may read one record twice (a collector's
retry, a partner's duplicate row), and only its first copy is loaded."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def first_occurrences(
    table: pa.Table,
    keys: pa.Array | pa.ChunkedArray,
    seen: pa.ChunkedArray,
    order_by: list[tuple[str, str]] | None = None,
) -> pa.Table:
    """The rows of `table` whose key (`keys`, one per row) is not in `seen`, each key's first row
    only: first in table order, or in `order_by` order (sorted only when a key repeats)."""
    if not len(keys):
        return table
    if len(seen):
        fresh = pc.invert(pc.is_in(keys, value_set=seen))
        table, keys = table.filter(fresh), pc.filter(keys, fresh)
    if pc.count_distinct(keys).as_py() == len(keys):
        return table
    if order_by:
        order = pc.sort_indices(table, sort_keys=order_by)
        table, keys = table.take(order), pc.take(keys, order)
    rows = pa.table({"key": keys, "row": np.arange(len(keys))})
    first = rows.group_by("key", use_threads=False).aggregate([("row", "min")])["row_min"]
    return table.take(pc.sort_indices(first))
