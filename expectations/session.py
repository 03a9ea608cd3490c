"""One connection for one contract evaluation.

A contract asks the warehouse a dozen small questions (does the table exist, its columns, a
fingerprint, the aggregates, the baseline, the rows for GX). On DuckDB each `Warehouse.query`
opens the file anew, which cost more than the questions themselves; a `Session` asks them all
on one connection and has the same reading methods, so the guards take either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from warehouse import Warehouse


class Reads(Protocol):
    """What the contract layer reads through: a `Warehouse` or a `Session` on it."""

    @property
    def is_duckdb(self) -> bool: ...

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

    def table_exists(self, schema: str, table: str) -> bool: ...

    def schema(self, name: str) -> str: ...


class Session:
    def __init__(self, warehouse: Warehouse, conn: Any) -> None:
        self.warehouse = warehouse
        self._conn = conn

    @property
    def is_duckdb(self) -> bool:
        return self.warehouse.is_duckdb

    def schema(self, name: str) -> str:
        return self.warehouse.schema(name)

    def _cursor(self, sql: str, params: Sequence[Any] | None) -> Any:
        cur = self._conn.cursor()
        cur.execute(self.warehouse.adapt_sql(sql), params or [])
        return cur

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self._cursor(sql, params)
        return cur.fetchall() if cur.description else []

    def query_df(self, sql: str) -> Any:
        if self.is_duckdb:
            # Through Arrow, whole columns at a time: a frame built from fetchall's Python tuples
            # took ten times as long (5 s for 100k rows of six columns), more than GX's checks.
            # Same dtypes either way (an integer column with nulls is float64).
            return self._conn.sql(self.warehouse.adapt_sql(sql)).to_arrow_table().to_pandas()
        import pandas as pd

        cur = self._cursor(sql, None)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    def table_exists(self, schema: str, table: str) -> bool:
        rows = self.query(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return bool(rows and rows[0][0])


@contextmanager
def session(warehouse: Warehouse) -> Iterator[Session]:
    with warehouse.connect() as conn:
        yield Session(warehouse, conn)
