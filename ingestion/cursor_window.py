"""The incremental window shared by the API sources: rows newer than the cursor, plus rows
stamped exactly at it that the last run did not see.

APIs filter on a modification stamp at a coarser grain than they stamp rows (SOQL literals
have no milliseconds; HubSpot's search compares `>=`), so a run re-reads the last run's final
rows. Their ids at the exact cursor value are kept in the resource's dlt state and dropped here,
which makes a re-run with nothing new load nothing, while a row that arrives later with the
same stamp is still loaded.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR_STATE = "cursor"  # keys in the resource's dlt state
BOUNDARY_STATE = "ids_at_cursor"


class CursorWindow:
    def __init__(self, state: MutableMapping[str, Any], cursor_column: str, id_column: str) -> None:
        self.state, self.cursor_column, self.id_column = state, cursor_column, id_column
        cursor = state.get(CURSOR_STATE)
        self.is_first_run = cursor is None
        self.start = datetime.fromisoformat(cursor) if cursor else EPOCH
        self.boundary_ids = set(state.get(BOUNDARY_STATE, []))
        self.newest, self.newest_ids = self.start, set(self.boundary_ids)

    def unseen(self, table: pa.Table) -> pa.Table:
        """`table` without rows older than the cursor or already loaded at it; advances the window."""
        if not table.num_rows:
            return table
        stamps = table[self.cursor_column]
        start = pa.scalar(self.start, type=stamps.type)
        known = pa.array(sorted(self.boundary_ids), pa.string())
        seen = pc.and_(pc.equal(stamps, start), pc.is_in(table[self.id_column], value_set=known))
        table = table.filter(pc.and_(pc.greater_equal(stamps, start), pc.invert(seen)))
        if table.num_rows:
            newest = pc.max(table[self.cursor_column]).as_py()
            at_newest = table.filter(pc.equal(table[self.cursor_column], pa.scalar(newest, type=stamps.type)))
            ids = at_newest[self.id_column].to_pylist()
            if newest > self.newest:
                self.newest, self.newest_ids = newest, set(ids)
            elif newest == self.newest:
                self.newest_ids.update(ids)
        return table

    def commit(self) -> None:
        """Records the window's end in state; dlt persists it with the load package, so a failed
        load re-reads the same window."""
        self.state[CURSOR_STATE] = self.newest.isoformat()
        self.state[BOUNDARY_STATE] = sorted(self.newest_ids)
