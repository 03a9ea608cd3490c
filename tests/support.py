"""What tests share: throwaway Postgres databases and data writers (imported as `tests.support`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from warehouse import Warehouse

PG_ADMIN_URL = os.environ.get("LEADLOOP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin():
    import psycopg2

    admin = Warehouse.from_url(PG_ADMIN_URL)
    conn = psycopg2.connect(**admin.psycopg2_kwargs(connect_timeout=3))
    conn.autocommit = True
    return admin, conn


@contextmanager
def postgres_database(prefix: str = "leadloop_test") -> Iterator[Warehouse]:
    """A new, empty Postgres database for as long as the block runs, then dropped (with any
    connection still open to it)."""
    import psycopg2

    try:
        admin, conn = _pg_admin()
    except psycopg2.OperationalError as exc:
        if os.environ.get("LEADLOOP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Postgres required (LEADLOOP_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"no Postgres server at {PG_ADMIN_URL}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f'create database "{name}"')
    auth = admin.user + (f":{admin.password}" if admin.password else "")
    try:
        yield Warehouse.from_url(f"postgresql://{auth}@{admin.host}:{admin.port}/{name}")
    finally:
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        conn.close()


def copy_postgres_database(template: Warehouse, target: Warehouse) -> None:
    """Makes `target` (an existing database) a copy of `template`, through Postgres' own
    template copy: milliseconds, where rebuilding the data took a whole loop."""
    _, conn = _pg_admin()
    try:
        with conn.cursor() as cur:
            # A template must have no other session; ours are closed, a pool's may linger.
            cur.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                [template.database],
            )
            cur.execute(f'drop database "{target.database}" with (force)')
            cur.execute(f'create database "{target.database}" template "{template.database}"')
    finally:
        conn.close()


# The browser tests' Chromium: Debian's (.ci/run installs it), headless, kept off the network
# (this machine's closed network refuses Chromium's background connections).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

LeadScoreRow = tuple[Any, ...]  # (lead_id, score, grade, reasons, rules_matched)


def write_lead_scores(warehouse: Warehouse, rows: list[LeadScoreRow]) -> None:
    """Replaces gold.salesforce_lead_scores (what the lead sync reads) with `rows`, in the mart's
    synced columns."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.salesforce_lead_scores")
        cur.execute(
            "create table gold.salesforce_lead_scores (lead_id varchar, score integer, grade varchar, reasons varchar, "
            "rules_matched integer)"
        )
        if rows:
            cur.executemany(warehouse.adapt_sql("insert into gold.salesforce_lead_scores values (?, ?, ?, ?, ?)"), rows)
