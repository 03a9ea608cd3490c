"""Benchmark: HubSpot contacts, companies, deals and owners into bronze through dlt, full load
then an incremental day (search by `lastmodifieddate`, associations in batches).

Prints one JSON object: rows/s of the full load, rows per table, the incremental run's time as
a ratio of the full load's, and the client's peak RSS. The sandbox runs in its own process with
its rate limits lifted: the benchmark measures the pipeline, not HubSpot's published budget
(190 requests / 10 s would cap any client near 1,900 records/s). Beside the ratio, the
incremental's search requests and the seconds search's published 5 requests/s alone would
take for them, since that limit, not the pipeline, bounds an incremental run against a portal.

Usage: python bench/hubspot_ingest.py [--leads N] [--warehouse-url URL]
       python bench/hubspot_ingest.py --world DIR  # a copy of an already generated world
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from pathlib import Path

from harness import advance_one_day, peak_rss_mb, sandbox_process, timed_load, world_for_run, world_leads

from ingestion.crm_clients import hubspot_client
from ingestion.hubspot import hubspot_source
from warehouse import Warehouse


def _load(warehouse: Warehouse, world: Path) -> tuple[dict[str, int], float]:
    with sandbox_process("hubspot", world) as portal:
        client = hubspot_client(portal["url"], portal["token"])
        return timed_load(warehouse, "hubspot", hubspot_source(client_factory=lambda: client))


SEARCH_REQUESTS_PER_SECOND = 5  # HubSpot's published limit on the search endpoints


def _search_requests(world: Path) -> int:
    """Search requests the portal has logged so far."""
    conn = sqlite3.connect(world / "hubspot.sqlite")
    try:
        query = "select count(*) from api_requests where method = 'POST' and path like '%/search'"
        return int(conn.execute(query).fetchone()[0])
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--warehouse-url", default=None)
    parser.add_argument("--world", type=Path, default=None, help="start from a copy of this world instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = world_for_run(Path(tmp), args.leads, args.world)
        leads = world_leads(world)
        warehouse = Warehouse.from_url(args.warehouse_url or f"duckdb:///{tmp}/bench.duckdb")
        full, full_s = _load(warehouse, world)
        changes = advance_one_day(world)
        searches_before = _search_requests(world)
        incremental, incremental_s = _load(warehouse, world)
        searches = _search_requests(world) - searches_before
    full_rows, incremental_rows = sum(full.values()), sum(incremental.values())
    print(
        json.dumps(
            {
                "benchmark": "hubspot_ingest",
                "warehouse": warehouse.kind,
                "leads": leads,
                "full_rows": full_rows,
                "full_rows_by_table": full,
                "full_seconds": round(full_s, 2),
                "full_rows_per_s": round(full_rows / full_s),
                "incremental_rows": incremental_rows,
                "incremental_rows_by_table": incremental,
                "incremental_seconds": round(incremental_s, 2),
                "incremental_to_full_time_ratio": round(incremental_s / full_s, 3),
                "incremental_search_requests": searches,
                "incremental_search_limit_floor_seconds": round(searches / SEARCH_REQUESTS_PER_SECOND, 1),
                "world_changes": changes,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
