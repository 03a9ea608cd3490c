"""Connections that cannot write: the second wall behind the SQL guard.

DuckDB: the file is opened `read_only` with file-system access off and the configuration locked,
so neither a write nor `read_csv('/etc/passwd')` nor `SET` can get through. Postgres: the app
connects as a role that has USAGE on `gold` and SELECT on its tables and nothing else, whose
transactions are read-only by default; `setup_reader_role` creates it with the warehouse's own
(owner) credentials. A tenant with a schema prefix reads its own `<prefix>_gold` as a role of its
own (`<role>_<prefix>`), so no tenant's reader is granted another tenant's gold. Each query
runs on its own short connection, with a row limit and a timeout.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from warehouse import Warehouse

from .sql_guard import ALLOWED_SCHEMA, RefusedQuery, checked_query, limited_sql

READER_ROLE_ENV = "LEADLOOP_REPORT_ROLE"
READER_PASSWORD_ENV = "LEADLOOP_REPORT_PASSWORD"
DEFAULT_READER_ROLE = "leadloop_reporter"


class QueryTimeout(RuntimeError):
    """The query ran longer than the app allows."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows than the limit existed


@dataclass(frozen=True)
class ReadOnlyWarehouse:
    """Read-only access to a warehouse's gold schema.

    For Postgres, `warehouse` is already the reader role's connection (see `for_reading`).
    """

    warehouse: Warehouse
    max_rows: int = 1000
    timeout_seconds: float = 10.0

    @property
    def dialect(self) -> str:
        return "duckdb" if self.warehouse.is_duckdb else "postgres"

    @property
    def gold_schema(self) -> str:
        """Where this warehouse's gold lives (`<prefix>_gold` for a tenant sharing the database)."""
        return self.warehouse.schema(ALLOWED_SCHEMA)

    def run(self, sql: str) -> QueryResult:
        """An ad-hoc statement: guarded, then run read-only. `RefusedQuery` or `QueryTimeout`."""
        statement = checked_query(sql, self.dialect, self.gold_schema)
        return self.execute(limited_sql(statement, self.dialect, self.max_rows))

    def report(self, sql: str) -> QueryResult:
        """One of the app's own report queries (written against `gold`), on this warehouse's gold."""
        return self.execute(checked_query(sql, self.dialect, self.gold_schema).sql(dialect=self.dialect))

    def execute(self, sql: str) -> QueryResult:
        """Runs SQL on the read-only connection as it is (the app's own report queries, and
        tests that show the connection itself refuses writes)."""
        with self.connect() as conn:
            cur = conn.cursor()
            try:
                with _interrupt_after(cur, self.timeout_seconds, enabled=self.warehouse.is_duckdb):
                    cur.execute(sql)
                    columns = [d[0] for d in cur.description or []]
                    rows = [tuple(r) for r in cur.fetchmany(self.max_rows + 1)] if cur.description else []
            except Exception as exc:  # the drivers' own errors, turned into one line for the page
                raise _explained(exc, self.timeout_seconds) from None
        return QueryResult(columns, rows[: self.max_rows], len(rows) > self.max_rows)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.warehouse.is_duckdb:
            import duckdb

            config = {"enable_external_access": False, "lock_configuration": True}
            conn = duckdb.connect(str(self.warehouse.path), read_only=True, config=config)
        else:
            import psycopg2

            conn = psycopg2.connect(
                **self.warehouse.psycopg2_kwargs(),
                options=(
                    f"-c default_transaction_read_only=on -c search_path={self.gold_schema} "
                    f"-c statement_timeout={int(self.timeout_seconds * 1000)}"
                ),
            )
            conn.set_session(readonly=True)
        try:
            yield conn
        finally:
            conn.close()


def reader_role(schema_prefix: str = "") -> tuple[str, str]:
    """The Postgres role the app reads as, and its password, from the environment; a tenant with a
    schema prefix gets a role of its own, `<role>_<prefix>`, granted only its own gold."""
    role = os.environ.get(READER_ROLE_ENV) or DEFAULT_READER_ROLE
    return (f"{role}_{schema_prefix}" if schema_prefix else role), os.environ.get(READER_PASSWORD_ENV, "")


def setup_reader_role(owner: Warehouse, role: str, password: str = "") -> None:
    """Creates (or re-grants) the reader role with the owner's credentials: login, SELECT on the
    tables of the owner's `gold` (its prefixed one for a tenant) now and later, read-only
    transactions; nothing on any other schema. Idempotent, and safe when several databases of
    one server set it up at once."""
    import psycopg2
    from psycopg2 import sql

    ident = sql.Identifier(role)
    gold = sql.Identifier(owner.schema(ALLOWED_SCHEMA))
    statements = [
        sql.SQL(
            "do $$ begin create role {} login nosuperuser nocreatedb nocreaterole noinherit; "
            "exception when duplicate_object or unique_violation then null; end $$"
        ).format(ident),
        sql.SQL("alter role {} set default_transaction_read_only = on").format(ident),
        sql.SQL("grant connect on database {} to {}").format(sql.Identifier(owner.database), ident),
        sql.SQL("create schema if not exists {}").format(gold),
        sql.SQL("grant usage on schema {} to {}").format(gold, ident),
        sql.SQL("grant select on all tables in schema {} to {}").format(gold, ident),
        # dbt replaces gold tables on every build: new ones are readable too
        sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(gold, ident),
    ]
    if password:
        statements.append(sql.SQL("alter role {} password {}").format(ident, sql.Literal(password)))
    conn = psycopg2.connect(**owner.psycopg2_kwargs())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for statement in statements:
                try:
                    cur.execute(statement)
                except psycopg2.InternalError as exc:  # "tuple concurrently updated"
                    if "concurrently" not in str(exc):
                        raise
    finally:
        conn.close()


def for_reading(owner: Warehouse, *, max_rows: int = 1000, timeout_seconds: float = 10.0) -> ReadOnlyWarehouse:
    """The read-only view of the configured warehouse; on Postgres this sets up the reader role
    and connects as it, never as the owner."""
    if not owner.is_duckdb:
        role, password = reader_role(owner.schema_prefix)
        setup_reader_role(owner, role, password)
        owner = replace(owner, user=role, password=password)
    return ReadOnlyWarehouse(owner, max_rows=max_rows, timeout_seconds=timeout_seconds)


@contextmanager
def _interrupt_after(cursor: Any, seconds: float, *, enabled: bool) -> Iterator[None]:
    """DuckDB has no statement timeout: a timer interrupts the query instead (the cursor's: a
    DuckDB cursor is a connection of its own, which interrupting its parent does not stop)."""
    if not enabled:
        yield
        return
    timer = threading.Timer(seconds, cursor.interrupt)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _explained(exc: Exception, timeout_seconds: float) -> Exception:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    lowered = text.lower()
    if "interrupt" in lowered or "statement timeout" in lowered or "canceling statement" in lowered:
        return QueryTimeout(f"The query took longer than {timeout_seconds:g} s and was stopped.")
    if "read-only" in lowered or "read only" in lowered or "permission denied" in lowered:
        return RefusedQuery(f"The warehouse refused it (read-only access): {first}")
    return RefusedQuery(f"The warehouse could not run it: {first}")
