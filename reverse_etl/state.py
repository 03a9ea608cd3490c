"""Sync state in the warehouse (schema `reverse_etl`): what each CRM has confirmed, each run,
and each record the CRM rejected.

Like Hightouch/Census, the diff is against what the destination *confirmed*, so a record that
failed is simply still different next time and gets retried. The state lives in the warehouse
rather than beside the orchestrator so that it moves with `LEADLOOP_WAREHOUSE_URL` and analysts
can query it next to the data it describes. The SQL is the subset DuckDB and Postgres share.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from warehouse import Warehouse

SCHEMA = "reverse_etl"

# Templates: `{schema}` is the warehouse's physical name of `reverse_etl` (a tenant's prefix).
DDL = (
    "create schema if not exists {schema}",
    """create table if not exists {schema}.sync_state (
        sync_name varchar not null, record_key varchar not null, payload_hash varchar not null,
        payload text not null, synced_at timestamp not null, primary key (sync_name, record_key))""",
    """create table if not exists {schema}.sync_runs (
        run_id varchar not null, sync_name varchar not null, started_at timestamp not null,
        finished_at timestamp, dry_run boolean not null, source_rows integer, planned integer, sent integer,
        succeeded integer, failed integer, unchanged integer, status varchar not null,
        primary key (run_id, sync_name))""",
    """create table if not exists {schema}.sync_rejections (
        sync_name varchar not null, record_key varchar not null, error text not null, attempts integer not null,
        first_failed_at timestamp not null, last_failed_at timestamp not null,
        primary key (sync_name, record_key))""",
)

# Columns added after the first release: `create table if not exists` leaves an existing table as
# it was, so they are added one by one (both warehouses know `add column if not exists`).
ADDED_COLUMNS = (
    "alter table {schema}.sync_runs add column if not exists skipped integer",
    "alter table {schema}.sync_runs add column if not exists in_doubt integer",
    "alter table {schema}.sync_runs add column if not exists note text",
    "alter table {schema}.sync_runs add column if not exists cleared integer",
    # CRM requests the run made (null: the destination does not count them, or a run before it did).
    "alter table {schema}.sync_runs add column if not exists api_calls integer",
)

RUN_COUNTS = ("source_rows", "planned", "sent", "succeeded", "failed", "unchanged", "skipped", "cleared", "api_calls")
ROWS_PER_STATEMENT = 500  # state rows per multi-row upsert


def now() -> datetime:
    """Naive UTC: both warehouses store `timestamp` without zone, and mixing zones would skew run logs."""
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for statement in (*DDL, *ADDED_COLUMNS):
            cur.execute(statement.format(schema=warehouse.schema(SCHEMA)))


def confirmed_hashes(warehouse: Warehouse, sync_name: str) -> dict[str, str]:
    """One read of the whole state: the planner compares in memory instead of per record."""
    schema = warehouse.schema(SCHEMA)
    rows = warehouse.query(f"select record_key, payload_hash from {schema}.sync_state where sync_name = ?", [sync_name])
    return {str(key): str(digest) for key, digest in rows}


def confirmed_payloads(warehouse: Warehouse, sync_name: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The last confirmed payload of a few records (for a plan's field-level diffs)."""
    schema = warehouse.schema(SCHEMA)
    if not keys:
        return {}
    rows = warehouse.query(
        f"select record_key, payload from {schema}.sync_state where sync_name = ? "
        f"and record_key in ({', '.join('?' * len(keys))})",
        [sync_name, *keys],
    )
    return {str(key): json.loads(payload) for key, payload in rows}


def confirmed_payloads_all(warehouse: Warehouse, sync_name: str) -> dict[str, dict[str, Any]]:
    """Every confirmed payload of a sync (for change thresholds, which compare values, not hashes)."""
    schema = warehouse.schema(SCHEMA)
    rows = warehouse.query(f"select record_key, payload from {schema}.sync_state where sync_name = ?", [sync_name])
    return {str(key): json.loads(payload) for key, payload in rows}


def rejected_keys(warehouse: Warehouse, sync_name: str) -> set[str]:
    schema = warehouse.schema(SCHEMA)
    rows = warehouse.query(f"select record_key from {schema}.sync_rejections where sync_name = ?", [sync_name])
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
    with warehouse.connect() as conn:
        write_outcomes(warehouse, conn.cursor(), sync_name, confirmed, rejected)


