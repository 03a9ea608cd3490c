"""Benchmark: the file sources (partner drops, web events) and the product database into bronze.

Daily volumes do not grow with the CRM (partners mail, and the web tracker sees, a capped
population), so the world is advanced `--days` days first to give the loaders a real backlog:
the first run loads all of it, then one more day is loaded incrementally, then the same world
once more (nothing new: the fixed cost of a run). The default backlog of 99 days makes the one
new day about 1% of the files, the change the incremental target is set for. Prints one JSON
object with rows/s per source for the backlog, the incremental day's time as a ratio of it, the
no-op run's seconds, and the client's peak RSS. Beside them, dlt's floor: the seconds of a run
that merges one row, which no incremental run can beat, and its ratio to each full load.

Usage: python bench/files_and_product_ingest.py [--leads N] [--days D] [--warehouse-url URL]
       python bench/files_and_product_ingest.py --world DIR  # a copy of an already advanced world
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from harness import advance, dlt_run_floor_seconds, peak_rss_mb, timed_load, warm_up, world_for_run

from ingestion.partner_files import partner_files_source
from ingestion.product_db import product_db_source, product_db_url
from ingestion.web_events import web_events_source
from warehouse import Warehouse


def _sources(world: Path) -> dict[str, object]:
    return {
        "partners": lambda: partner_files_source(str(world / "partners")),
        "web_events": lambda: web_events_source(str(world / "landing")),
        "product": lambda: product_db_source(product_db_url(world)),
    }


def _load(warehouse: Warehouse, name: str, make_source) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    counts, seconds = timed_load(warehouse, name, make_source())
    return sum(counts.values()), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=99)
    parser.add_argument("--warehouse-url", default=None)
    parser.add_argument("--world", type=Path, default=None, help="start from a copy of this world instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = world_for_run(Path(tmp), args.leads, args.world)
        if not args.world:
            advance(world, args.days)
        facts = json.loads((world / "world.json").read_text())
        out: dict[str, object] = {
            "benchmark": "files_and_product_ingest",
            "leads": facts["leads"],
            "days": facts["day"],
        }
        warehouse = Warehouse.from_url(args.warehouse_url or f"duckdb:///{tmp}/bench.duckdb")
        warm_up(warehouse)
        floor = dlt_run_floor_seconds(warehouse)
        full = {name: _load(warehouse, name, make) for name, make in _sources(world).items()}
        advance(world, 1)
        incremental = {name: _load(warehouse, name, make) for name, make in _sources(world).items()}
        noop = {name: _load(warehouse, name, make) for name, make in _sources(world).items()}
    out["warehouse"] = warehouse.kind
    out["dlt_run_floor_seconds"] = round(floor, 3)
    for name in full:
        rows, seconds = full[name]
        day_rows, day_seconds = incremental[name]
        out[name] = {
            "full_rows": rows,
            "full_seconds": round(seconds, 2),
            "full_rows_per_s": round(rows / seconds),
            "incremental_rows": day_rows,
            "incremental_seconds": round(day_seconds, 2),
            "incremental_to_full_time_ratio": round(day_seconds / seconds, 3),
            "floor_to_full_time_ratio": round(floor / seconds, 3),
            "noop_rows": noop[name][0],
            "noop_seconds": round(noop[name][1], 2),
        }
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
