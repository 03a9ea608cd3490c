"""Sync state in the warehouse (schema `reverse_etl`): what each CRM has confirmed, each run,
and each record the CRM rejected.

Like Hightouch/Census, the diff is against what the destination *confirmed*, so a record that
failed is simply still different next time and gets retried.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from orchestration.warehouse import Warehouse

SCHEMA = "reverse_etl"

DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.sync_state (
        sync_name varchar not null, record_key varchar not null, payload_hash varchar not null,
        payload text not null, synced_at timestamp not null, primary key (sync_name, record_key))""",
    f"""create table if not exists {SCHEMA}.sync_runs (
        run_id varchar not null, sync_name varchar not null, started_at timestamp not null,
        finished_at timestamp, dry_run boolean not null, source_rows integer, planned integer, sent integer,
        succeeded integer, failed integer, unchanged integer, status varchar not null,
        primary key (run_id, sync_name))""",
    f"""create table if not exists {SCHEMA}.sync_rejections (
        sync_name varchar not null, record_key varchar not null, error text not null, attempts integer not null,
        first_failed_at timestamp not null, last_failed_at timestamp not null,
        primary key (sync_name, record_key))""",
)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for statement in DDL:
            cur.execute(statement)


def confirmed_hashes(warehouse: Warehouse, sync_name: str) -> dict[str, str]:
    rows = warehouse.query(f"select record_key, payload_hash from {SCHEMA}.sync_state where sync_name = ?", [sync_name])
    return dict(rows)


def rejected_keys(warehouse: Warehouse, sync_name: str) -> set[str]:
    rows = warehouse.query(f"select record_key from {SCHEMA}.sync_rejections where sync_name = ?", [sync_name])
    return {row[0] for row in rows}


def record_confirmed(warehouse: Warehouse, sync_name: str, confirmed: Iterable[tuple[str, str, str]]) -> None:
    """Upserts (key, hash, payload json) for records the destination confirmed; clears their rejections."""
    rows = list(confirmed)
    if not rows:
        return
    at = now()
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.executemany(
            warehouse.adapt_sql(
                f"insert into {SCHEMA}.sync_state (sync_name, record_key, payload_hash, payload, synced_at) "
                "values (?, ?, ?, ?, ?) on conflict (sync_name, record_key) do update set "
                "payload_hash = excluded.payload_hash, payload = excluded.payload, synced_at = excluded.synced_at"
            ),
            [(sync_name, key, digest, payload, at) for key, digest, payload in rows],
        )
        cur.executemany(
            warehouse.adapt_sql(f"delete from {SCHEMA}.sync_rejections where sync_name = ? and record_key = ?"),
            [(sync_name, key) for key, _, _ in rows],
        )


def record_rejected(warehouse: Warehouse, sync_name: str, rejected: Iterable[tuple[str, str]]) -> None:
    rows = list(rejected)
    if not rows:
        return
    at = now()
    with warehouse.connect() as conn:
        conn.cursor().executemany(
            warehouse.adapt_sql(
                f"insert into {SCHEMA}.sync_rejections "
                "(sync_name, record_key, error, attempts, first_failed_at, last_failed_at) values (?, ?, ?, 1, ?, ?) "
                "on conflict (sync_name, record_key) do update set error = excluded.error, "
                f"attempts = {SCHEMA}.sync_rejections.attempts + 1, last_failed_at = excluded.last_failed_at"
            ),
            [(sync_name, key, error, at, at) for key, error in rows],
        )


def record_run(warehouse: Warehouse, run: dict[str, Any]) -> None:
    columns = list(run)
    with warehouse.connect() as conn:
        conn.cursor().execute(
            warehouse.adapt_sql(
                f"insert into {SCHEMA}.sync_runs ({', '.join(columns)}) values ({', '.join('?' * len(columns))})"
            ),
            [run[c] for c in columns],
        )
