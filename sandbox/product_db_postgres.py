"""The product database in a Postgres schema, for worlds configured with a Postgres
`LEADLOOP_PRODUCT_DB_URL`.

The SQLite file stays the generator's working copy (its day-by-day changes are pure functions
of the seed); this mirrors it into schema `product`, upserting only rows whose values differ.
Stamps are copied as they are, so `updated_at` moves exactly as it does in SQLite and an
incremental reader sees the same changes either way.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = "product"
DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.accounts (
    id integer primary key, name text not null, domain text not null unique, plan text not null,
    created_at timestamptz not null, updated_at timestamptz not null);
create table if not exists {SCHEMA}.users (
    id integer primary key, account_id integer not null references {SCHEMA}.accounts(id), email text not null,
    name text, role text not null, created_at timestamptz not null, updated_at timestamptz not null);
create table if not exists {SCHEMA}.usage_events (
    id integer primary key, user_id integer not null references {SCHEMA}.users(id), event text not null,
    occurred_at timestamptz not null, updated_at timestamptz not null);
create index if not exists accounts_updated_at on {SCHEMA}.accounts (updated_at);
create index if not exists users_updated_at on {SCHEMA}.users (updated_at);
create index if not exists usage_events_updated_at on {SCHEMA}.usage_events (updated_at);
"""
COLUMNS = {
    "accounts": ("id", "name", "domain", "plan", "created_at", "updated_at"),
    "users": ("id", "account_id", "email", "name", "role", "created_at", "updated_at"),
    "usage_events": ("id", "user_id", "event", "occurred_at", "updated_at"),
}


def mirror_to_postgres(world_dir: Path, url: str) -> dict[str, int]:
    """Upserts `product.sqlite` into Postgres; returns rows written per table."""
    import psycopg2
    from psycopg2.extras import execute_values

    from warehouse import Warehouse

    source = sqlite3.connect(Path(world_dir) / "product.sqlite")
    target = psycopg2.connect(**Warehouse.from_url(url).psycopg2_kwargs())
    written = {}
    try:
        with target, target.cursor() as cur:
            cur.execute(DDL)
            for table, columns in COLUMNS.items():
                rows = source.execute(f"select {', '.join(columns)} from {table} order by id").fetchall()
                updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
                changed = " or ".join(f"{table}.{c} is distinct from excluded.{c}" for c in columns[1:])
                execute_values(
                    cur,
                    f"insert into {SCHEMA}.{table} ({', '.join(columns)}) values %s "
                    f"on conflict (id) do update set {updates} where {changed}",
                    rows,
                    page_size=5_000,
                )
                written[table] = cur.rowcount
    finally:
        source.close()
        target.close()
    return written
