"""Sweeps for a secret or a person's address: every table and view of every schema of a
warehouse, and every file under a folder. The reliability and erasure tests assert that what
must be gone is found nowhere, so the sweep reads everything rather than the places we expect.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

from warehouse import Warehouse

_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")


def tables_holding(
    warehouse: Warehouse, needles: Iterable[str], schemas: Iterable[str] | None = None
) -> dict[str, int]:
    """`schema.table` → rows in which any column, as text, contains one of `needles`
    (case-insensitive), over every schema or only `schemas`; tables holding none are left out."""
    needles = [n.lower() for n in needles]
    only = None if schemas is None else set(schemas)
    columns: dict[str, list[str]] = {}
    for schema, table, column in warehouse.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() "
        f"and table_schema not in ({', '.join(repr(s) for s in _SYSTEM_SCHEMAS)}) "
        "and table_schema not like 'pg\\_temp%' escape '\\'"
    ):
        if only is None or schema in only:
            columns.setdefault(f'"{schema}"."{table}"', []).append(column)
    found: dict[str, int] = {}
    with warehouse.connect() as conn:  # one connection: opening a DuckDB file per table costs seconds
        cur = conn.cursor()
        for table, names in sorted(columns.items()):
            tests = " or ".join(f'lower(cast("{c}" as varchar)) like ?' for c in names for _ in needles)
            params = [f"%{n}%" for _ in names for n in needles]
            cur.execute(warehouse.adapt_sql(f"select count(*) from {table} where {tests}"), params)
            (count,) = cur.fetchall()[0]
            if count:
                found[table.replace('"', "")] = int(count)
    return found


def files_holding(roots: Iterable[Path], needles: Iterable[str], exclude: Iterable[Path] = ()) -> dict[str, int]:
    """Path → how many of `needles` its bytes contain (case-insensitive; `.gz` files read
    decompressed), for every file under `roots` (a root may be a file) except under `exclude`."""
    needles = [n.lower().encode() for n in needles]
    skipped = [p.resolve() for p in exclude]
    found: dict[str, int] = {}
    for root in map(Path, roots):
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            resolved = path.resolve()
            if any(resolved.is_relative_to(s) for s in skipped):
                continue
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            data = data.lower()
            hits = sum(1 for n in needles if n in data)
            if hits:
                found[str(path)] = hits
    return found


def run_records(instance: object) -> list[str]:
    """Every event of every run an (ephemeral) Dagster instance holds, serialized whole: log
    messages, materialization and check metadata, step failures with their exceptions."""
    from dagster import DagsterInstance, serialize_value

    assert isinstance(instance, DagsterInstance)
    return [serialize_value(record) for run in instance.get_runs() for record in instance.all_logs(run.run_id)]


def texts_holding(texts: Iterable[str], needles: Iterable[str]) -> list[str]:
    """The `needles` found (case-insensitive) in any of `texts`."""
    needles = list(needles)
    joined = "\n".join(texts).lower()
    return sorted(n for n in needles if n.lower() in joined)