def write_outcomes(
    warehouse: Warehouse,
    cur: Any,
    sync_name: str,
    confirmed: Iterable[tuple[str, str, str]],
    rejected: Iterable[tuple[str, str]],
    cleared: Iterable[str] = (),
) -> None:
    """`record_batch` on a cursor the caller holds, inside the caller's transaction.

    `cleared` holds keys that left the source and whose fields the destination cleared (or that
    the destination no longer has): their state and rejection rows go."""
    schema = warehouse.schema(SCHEMA)
    # Rows go in VALUES lists of up to ROWS_PER_STATEMENT: DuckDB runs an `executemany` upsert
    # row by row (some 3 ms a row, 3 s of a 1,000-record demo sync). A key listed twice would
    # have the upsert touch its row twice, which Postgres refuses: a key's last outcome is kept.
    confirmed_rows = list({key: (key, digest, payload) for key, digest, payload in confirmed}.values())
    rejected_rows = list({key: (key, error) for key, error in rejected}.values())
    cleared_keys = sorted(set(cleared))
    for chunk in _chunks(cleared_keys):
        marks = ", ".join("?" * len(chunk))
        for table in ("sync_state", "sync_rejections"):
            cur.execute(
                warehouse.adapt_sql(f"delete from {schema}.{table} where sync_name = ? and record_key in ({marks})"),
                [sync_name, *chunk],
            )
    if not confirmed_rows and not rejected_rows:
        return
    at = now()
    if warehouse.is_duckdb and len(confirmed_rows) > ROWS_PER_STATEMENT:
        _upsert_confirmed_from_arrow(cur, warehouse.schema(SCHEMA), sync_name, confirmed_rows, at)
        confirmed_rows = []
    elif not warehouse.is_duckdb and len(confirmed_rows) > ROWS_PER_STATEMENT:
        _upsert_confirmed_by_copy(cur, warehouse.schema(SCHEMA), sync_name, confirmed_rows, at)
        confirmed_rows = []
    for chunk in _chunks(confirmed_rows):
        cur.execute(
            warehouse.adapt_sql(
                f"insert into {schema}.sync_state (sync_name, record_key, payload_hash, payload, synced_at) "
                f"values {_placeholders(len(chunk), 5)} on conflict (sync_name, record_key) do update set "
                "payload_hash = excluded.payload_hash, payload = excluded.payload, synced_at = excluded.synced_at"
            ),
            [value for row in chunk for value in (sync_name, *row, at)],
        )
        cur.execute(
            warehouse.adapt_sql(
                f"delete from {schema}.sync_rejections where sync_name = ? "
                f"and record_key in ({', '.join('?' * len(chunk))})"
            ),
            [sync_name, *(key for key, _, _ in chunk)],
        )
    for chunk in _chunks(rejected_rows):
        cur.execute(
            warehouse.adapt_sql(
                f"insert into {schema}.sync_rejections "
                "(sync_name, record_key, error, attempts, first_failed_at, last_failed_at) "
                f"values {_placeholders(len(chunk), 6)} on conflict (sync_name, record_key) do update set "
                f"error = excluded.error, attempts = {schema}.sync_rejections.attempts + 1, "
                "last_failed_at = excluded.last_failed_at"
            ),
            [value for key, error in chunk for value in (sync_name, key, error, 1, at, at)],
        )


def _upsert_confirmed_from_arrow(
    cur: Any, schema: str, sync_name: str, rows: list[tuple[str, str, str]], at: datetime
) -> None:
    """Many confirmations on DuckDB: one upsert from an Arrow table instead of a VALUES list per
    500 rows (12 s of an 88k-record sync went into those statements; this takes well under 1 s)."""
    import pyarrow as pa

    keys, hashes, payloads = (list(column) for column in zip(*rows, strict=True))
    cur.register("_confirmed", pa.table({"record_key": keys, "payload_hash": hashes, "payload": payloads}))
    try:
        cur.execute(
            f"insert into {schema}.sync_state (sync_name, record_key, payload_hash, payload, synced_at) "
            "select ?, record_key, payload_hash, payload, ? from _confirmed "
            "on conflict (sync_name, record_key) do update set payload_hash = excluded.payload_hash, "
            "payload = excluded.payload, synced_at = excluded.synced_at",
            [sync_name, at],
        )
        cur.execute(
            f"delete from {schema}.sync_rejections where sync_name = ? "
            "and record_key in (select record_key from _confirmed)",
            [sync_name],
        )
    finally:
        cur.unregister("_confirmed")


