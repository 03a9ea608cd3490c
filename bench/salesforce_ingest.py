"""Benchmark: Salesforce leads into bronze through dlt, full load then an incremental day.

Prints one JSON object: rows/s of the full load through Bulk API 2.0 (CSV → Arrow), the
incremental run after `--days 1` as a ratio of the full load's time, and peak RSS.

Usage: python bench/salesforce_ingest.py [--leads N] [--warehouse-url URL]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from ingestion.crm_clients import salesforce_client
from ingestion.pipelines import make_pipeline
from ingestion.salesforce import salesforce_source
from orchestration.warehouse import Warehouse
from sandbox.advance import advance_world
from sandbox.generator import generate_world
from sandbox.salesforce.server import SalesforceSandbox


def _load(warehouse: Warehouse, world: Path) -> tuple[int, float]:
    with SalesforceSandbox(world) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        pipeline = make_pipeline("salesforce", warehouse)
        started = time.perf_counter()
        pipeline.run(salesforce_source(client_factory=lambda: sf, bulk_poll_seconds=0)).raise_on_failed_jobs()
        seconds = time.perf_counter() - started
    return pipeline.last_trace.last_normalize_info.row_counts.get("lead", 0), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--warehouse-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        generate_world(world, leads=args.leads, seed=42)
        warehouse = Warehouse.from_url(args.warehouse_url or f"duckdb:///{tmp}/bench.duckdb")
        full_rows, full_s = _load(warehouse, world)
        changes = advance_world(world, days=1)
        incremental_rows, incremental_s = _load(warehouse, world)
    print(
        json.dumps(
            {
                "benchmark": "salesforce_ingest",
                "warehouse": warehouse.kind,
                "leads": args.leads,
                "full_rows": full_rows,
                "full_seconds": round(full_s, 2),
                "full_rows_per_s": round(full_rows / full_s),
                "incremental_rows": incremental_rows,
                "incremental_seconds": round(incremental_s, 2),
                "incremental_to_full_time_ratio": round(incremental_s / full_s, 3),
                "world_changes": changes,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
