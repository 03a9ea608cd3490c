"""The warehouse switch: one URL decides where dlt, dbt, the checks and reverse ETL read and write.

`LEADLOOP_WAREHOUSE_URL` defaults to an embedded DuckDB file so a fresh clone runs with no setup;
a `postgresql://` URL moves every layer to Postgres. Nothing else in the project parses the URL,
so the layers cannot disagree about where the data lives.

`?schema_prefix=acme` on either URL lets tenants share one database or file: every schema the
layers name (`bronze_<source>`, `silver`, `gold`, `reverse_etl`, `privacy`, `contracts`) becomes
`acme_<schema>` through `Warehouse.schema`. Code names schemas by their logical name and asks the
warehouse for the physical one, so a tenant's prefix is applied in one place too. This module stays free of Dagster so
that `reverse_etl`, `expectations` and the sandbox tests can use it directly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from warehouse.duckdb_limits import DuckDBLimits, DuckDBLimitsError, resident_bytes

DEFAULT_WAREHOUSE_URL = "duckdb:///data/warehouse.duckdb"
# The least share of its limit a DuckDB writing Arrow tables is given, however much the process
# holds beside them (`replace_tables`). Identity's write at 1M leads (1.97M records, 3.3M links),
# in a process holding 2.8 GiB: 300 MB let it grow 220 MiB in 6.6 s, the whole share 640 MiB in
# 6.2 s, 150 MB 100 MiB in 8.1 s.
WRITE_DUCKDB_FLOOR = 0.1
SCHEMA_PREFIX_PARAMETER = "schema_prefix"
# A prefix is one word: with no `_` of its own, `acme_` can never be the start of another
# tenant's schemas (`acme_x_silver`), and `bronze` would collide with unprefixed bronze datasets.
SCHEMA_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,19}$")
RESERVED_PREFIXES = frozenset({"bronze"})
SCHEMA_PREFIX_RULE = (
    "one lower-case word of letters and digits (no '_'), starting with a letter, at most 20 long, not 'bronze'"
)


class WarehouseConfigError(ValueError):
    """The warehouse URL cannot be used; the message says what to set instead."""


@dataclass(frozen=True)
class Warehouse:
    """A parsed warehouse URL with the connection details each tool needs."""

    kind: str  # "duckdb" or "postgres"
    path: Path | None = None  # duckdb only, absolute
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    database: str = ""
    schema_prefix: str = ""  # tenants sharing this database: every schema becomes <prefix>_<schema>

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_url(cls, url: str) -> Warehouse:
        url, _, query = url.strip().partition("?")
        prefix = _schema_prefix(url, query)
        warehouse = cls._from_base_url(url)
        return replace(warehouse, schema_prefix=prefix) if prefix else warehouse

    def with_schema_prefix(self, prefix: str) -> Warehouse:
        """This warehouse with every schema under `prefix` (checked as the URL's parameter is)."""
        return Warehouse.from_url(f"{self.url.partition('?')[0]}?{SCHEMA_PREFIX_PARAMETER}={prefix}")

    @classmethod
    def _from_base_url(cls, url: str) -> Warehouse:
        scheme, _, rest = url.partition("://")
        if not rest:
            raise WarehouseConfigError(
                f"LEADLOOP_WAREHOUSE_URL={_redact(url)!r} is not a URL: use "
                f"'{DEFAULT_WAREHOUSE_URL}' or 'postgresql://user@host:5432/dbname'."
            )
        scheme = scheme.lower()
        if scheme == "duckdb":
            # SQLAlchemy convention: duckdb:///rel/path is relative, duckdb:////abs/path absolute.
            raw = rest[1:] if rest.startswith("/") else rest
            if not raw:
                raise WarehouseConfigError("LEADLOOP_WAREHOUSE_URL 'duckdb:///' needs a file path.")
            path = Path(raw)
            if not path.is_absolute():
                path = Path.cwd() / path
            return cls(kind="duckdb", path=path.resolve())
        if scheme in {"postgresql", "postgres", "postgresql+psycopg2"}:
            parts = urlsplit("postgresql://" + rest)
            try:
                port = parts.port or 5432
            except ValueError:  # urllib's message ("Port could not be cast…") names no variable
                raise WarehouseConfigError(
                    f"LEADLOOP_WAREHOUSE_URL={_redact(url)!r} has a port that is not a number from 1 to 65535, "
                    "e.g. 'postgresql://postgres@127.0.0.1:5432/leadloop'."
                ) from None
            database = parts.path.lstrip("/")
            if not parts.hostname or not database:
                raise WarehouseConfigError(
                    f"LEADLOOP_WAREHOUSE_URL={_redact(url)!r} needs a host and a database name, "
                    "e.g. 'postgresql://postgres@127.0.0.1:5432/leadloop'."
                )
            return cls(
                kind="postgres",
                host=parts.hostname,
                port=port,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password or ""),
                database=database,
            )
        raise WarehouseConfigError(
            f"LEADLOOP_WAREHOUSE_URL scheme {scheme!r} is not supported: use 'duckdb:///path' or "
            "'postgresql://user@host:port/db'."
        )

    @classmethod
    def from_env(cls) -> Warehouse:
        return cls.from_url(os.environ.get("LEADLOOP_WAREHOUSE_URL") or DEFAULT_WAREHOUSE_URL)

    # ------------------------------------------------------------------ derived settings
    @property
    def is_duckdb(self) -> bool:
        return self.kind == "duckdb"

    @property
    def display(self) -> str:
        """A description safe for logs and metadata: never contains the password."""
        if self.is_duckdb:
            return f"duckdb:{self.path}{self._query}"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}{self._query}"

    @property
    def url(self) -> str:
        """The URL in Leadloop's own form (contains the password: never log it)."""
        if self.is_duckdb:
            return f"duckdb:///{self.path}{self._query}"
        return self.sqlalchemy_url.replace("postgresql+psycopg2://", "postgresql://", 1) + self._query

    @property
    def _query(self) -> str:
        return f"?{SCHEMA_PREFIX_PARAMETER}={self.schema_prefix}" if self.schema_prefix else ""

    def schema(self, name: str) -> str:
        """The physical name of the logical schema `name` (`gold` -> `acme_gold` under prefix acme)."""
        return f"{self.schema_prefix}_{name}" if self.schema_prefix else name

    def relation(self, qualified: str) -> str:
        """`schema.table` with its schema made physical (`gold.lead_scores` -> `acme_gold.lead_scores`)."""
        schema, dot, table = qualified.partition(".")
        if not dot:
            raise ValueError(f"{qualified!r} is not schema.table")
        return f"{self.schema(schema)}.{table}"

    def qualify(self, template: str) -> str:
        """SQL written with `{silver}`, `{gold}`, `{bronze_salesforce}` … for its schemas, with each
        made physical (so a query text names the layers once and serves every tenant)."""
        return template.format_map(_PhysicalSchemas(self))

    def logical_schema(self, physical: str) -> str:
        """The inverse of `schema`: `acme_bronze_partners` -> `bronze_partners`."""
        return physical.removeprefix(f"{self.schema_prefix}_") if self.schema_prefix else physical

    @property
    def sqlalchemy_url(self) -> str:
        if self.is_duckdb:
            return f"duckdb:///{self.path}"
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql+psycopg2://{auth}@{self.host}:{self.port}/{self.database}"

    def dlt_destination(self) -> Any:
        """The dlt destination object for this warehouse."""
        import dlt

        if self.is_duckdb:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return dlt.destinations.duckdb(credentials=str(self.path))
        from dlt.destinations.impl.postgres.configuration import PostgresCredentials

        credentials = PostgresCredentials()
        credentials.parse_native_representation(self.sqlalchemy_url.replace("+psycopg2", "", 1))
        # dlt requires a password field; trust/peer auth has none, and "" means "send none".
        credentials.password = self.password or ""
        return dlt.destinations.postgres(credentials=credentials)

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by `dbt_project/profiles.yml`."""
        # Set even when empty, so a prefix in the caller's own environment never reaches dbt.
        env = {"LEADLOOP_DBT_TARGET": self.kind, "LEADLOOP_DBT_SCHEMA_PREFIX": self.schema("")}
        if self.is_duckdb:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            env["LEADLOOP_DUCKDB_PATH"] = str(self.path)
            env.update(self.duckdb_limits().dbt_env())
        else:
            env.update(
                LEADLOOP_PG_HOST=self.host,
                LEADLOOP_PG_PORT=str(self.port),
                LEADLOOP_PG_USER=self.user,
                LEADLOOP_PG_PASSWORD=self.password,
                LEADLOOP_PG_DATABASE=self.database,
            )
        return env

    def duckdb_limits(self) -> DuckDBLimits:
        """Memory, threads and spill folder for every DuckDB process on this warehouse."""
        assert self.path is not None
        try:
            return DuckDBLimits.from_env(self.path)
        except DuckDBLimitsError as exc:
            raise WarehouseConfigError(str(exc)) from None

    def psycopg2_kwargs(self, connect_timeout: int = 5) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password or None,
            "dbname": self.database,
            "connect_timeout": connect_timeout,
        }

    # ------------------------------------------------------------------ connections
    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection, closed on exit.

        Connections are short-lived on purpose: DuckDB allows one writing process per file, and
        dbt runs in a subprocess, so nothing may hold the file open between steps.
        """
        if self.is_duckdb:
            import duckdb

            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            limits = self.duckdb_limits()
            conn = duckdb.connect(str(self.path))
            limits.apply(conn)
        else:
            import psycopg2

            try:
                conn = psycopg2.connect(**self.psycopg2_kwargs())
            except psycopg2.OperationalError as exc:
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise WarehouseConfigError(f"cannot connect to the warehouse {self.display}: {first_line}") from None
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            cur = conn.cursor()
            cur.execute(self.adapt_sql(sql), params or [])
            return cur.fetchall() if cur.description else []

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query and return a pandas DataFrame."""
        import pandas as pd

        with self.connect() as conn:
            cur = conn.cursor()
            cur.execute(self.adapt_sql(sql), params or [])
            columns = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)

    def iter_rows(
        self, sql: str, params: Sequence[Any] | None = None, batch_rows: int = 50_000
    ) -> Iterator[tuple[Any, ...]]:
        """A query's rows, the same Python values `query` gives, fetched `batch_rows` at a time
        (from Postgres through a server-side cursor): the reverse-ETL planner walks a gold table
        of a million rows without holding them as one list of tuples. The connection stays open
        until the rows are read or the iterator is closed."""
        with self.connect() as conn:
            cur = conn.cursor() if self.is_duckdb else conn.cursor(name="leadloop_iter_rows")
            if not self.is_duckdb:
                cur.itersize = batch_rows
            cur.execute(self.adapt_sql(sql), params or [])
            while rows := cur.fetchmany(batch_rows):
                yield from rows

    def read_arrow(self, sql: str, batch_rows: int = 50_000) -> Any:
        """A query's result as a pyarrow Table (DuckDB hands Arrow over directly).

        Postgres rows come through a server-side cursor, `batch_rows` at a time, each batch made
        Arrow before the next is fetched: identity reads 1.6M records at 1M leads, which as one
        list of Python tuples took several times the table's own size."""
        import pyarrow as pa

        with self.connect() as conn:
            if self.is_duckdb:
                return conn.sql(sql).to_arrow_table()
            cur = conn.cursor(name="leadloop_read_arrow")  # named: psycopg2's server-side cursor
            cur.itersize = batch_rows
            cur.execute(sql)
            batches, names = [], None
            while rows := cur.fetchmany(batch_rows):
                names = names or [d[0] for d in cur.description]
                batches.append(pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)}))
                del rows
            if not batches:  # no row: a column per name, of no type, as before
                names = [d[0] for d in cur.description] if cur.description else []
                return pa.table({name: [] for name in names})
            # A batch whose column was all null has no type yet, and one of narrower decimals than
            # another: each takes the type that holds them all.
            return pa.concat_tables(batches, promote_options="permissive")

    def replace_table(self, schema: str, table: str, data: Any) -> None:
        """Replaces `schema.table` with the pyarrow Table `data`, atomically.

        Postgres gets the rows through COPY (CSV), in one transaction with the drop, so readers see
        the old table or the new one, never none.
        """
        self.replace_tables(schema, {table: data})

    def replace_tables(self, schema: str, tables: dict[str, Any]) -> None:
        """Replaces several tables of `schema` (name → pyarrow Table) in ONE transaction: readers,
        and the next run after a crash, see all of them old or all of them new, never a mix."""
        import io

        import pyarrow.csv as pacsv

        with self.connect() as conn:
            if self.is_duckdb:
                # The tables are already in this process: DuckDB gets what its share leaves beside
                # them. Its buffer pool keeps the blocks a write makes until it closes, up to its
                # limit: at 1M leads identity's write added 740 MiB to a process already at 2.9 GiB.
                held = self.duckdb_limits().less(resident_bytes(), at_least=WRITE_DUCKDB_FLOOR)
                conn.execute(f"set memory_limit = '{held.memory_limit}'")
                conn.begin()  # DuckDB commits each statement on its own otherwise
                conn.execute(f"create schema if not exists {schema}")
                for table, data in tables.items():
                    conn.register("_replacement", data)
                    conn.execute(f"create or replace table {schema}.{table} as select * from _replacement")
                    conn.unregister("_replacement")
                conn.commit()
                return
            cur = conn.cursor()
            cur.execute(f"create schema if not exists {schema}")
            for table, data in tables.items():
                wanted = [(f.name, _postgres_type(f.type)) for f in data.schema]
                if _postgres_columns(cur, schema, table) == wanted:
                    # Emptied, not dropped: dbt's views over the table (silver's int_* models)
                    # stay valid, so a run of this step alone (an erasure drop, a retry) works.
                    cur.execute(f"truncate {schema}.{table}")
                else:  # new or reshaped: the views over it are rebuilt by the dbt steps after it
                    cur.execute(f"drop table if exists {schema}.{table} cascade")
                    columns = ", ".join(f'"{name}" {kind}' for name, kind in wanted)
                    cur.execute(f"create table {schema}.{table} ({columns})")
                buffer = io.BytesIO()
                pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
                buffer.seek(0)
                cur.copy_expert(f"copy {schema}.{table} from stdin with (format csv)", buffer)

    def table_exists(self, schema: str, table: str) -> bool:
        rows = self.query(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return bool(rows and rows[0][0])

    def adapt_sql(self, sql: str) -> str:
        """Queries are written with `?` placeholders; psycopg2 wants `%s`."""
        return sql if self.is_duckdb else sql.replace("%", "%%").replace("?", "%s")


def _postgres_columns(cur: Any, schema: str, table: str) -> list[tuple[str, str]]:
    """An existing table's columns with their types as `_postgres_type` names them ([] if none)."""
    cur.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        [schema, table],
    )
    short = {"timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz"}
    return [(name, short.get(kind, kind)) for name, kind in cur.fetchall()]


