"""Benchmark: every Salesforce object into bronze through dlt, full load then an incremental day.

Prints one JSON object: rows/s of the full load (large objects through Bulk API 2.0, CSV →
Arrow), rows per object, the incremental run after `--days 1` as a ratio of the full load's
time, and the client's peak RSS.

The sandbox runs in a process of its own, as a real org would be on another machine: in the
client's process its request handling would compete with the pipeline for the GIL and be
measured as the pipeline's cost.

Usage: python bench/salesforce_ingest.py [--leads N] [--warehouse-url URL]
       python bench/salesforce_ingest.py --world DIR  # a copy of an already generated world
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from harness import advance_one_day, peak_rss_mb, sandbox_process, timed_load, world_for_run, world_leads

from ingestion.crm_clients import salesforce_client
from ingestion.salesforce import salesforce_source
from warehouse import Warehouse


def _load(warehouse: Warehouse, world: Path) -> tuple[dict[str, int], float]:
    with sandbox_process("salesforce", world) as org:
        sf = salesforce_client(org["instance_url"], org["token"], Path(org["ca_path"]))
        return timed_load(warehouse, "salesforce", salesforce_source(client_factory=lambda: sf, bulk_poll_seconds=0))


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
        incremental, incremental_s = _load(warehouse, world)
    full_rows, incremental_rows = sum(full.values()), sum(incremental.values())
    print(
        json.dumps(
            {
                "benchmark": "salesforce_ingest",
                "warehouse": warehouse.kind,
                "leads": leads,
                "full_rows": full_rows,
                "full_rows_by_object": full,
                "full_seconds": round(full_s, 2),
                "full_rows_per_s": round(full_rows / full_s),
                "incremental_rows": incremental_rows,
                "incremental_rows_by_object": incremental,
                "incremental_seconds": round(incremental_s, 2),
                "incremental_to_full_time_ratio": round(incremental_s / full_s, 3),
                "world_changes": changes,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
