"""The product database into bronze with dlt's sql_database: full, incremental on updated_at,
re-run no-op; from the SQLite file by default and from a Postgres schema when configured."""

from __future__ import annotations

import sqlite3

from ingestion.pipelines import make_pipeline
from ingestion.product_db import TABLES, product_db_source, product_db_url


def _load(warehouse, url: str) -> dict[str, int]:
    pipeline = make_pipeline("product", warehouse)
    pipeline.run(product_db_source(url)).raise_on_failed_jobs()
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: counts.get(table, 0) for table in TABLES}


def _source_counts(world_dir, where: str = "", params=()) -> dict[str, int]:
    conn = sqlite3.connect(world_dir / "product.sqlite")
    try:
        return {t: conn.execute(f"select count(*) from {t} {where}", params).fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def _newest(world_dir) -> dict[str, str]:
    conn = sqlite3.connect(world_dir / "product.sqlite")
    try:
        return {t: conn.execute(f"select max(updated_at) from {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def test_full_incremental_and_noop_from_sqlite(warehouse, world_dir, monkeypatch):
    from sandbox.advance import advance_world

    monkeypatch.delenv("LEADLOOP_PRODUCT_DB_URL", raising=False)
    url = product_db_url(world_dir)
    assert url.startswith("sqlite:///") and url.endswith("product.sqlite")
    assert _load(warehouse, url) == _source_counts(world_dir)
    assert _load(warehouse, url) == dict.fromkeys(TABLES, 0)

    before = _newest(world_dir)
    advance_world(world_dir, days=1)
    conn = sqlite3.connect(world_dir / "product.sqlite")
    changed = {
        t: conn.execute(f"select count(*) from {t} where updated_at > ?", [before[t]]).fetchone()[0] for t in TABLES
    }
    conn.close()
    assert sum(changed.values()) > 0
    assert _load(warehouse, url) == changed
    for table in TABLES:
        assert warehouse.query(f"select count(*) from bronze_product.{table}") == [(_source_counts(world_dir)[table],)]


def test_reads_the_product_schema_of_a_configured_postgres(warehouse, postgres_warehouse, world_dir, monkeypatch):
    from sandbox.advance import advance_world
    from sandbox.product_db_postgres import mirror_to_postgres

    url = postgres_warehouse.url
    monkeypatch.setenv("LEADLOOP_PRODUCT_DB_URL", url)
    assert product_db_url(world_dir) == url
    written = mirror_to_postgres(world_dir, url)
    assert written == _source_counts(world_dir)
    assert mirror_to_postgres(world_dir, url) == dict.fromkeys(TABLES, 0)  # unchanged rows are not rewritten
    assert _load(warehouse, url) == _source_counts(world_dir)

    advance_world(world_dir, days=1)  # the day's changes reach Postgres too
    assert postgres_warehouse.query("select count(*) from product.users") == [(_source_counts(world_dir)["users"],)]
    assert sum(_load(warehouse, url).values()) > 0
    assert _load(warehouse, url) == dict.fromkeys(TABLES, 0)