def _postgres_type(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    return "text"


class _PhysicalSchemas(dict):
    def __init__(self, warehouse: Warehouse) -> None:
        super().__init__()
        self.warehouse = warehouse

    def __missing__(self, key: str) -> str:
        return self.warehouse.schema(key)


def _schema_prefix(url: str, query: str) -> str:
    """The `schema_prefix` of a URL's query, checked; no other parameter is understood."""
    if not query:
        return ""
    params = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(params) - {SCHEMA_PREFIX_PARAMETER})
    values = params.get(SCHEMA_PREFIX_PARAMETER, [])
    if unknown or len(values) != 1:
        raise WarehouseConfigError(
            f"LEADLOOP_WAREHOUSE_URL={_redact(url)!r}: the only query parameter is one "
            f"'{SCHEMA_PREFIX_PARAMETER}=<word>' (got {'&'.join(sorted(params)) or query!r})."
        )
    if not is_schema_prefix(values[0]):
        raise WarehouseConfigError(
            f"LEADLOOP_WAREHOUSE_URL={_redact(url)!r}: schema_prefix {values[0]!r} must be {SCHEMA_PREFIX_RULE}."
        )
    return values[0]


def is_schema_prefix(prefix: str) -> bool:
    return bool(SCHEMA_PREFIX.match(prefix)) and prefix not in RESERVED_PREFIXES


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