def _upsert_confirmed_by_copy(
    cur: Any, schema: str, sync_name: str, rows: list[tuple[str, str, str]], at: datetime
) -> None:
    """Many confirmations on Postgres: COPY into a temporary table, then one upsert from it."""
    import csv
    import io

    cur.execute(
        "create temporary table if not exists _confirmed (record_key text, payload_hash text, payload text) "
        "on commit delete rows"
    )
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    cur.copy_expert("copy _confirmed from stdin with (format csv)", buffer)
    cur.execute(
        f"insert into {schema}.sync_state (sync_name, record_key, payload_hash, payload, synced_at) "
        "select %s, record_key, payload_hash, payload, %s from _confirmed "
        "on conflict (sync_name, record_key) do update set payload_hash = excluded.payload_hash, "
        "payload = excluded.payload, synced_at = excluded.synced_at",
        [sync_name, at],
    )
    cur.execute(
        f"delete from {schema}.sync_rejections where sync_name = %s "
        "and record_key in (select record_key from _confirmed)",
        [sync_name],
    )
    cur.execute("delete from _confirmed")  # the same transaction may write another window


def _chunks(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


def _placeholders(rows: int, columns: int) -> str:
    row = f"({', '.join('?' * columns)})"
    return ", ".join([row] * rows)


def start_run(warehouse: Warehouse, run_id: str, sync_name: str, started_at: datetime, dry_run: bool) -> int:
    """Logs the run before anything is sent, so a run that dies midway still shows up (as `running`),
    and closes earlier runs of this sync that died that way. Returns how many it closed.

    A retried Dagster step reuses its run id; the row then describes the latest attempt.
    """
    schema = warehouse.schema(SCHEMA)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        abandoned = close_abandoned(warehouse, cur, sync_name, run_id)
        cur.execute(
            warehouse.adapt_sql(
                f"insert into {schema}.sync_runs (run_id, sync_name, started_at, finished_at, dry_run, "
                f"{', '.join(RUN_COUNTS)}, status) values (?, ?, ?, null, ?, {', '.join('0' * len(RUN_COUNTS))}, "
                "'running') on conflict (run_id, sync_name) do update set started_at = excluded.started_at, "
                "finished_at = null, dry_run = excluded.dry_run, "
                + ", ".join(f"{c} = 0" for c in RUN_COUNTS)
                + ", in_doubt = null, note = null, status = 'running'"
            ),
            [run_id, sync_name, started_at, dry_run],
        )
    return abandoned


def close_abandoned(warehouse: Warehouse, cur: Any, sync_name: str, run_id: str) -> int:
    """Marks this sync's other `running` runs `abandoned`: one sync runs at a time (its Dagster
    asset is one step), so a run still `running` when the next starts was killed.

    What was in doubt is the planned records whose outcome it never wrote: they may or may not
    have reached the CRM. The planner sends them again (updates by key are harmless to repeat);
    the count is kept so an operator can see what the killed run left open.
    """
    schema = warehouse.schema(SCHEMA)
    cur.execute(
        warehouse.adapt_sql(
            f"update {schema}.sync_runs set status = 'abandoned', finished_at = ?, "
            "in_doubt = greatest(coalesce(planned, 0) - coalesce(succeeded, 0) - coalesce(failed, 0)"
            " - coalesce(skipped, 0), 0), "
            "note = 'no outcome recorded for in_doubt planned record(s); the next run plans them again' "
            "where sync_name = ? and run_id <> ? and status = 'running'"
        ),
        [now(), sync_name, run_id],
    )
    return max(cur.rowcount or 0, 0)


def write_progress(warehouse: Warehouse, cur: Any, run_id: str, sync_name: str, counts: dict[str, Any]) -> None:
    """The run's counts so far, in the same transaction as the outcomes they count."""
    schema = warehouse.schema(SCHEMA)
    cur.execute(
        warehouse.adapt_sql(
            f"update {schema}.sync_runs set "
            + ", ".join(f"{c} = ?" for c in RUN_COUNTS)
            + " where run_id = ? and sync_name = ?"
        ),
        [*(_count(counts, c) for c in RUN_COUNTS), run_id, sync_name],
    )


def _count(counts: dict[str, Any], column: str) -> int | None:
    """A run count as stored; `api_calls` may be unknown (null) where the others start at 0."""
    value = counts.get(column, None if column == "api_calls" else 0)
    return None if value is None else int(value)


def finish_run(warehouse: Warehouse, run_id: str, sync_name: str, status: str, counts: dict[str, Any]) -> None:
    with warehouse.connect() as conn:
        write_finish(warehouse, conn.cursor(), run_id, sync_name, status, counts)


def write_finish(
    warehouse: Warehouse, cur: Any, run_id: str, sync_name: str, status: str, counts: dict[str, Any]
) -> None:
    schema = warehouse.schema(SCHEMA)
    cur.execute(
        warehouse.adapt_sql(
            f"update {schema}.sync_runs set finished_at = ?, status = ?, "
            + ", ".join(f"{c} = ?" for c in RUN_COUNTS)
            + " where run_id = ? and sync_name = ?"
        ),
        [now(), status, *(_count(counts, c) for c in RUN_COUNTS), run_id, sync_name],
    )


class StateWriter:
    """The run's outcomes, buffered and written on one connection in a few transactions.

    Opening a warehouse connection per 200-record batch cost 70 % of a 100k sync (DuckDB
    checkpoints on close). Here one connection lives for the run; outcomes are committed when
    `flush_rows` have piled up or `flush_seconds` have passed, and at the end. A crash loses at
    most one window of confirmations, and those records are re-sent next run: updates keyed by
    Id are harmless to repeat, which is what makes the window safe.
    """

    def __init__(
        self,
        warehouse: Warehouse,
        run_id: str,
        sync_name: str,
        *,
        flush_rows: int = 5_000,
        flush_seconds: float = 2.0,
    ) -> None:
        self.warehouse, self.run_id, self.sync_name = warehouse, run_id, sync_name
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.confirmed: list[tuple[str, str, str]] = []
        self.rejected: list[tuple[str, str]] = []
        self.cleared: list[str] = []
        self.transactions = 0
        self._stack = ExitStack()
        self._conn: Any = None
        self._cur: Any = None
        self._last_flush = time.monotonic()

    def __enter__(self) -> StateWriter:
        self._conn = self._stack.enter_context(self.warehouse.connect())
        # One cursor for the run: a DuckDB cursor is a connection of its own, so its transaction
        # must be begun and committed on it, not on the connection it came from.
        self._cur = self._conn.cursor()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def add(
        self,
        confirmed: Iterable[tuple[str, str, str]],
        rejected: Iterable[tuple[str, str]],
        counts: dict[str, Any],
        cleared: Iterable[str] = (),
    ) -> None:
        self.confirmed.extend(confirmed)
        self.rejected.extend(rejected)
        self.cleared.extend(cleared)
        pending = len(self.confirmed) + len(self.rejected) + len(self.cleared)
        if pending >= self.flush_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush(counts)

    def flush(self, counts: dict[str, Any], status: str | None = None) -> None:
        """Writes what is buffered and the run's counts (and, given a status, closes the run)."""
        cur = self._cur
        if self.warehouse.is_duckdb:
            cur.execute("begin transaction")  # DuckDB autocommits each statement otherwise
        write_outcomes(self.warehouse, cur, self.sync_name, self.confirmed, self.rejected, self.cleared)
        if status is None:
            write_progress(self.warehouse, cur, self.run_id, self.sync_name, counts)
        else:
            write_finish(self.warehouse, cur, self.run_id, self.sync_name, status, counts)
        if self.warehouse.is_duckdb:
            cur.execute("commit")
        else:
            self._conn.commit()
        self.transactions += 1
        self.confirmed, self.rejected, self.cleared = [], [], []
        self._last_flush = time.monotonic()
