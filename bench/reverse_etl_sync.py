"""Benchmark: gold lead scores → Salesforce, the sync alone, at 10k and 100k leads.

Prints one JSON object per size: the initial sync's API calls, seconds and records/s (Bulk API
2.0 at 2,000 records or more), a re-run with nothing changed (calls: 0 expected), a run with 1 %
changed (calls proportional to the change), converted leads skipped, the warehouse commits
the run's state took, the bronze Lead rows the next load re-reads after the sync (0 expected: no
echo), and at 10k a sync through 429 bursts (nothing missing after one run expected). Calls are
counted in the sandbox's own request log, so they are what reached the org, the preflight's
describe included.

The sandbox runs in a process of its own, as a real org would be on another machine.

Usage: python bench/reverse_etl_sync.py [--sizes 10000,100000] [--warehouse-url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import peak_rss_mb, sandbox_process, world_for_run

from ingestion.crm_clients import salesforce_client
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import load_spec
from warehouse import Warehouse

SPEC = load_spec("lead_scores_to_salesforce")


def _leads(world: Path) -> list[tuple[str, bool]]:
    with sqlite3.connect(world / "salesforce.sqlite") as conn:
        rows = conn.execute('select "Id", "IsConverted" from "Lead" where "IsDeleted" = 0 order by "Id"').fetchall()
    return [(str(i), bool(c)) for i, c in rows]


def _calls_since(world: Path, mark: int) -> int:
    with sqlite3.connect(world / "salesforce.sqlite") as conn:
        return int(conn.execute("select count(*) from api_requests where id > ?", [mark]).fetchone()[0])


def _mark(world: Path) -> int:
    with sqlite3.connect(world / "salesforce.sqlite") as conn:
        return int(conn.execute("select coalesce(max(id), 0) from api_requests").fetchone()[0])


def _write_gold(warehouse: Warehouse, leads: list[tuple[str, bool]], scores: dict[str, int]) -> None:
    """gold.salesforce_lead_scores (what the lead sync reads) and the is_converted flag the skip
    rule reads, as dbt would leave them."""
    import pyarrow as pa

    ids = [lead_id for lead_id, _ in leads]
    warehouse.replace_table(
        "gold",
        "salesforce_lead_scores",
        pa.table(
            {
                "lead_id": ids,
                "score": [scores[i] for i in ids],
                "grade": ["ABCD"[min(3, (100 - scores[i]) // 25)] for i in ids],
                "reasons": [f"Title seniority; company size ({scores[i]})" for i in ids],
                "rules_matched": [2] * len(ids),
            }
        ),
    )
    warehouse.replace_table(
        "silver",
        "stg_salesforce__leads",
        pa.table({"lead_id": ids, "is_converted": [converted for _, converted in leads]}),
    )


def _timed(world: Path, warehouse: Warehouse, destination: SalesforceDestination) -> dict[str, Any]:
    mark = _mark(world)
    started = time.perf_counter()
    result = run_sync(SPEC, warehouse, destination)
    seconds = time.perf_counter() - started
    return {
        "calls": _calls_since(world, mark),
        "seconds": round(seconds, 2),
        "sent": result.sent,
        "confirmed": result.succeeded,
        "rejected": result.failed,
        "skipped_converted": result.skipped_reasons.get("converted_lead", 0),
        "records_per_s": round(result.succeeded / seconds) if result.succeeded else 0,
        "state_commits": result.state_transactions,
    }


def _load_leads(warehouse: Warehouse, sf: Any) -> int:
    """Bronze Lead rows one load writes, leaving out the integration user's own writes."""
    from ingestion.pipelines import load_pipeline
    from ingestion.salesforce import salesforce_source

    with load_pipeline("salesforce", warehouse) as pipeline:
        source = salesforce_source(
            client_factory=lambda: sf, objects=("Lead",), bulk_poll_seconds=0, skip_own_writes=("Lead",)
        )
        pipeline.run(source).raise_on_failed_jobs()
        return int(pipeline.last_trace.last_normalize_info.row_counts.get("lead", 0))


