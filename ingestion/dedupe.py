"""Keeping each key's first row: a run may read one record twice (a collector's retry, a
partner's duplicate row), and only its first copy is loaded.

The keys a run has loaded are kept in a Python set: looking a batch up in it costs the batch,
where Arrow's `is_in` would rebuild a hash table of every key loaded so far for each batch.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def first_occurrences(
    table: pa.Table,
    keys: pa.Array | pa.ChunkedArray,
    seen: set[str],
    order_by: list[tuple[str, str]] | None = None,
) -> pa.Table:
    """The rows of `table` whose key (`keys`, one per row) is not in `seen`, each key's first row
    only, first in table order or in `order_by` order; their keys are added to `seen`."""
    if not len(keys):
        return table
    values = keys.to_pylist()
    fresh = set(values)
    if len(fresh) == len(values) and seen.isdisjoint(fresh):  # the usual batch: nothing repeats
        seen.update(fresh)
        return table
    order = pc.sort_indices(table, sort_keys=order_by).to_numpy() if order_by else None
    if order is not None:
        values = pc.take(keys, order).to_pylist()
    keep = np.ones(len(values), dtype=bool)
    for index, key in enumerate(values):
        if key in seen:
            keep[index] = False
        else:
            seen.add(key)
    if order is not None:
        in_table_order = np.empty_like(keep)
        in_table_order[order] = keep
        keep = in_table_order
    return table.filter(pa.array(keep))
