"""Sync state in the warehouse (schema `reverse_etl`): what each CRM has confirmed, each run,
and each record the CRM rejected.

Like Hightouch/Census, the diff is against what the destination *confirmed*, so a record that
failed is simply still different next time and gets retried. The state lives in the warehouse
rather than beside the orchestrator so that it moves with `LEADLOOP_WAREHOUSE_URL` and analysts
can query it next to the data it describes. The SQL is the subset DuckDB and Postgres share.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from warehouse import Warehouse

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

RUN_COUNTS = ("source_rows", "planned", "sent", "succeeded", "failed", "unchanged")
ROWS_PER_STATEMENT = 500  # state rows per multi-row upsert


def now() -> datetime:
    """Naive UTC: both warehouses store `timestamp` without zone, and mixing zones would skew run logs."""
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for statement in DDL:
            cur.execute(statement)


def confirmed_hashes(warehouse: Warehouse, sync_name: str) -> dict[str, str]:
    """One read of the whole state: the planner compares in memory instead of per record."""
    rows = warehouse.query(f"select record_key, payload_hash from {SCHEMA}.sync_state where sync_name = ?", [sync_name])
    return {str(key): str(digest) for key, digest in rows}


def rejected_keys(warehouse: Warehouse, sync_name: str) -> set[str]:
    rows = warehouse.query(f"select record_key from {SCHEMA}.sync_rejections where sync_name = ?", [sync_name])
    return {str(row[0]) for row in rows}


def record_batch(
    warehouse: Warehouse,
    sync_name: str,
    confirmed: Iterable[tuple[str, str, str]],
    rejected: Iterable[tuple[str, str]],
) -> None:
    """Stores one batch's outcome in a single transaction.

    `confirmed` holds (key, hash, payload json) the destination accepted: their state is upserted
    and their rejection cleared. `rejected` holds (key, error): the rejection is upserted with
    attempts + 1 and the state left alone, so the record stays different and is retried.
    """
    # Rows go in VALUES lists of up to ROWS_PER_STATEMENT: DuckDB runs an `executemany` upsert
    # row by row (some 3 ms a row, 3 s of a 1,000-record demo sync). A key listed twice would
    # have the upsert touch its row twice, which Postgres refuses: a key's last outcome is kept.
    confirmed_rows = list({key: (key, digest, payload) for key, digest, payload in confirmed}.values())
    rejected_rows = list({key: (key, error) for key, error in rejected}.values())
    if not confirmed_rows and not rejected_rows:
        return
    at = now()
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for chunk in _chunks(confirmed_rows):
            cur.execute(
                warehouse.adapt_sql(
                    f"insert into {SCHEMA}.sync_state (sync_name, record_key, payload_hash, payload, synced_at) "
                    f"values {_placeholders(len(chunk), 5)} on conflict (sync_name, record_key) do update set "
                    "payload_hash = excluded.payload_hash, payload = excluded.payload, synced_at = excluded.synced_at"
                ),
                [value for row in chunk for value in (sync_name, *row, at)],
            )
            cur.execute(
                warehouse.adapt_sql(
                    f"delete from {SCHEMA}.sync_rejections where sync_name = ? "
                    f"and record_key in ({', '.join('?' * len(chunk))})"
                ),
                [sync_name, *(key for key, _, _ in chunk)],
            )
        for chunk in _chunks(rejected_rows):
            cur.execute(
                warehouse.adapt_sql(
                    f"insert into {SCHEMA}.sync_rejections "
                    "(sync_name, record_key, error, attempts, first_failed_at, last_failed_at) "
                    f"values {_placeholders(len(chunk), 6)} on conflict (sync_name, record_key) do update set "
                    f"error = excluded.error, attempts = {SCHEMA}.sync_rejections.attempts + 1, "
                    "last_failed_at = excluded.last_failed_at"
                ),
                [value for key, error in chunk for value in (sync_name, key, error, 1, at, at)],
            )


def _chunks(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


def _placeholders(rows: int, columns: int) -> str:
    row = f"({', '.join('?' * columns)})"
    return ", ".join([row] * rows)


def start_run(warehouse: Warehouse, run_id: str, sync_name: str, started_at: datetime, dry_run: bool) -> None:
    """Logs the run before anything is sent, so a run that dies midway still shows up (as `running`).

    A retried Dagster step reuses its run id; the row then describes the latest attempt.
    """
    with warehouse.connect() as conn:
        conn.cursor().execute(
            warehouse.adapt_sql(
                f"insert into {SCHEMA}.sync_runs (run_id, sync_name, started_at, finished_at, dry_run, "
                f"{', '.join(RUN_COUNTS)}, status) values (?, ?, ?, null, ?, {', '.join('0' * len(RUN_COUNTS))}, "
                "'running') on conflict (run_id, sync_name) do update set started_at = excluded.started_at, "
                "finished_at = null, dry_run = excluded.dry_run, "
                + ", ".join(f"{c} = 0" for c in RUN_COUNTS)
                + ", status = 'running'"
            ),
            [run_id, sync_name, started_at, dry_run],
        )


def finish_run(warehouse: Warehouse, run_id: str, sync_name: str, status: str, counts: dict[str, Any]) -> None:
    with warehouse.connect() as conn:
        conn.cursor().execute(
            warehouse.adapt_sql(
                f"update {SCHEMA}.sync_runs set finished_at = ?, status = ?, "
                + ", ".join(f"{c} = ?" for c in RUN_COUNTS)
                + " where run_id = ? and sync_name = ?"
            ),
            [now(), status, *(int(counts.get(c, 0)) for c in RUN_COUNTS), run_id, sync_name],
        )