def _under_429_bursts(world: Path, warehouse_url: str | None, tmp: str) -> dict[str, Any]:
    """The issue's bad day: 429 bursts (every 10th call starts 3, Retry-After 1 s) on the
    collections path. The sandbox runs in this process here: only correctness is measured."""
    from sandbox.faults import Faults
    from sandbox.salesforce.server import SalesforceSandbox

    warehouse = Warehouse.from_url(warehouse_url or f"duckdb:///{tmp}/bursts.duckdb")
    leads = _leads(world)[:2_000]
    _write_gold(warehouse, leads, dict.fromkeys((lead_id for lead_id, _ in leads), 42))
    faults = Faults(throttle_every=10, throttle_burst=3, retry_after=1)
    with SalesforceSandbox(world, faults=faults, daily_api_limit=10**9) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        mark = sandbox.last_request_id()
        started = time.perf_counter()
        result = run_sync(SPEC, warehouse, SalesforceDestination(sf, bulk_threshold=10**9))
        seconds = time.perf_counter() - started
        statuses = [r["status"] for r in sandbox.request_log(mark)]
    return {
        "records": result.planned,
        "throttled_calls": statuses.count(429),
        "calls": len(statuses),
        "confirmed_after_one_run": result.succeeded,
        "missing_after_one_run": result.planned - result.succeeded,
        "seconds": round(seconds, 2),
    }


def _hubspot(world: Path, warehouse: Warehouse) -> dict[str, Any]:
    """Every HubSpot contact gets a score through the HubSpot destination (batch update, 100 a
    call); calls counted in the HubSpot sandbox's log. The portal's rate limit is lifted (as in
    the ingest benchmark), so the figure is the destination's own speed."""
    import pyarrow as pa
    from hubspot import HubSpot

    from reverse_etl.destinations.hubspot import HubSpotDestination

    with sqlite3.connect(world / "hubspot.sqlite") as conn:
        ids = [
            str(i) for (i,) in conn.execute("select id from objects where object_type = 'contacts' and archived = 0")
        ]
        mark = int(conn.execute("select coalesce(max(id), 0) from api_requests").fetchone()[0])
    warehouse.replace_table(
        "gold",
        "hubspot_contact_scores",
        pa.table(
            {
                "contact_id": ids,
                "score": [int(i) % 101 for i in ids],
                "grade": ["ABCD"[int(i) % 4] for i in ids],
                "reasons": [f"Visited pricing: +{int(i) % 20}" for i in ids],
            }
        ),
    )
    spec = load_spec("contact_scores_to_hubspot")
    with sandbox_process("hubspot", world) as portal:
        client = HubSpot(access_token=portal["token"], host=portal["url"])
        destination = HubSpotDestination(client)  # the spec opts in to creating its properties
        started = time.perf_counter()
        result = run_sync(spec, warehouse, destination)
        seconds = time.perf_counter() - started
        rerun = run_sync(spec, warehouse, destination)
    with sqlite3.connect(world / "hubspot.sqlite") as conn:
        updates = conn.execute(
            "select count(*) from api_requests where id > ? and path like '%/batch/update'", [mark]
        ).fetchone()[0]
    return {
        "contacts": len(ids),
        "batch_update_calls": int(updates),
        "expected_calls": -(-len(ids) // 100),
        "confirmed": result.succeeded,
        "seconds": round(seconds, 2),
        "records_per_s": round(result.succeeded / seconds) if seconds else 0,
        "rerun_sent": rerun.sent,
    }


def bench(size: int, warehouse_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        world = world_for_run(Path(tmp), size, None)
        warehouse = Warehouse.from_url(warehouse_url or f"duckdb:///{tmp}/bench.duckdb")
        leads = _leads(world)
        rng = random.Random(size)
        scores = {lead_id: rng.randint(0, 100) for lead_id, _ in leads}
        _write_gold(warehouse, leads, scores)
        with sandbox_process("salesforce", world) as org:
            sf = salesforce_client(org["instance_url"], org["token"], Path(org["ca_path"]))
            destination = SalesforceDestination(sf, bulk_poll_wait=0)
            _load_leads(warehouse, sf)  # bronze before the sync, as a scheduled run would have it
            initial = _timed(world, warehouse, destination)
            reloaded_after_sync = _load_leads(warehouse, sf)
            rerun = _timed(world, warehouse, destination)
            changed = rng.sample(
                [lead_id for lead_id, converted in leads if not converted], k=max(1, len(leads) // 100)
            )
            for lead_id in changed:
                scores[lead_id] = (scores[lead_id] + 7) % 101
            _write_gold(warehouse, leads, scores)
            one_percent = _timed(world, warehouse, destination)
        bursts = _under_429_bursts(world, warehouse_url, tmp) if size <= 10_000 else None
        hubspot = _hubspot(world, warehouse)
    return {
        "benchmark": "reverse_etl_sync",
        "warehouse": warehouse.kind,
        "leads": len(leads),
        "initial": initial,
        "rerun_unchanged": rerun,
        "one_percent_changed": {**one_percent, "changed": len(changed)},
        "bronze_lead_rows_reloaded_after_sync": reloaded_after_sync,
        **({"under_429_bursts": bursts} if bursts else {}),
        "hubspot": hubspot,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--warehouse-url", default=None)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps(bench(size, args.warehouse_url)), flush=True)


if __name__ == "__main__":
    main()
