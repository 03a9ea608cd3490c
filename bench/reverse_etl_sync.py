"""Benchmark: gold lead scores → Salesforce, the sync alone, at 10k and 100k leads.

Prints one JSON object per size: the initial sync's API calls, seconds and records/s (Bulk API
2.0 at 2,000 records or more), a re-run with nothing changed (calls: 0 expected), a run with 1 %
changed (calls proportional to the change), converted leads skipped, the warehouse commits
the run's state took, the bronze Lead rows the next load re-reads after the sync (0 expected: no
echo), and at 10k a sync through 429 bursts (nothing missing after one run expected). Calls are
counted in the sandbox's own request log, so they are what reached the org, the preflight's
describe included.

The sandbox runs in a process of its own, as a real org would be on another machine.

HubSpot is measured twice over every live contact: batch update by record id (the shipped spec)
and batch upsert by email (`id_property: email`, `create_when`), with 1 % people the portal
lacks, created by the upsert. Each run reports `api_calls` as the executor recorded it in
`reverse_etl.sync_runs`, and calls per 10,000 records changed.

Above `--inflate-above` leads (default 200,000) the world is not generated lead by lead (a
1M-lead world takes the better part of an hour): a world of `--base-leads` is generated and its
Lead rows and HubSpot contacts are cloned under new ids and emails up to the size. The sync
reads only those two tables, so the figures are the sync's; the rest of the world stays small.

Usage: python bench/reverse_etl_sync.py [--sizes 10000,100000] [--warehouse-url URL]
       [--only salesforce|hubspot] [--inflate-above N] [--base-leads N]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import generate, peak_rss_mb, sandbox_process, world_for_run

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


def _step(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Each run's figures on stderr as soon as they are known: a 1M run takes long enough that a
    partial result is worth having."""
    print(json.dumps({"step": name, **figures}), file=sys.stderr, flush=True)
    return figures


def _per_10k(calls: int, records: int) -> float | None:
    return round(calls * 10_000 / records, 2) if records else None


def _timed(world: Path, warehouse: Warehouse, destination: SalesforceDestination) -> dict[str, Any]:
    mark = _mark(world)
    started = time.perf_counter()
    result = run_sync(SPEC, warehouse, destination)
    seconds = time.perf_counter() - started
    calls = _calls_since(world, mark)
    return {
        "calls": calls,
        "api_calls_recorded": _recorded_calls(warehouse, result.run_id),
        "calls_per_10k_changed": _per_10k(calls, result.planned),
        "seconds": round(seconds, 2),
        "sent": result.sent,
        "confirmed": result.succeeded,
        "rejected": result.failed,
        "skipped_converted": result.skipped_reasons.get("converted_lead", 0),
        "records_per_s": round(result.succeeded / seconds) if result.succeeded else 0,
        "state_commits": result.state_transactions,
    }


def _recorded_calls(warehouse: Warehouse, run_id: str) -> int | None:
    """The run's `api_calls` as the executor stored it in reverse_etl.sync_runs."""
    rows = warehouse.query("select api_calls from reverse_etl.sync_runs where run_id = ?", [run_id])
    return rows[0][0] if rows else None


def inflate_world(tmp: Path, leads: int, base: int) -> Path:
    """A world whose Lead table and HubSpot contacts have `leads` rows, cloned from a generated
    world of `base` leads under new ids and emails (`c<copy>.` before the address)."""
    world = tmp / "world"
    generate(world, base)
    with sqlite3.connect(world / "salesforce.sqlite") as conn:
        columns = [
            row[1] for row in conn.execute('pragma table_xinfo("Lead")') if row[6] == 0
        ]  # hidden = 0: not the generated Name
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = conn.execute(f'select {quoted} from "Lead" order by "Id"').fetchall()
        id_at, email_at = columns.index("Id"), columns.index("Email")
        marks = ", ".join("?" * len(columns))
        for start in range(len(rows), leads, len(rows)):
            copy = start // len(rows)
            batch = []
            for n, row in enumerate(rows[: leads - start]):
                values = list(row)
                values[id_at] = f"00Q{start + n + 1:012d}EAA"
                values[email_at] = f"c{copy}.{row[email_at]}" if row[email_at] else None
                batch.append(values)
            conn.executemany(f'insert into "Lead" ({quoted}) values ({marks})', batch)
    with sqlite3.connect(world / "hubspot.sqlite") as conn:
        contacts = conn.execute(
            "select properties, created_at, updated_at from objects where object_type = 'contacts' and archived = 0"
        ).fetchall()
        (next_id,) = conn.execute("select max(cast(id as integer)) + 1 from objects").fetchone()
        wanted = round(len(contacts) * leads / base)
        for start in range(len(contacts), wanted, len(contacts)):
            copy = start // len(contacts)
            batch = []
            for properties, created_at, updated_at in contacts[: wanted - start]:
                values = json.loads(properties)
                if values.get("email"):
                    values["email"] = f"c{copy}.{values['email']}"
                batch.append(("contacts", str(next_id), json.dumps(values), created_at, updated_at))
                next_id += 1
            conn.executemany("insert into objects values (?, ?, ?, ?, ?, 0)", batch)
    return world


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
    """Every live HubSpot contact gets a score, first by record id (batch update, the shipped
    spec), then by email (batch upsert) with 1 % more people the portal lacks, whom the upsert
    creates; each with a re-run and a 1 % change. The portal's rate limit is lifted (as in the
    ingest benchmark), so the figures are the destination's own speed."""
    import dataclasses

    from hubspot import HubSpot

    from reverse_etl.destinations.hubspot import HubSpotDestination

    with sqlite3.connect(world / "hubspot.sqlite") as conn:
        contacts = [
            (str(i), email)
            for i, email in conn.execute(
                "select id, json_extract(properties, '$.email') from objects "
                "where object_type = 'contacts' and archived = 0 order by cast(id as integer)"
            )
        ]
    ids = [i for i, _ in contacts]
    emails = sorted({e.lower() for _, e in contacts if e})
    newcomers = [f"new{n}@bench-newcomer.example" for n in range(max(1, len(emails) // 100))]
    rng = random.Random(len(ids))
    by_id = dataclasses.replace(load_spec("contact_scores_to_hubspot"))
    by_email = dataclasses.replace(
        by_id,
        name="contact_scores_to_hubspot_by_email",
        source_table="hubspot_person_scores",
        key="email",
        operation="upsert",
        id_property="email",
        create_when="may_create",
    )
    out: dict[str, Any] = {"contacts": len(ids)}
    with sandbox_process("hubspot", world) as portal:
        client = HubSpot(access_token=portal["token"], host=portal["url"])
        destination = HubSpotDestination(client)  # the spec opts in to creating its properties
        for label, spec, keys in (("update_by_id", by_id, ids), ("upsert_by_email", by_email, emails + newcomers)):
            scores = {key: rng.randint(0, 100) for key in keys}
            _write_hubspot_gold(warehouse, spec, scores)
            runs: dict[str, Any] = {"records": len(keys)}
            runs["initial"] = _step(f"hubspot {label} initial", _hubspot_run(world, warehouse, spec, destination))
            runs["rerun_unchanged"] = _step(f"hubspot {label} rerun", _hubspot_run(world, warehouse, spec, destination))
            for key in rng.sample(keys, k=max(1, len(keys) // 100)):
                scores[key] = (scores[key] + 7) % 101
            _write_hubspot_gold(warehouse, spec, scores)
            runs["one_percent_changed"] = _step(
                f"hubspot {label} one percent", _hubspot_run(world, warehouse, spec, destination)
            )
            out[label] = runs
    out["upsert_by_email"]["created"] = len(newcomers)
    return out


def _write_hubspot_gold(warehouse: Warehouse, spec: Any, scores: dict[str, int]) -> None:
    import pyarrow as pa

    keys = list(scores)
    columns: dict[str, Any] = {
        spec.key: keys,
        "score": [scores[k] for k in keys],
        "grade": ["ABCD"[min(3, (100 - scores[k]) // 25)] for k in keys],
        "reasons": [f"Visited pricing: +{scores[k] % 20}" for k in keys],
    }
    if spec.create_when:
        columns[spec.create_when] = [True] * len(keys)
    warehouse.replace_table(spec.source_schema, spec.source_table, pa.table(columns))


def _hubspot_run(world: Path, warehouse: Warehouse, spec: Any, destination: Any) -> dict[str, Any]:
    with sqlite3.connect(world / "hubspot.sqlite") as conn:
        mark = int(conn.execute("select coalesce(max(id), 0) from api_requests").fetchone()[0])
    started = time.perf_counter()
    result = run_sync(spec, warehouse, destination)
    seconds = time.perf_counter() - started
    with sqlite3.connect(world / "hubspot.sqlite") as conn:
        writes, calls = conn.execute(
            "select sum(path like '%/batch/update' or path like '%/batch/upsert'), count(*) from api_requests "
            "where id > ?",
            [mark],
        ).fetchone()
    return {
        "calls": int(calls or 0),
        "batch_write_calls": int(writes or 0),
        "api_calls_recorded": _recorded_calls(warehouse, result.run_id),
        "changed": result.planned,
        "calls_per_10k_changed": _per_10k(int(calls or 0), result.planned),
        "confirmed": result.succeeded,
        "rejected": result.failed,
        "seconds": round(seconds, 2),
        "records_per_s": round(result.succeeded / seconds) if result.succeeded and seconds else 0,
    }


def bench(
    size: int, warehouse_url: str | None, only: str | None = None, inflate_above: int = 200_000, base: int = 10_000
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        inflated = size > inflate_above
        started = time.perf_counter()
        world = inflate_world(Path(tmp), size, base) if inflated else world_for_run(Path(tmp), size, None)
        _step("world", {"leads": size, "seconds": round(time.perf_counter() - started, 1)})
        warehouse = Warehouse.from_url(warehouse_url or f"duckdb:///{tmp}/bench.duckdb")
        leads = _leads(world)
        out: dict[str, Any] = {
            "benchmark": "reverse_etl_sync",
            "warehouse": warehouse.kind,
            "leads": len(leads),
            "world": f"cloned from {base} generated leads" if inflated else "generated",
        }
        if only in (None, "salesforce"):
            out |= _salesforce(world, warehouse, leads, size, warehouse_url, tmp)
        if only in (None, "hubspot"):
            out["hubspot"] = _hubspot(world, warehouse)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _salesforce(
    world: Path, warehouse: Warehouse, leads: list[tuple[str, bool]], size: int, warehouse_url: str | None, tmp: str
) -> dict[str, Any]:
    rng = random.Random(size)
    scores = {lead_id: rng.randint(0, 100) for lead_id, _ in leads}
    _write_gold(warehouse, leads, scores)
    with sandbox_process("salesforce", world) as org:
        sf = salesforce_client(org["instance_url"], org["token"], Path(org["ca_path"]))
        destination = SalesforceDestination(sf, bulk_poll_wait=0)
        _load_leads(warehouse, sf)  # bronze before the sync, as a scheduled run would have it
        initial = _step("salesforce initial", _timed(world, warehouse, destination))
        reloaded_after_sync = _step("salesforce reload", {"rows": _load_leads(warehouse, sf)})["rows"]
        rerun = _step("salesforce rerun", _timed(world, warehouse, destination))
        changed = rng.sample([lead_id for lead_id, converted in leads if not converted], k=max(1, len(leads) // 100))
        for lead_id in changed:
            scores[lead_id] = (scores[lead_id] + 7) % 101
        _write_gold(warehouse, leads, scores)
        one_percent = _step("salesforce one percent", _timed(world, warehouse, destination))
    bursts = _under_429_bursts(world, warehouse_url, tmp) if size <= 10_000 else None
    return {
        "initial": initial,
        "rerun_unchanged": rerun,
        "one_percent_changed": {**one_percent, "changed": len(changed)},
        "bronze_lead_rows_reloaded_after_sync": reloaded_after_sync,
        **({"under_429_bursts": bursts} if bursts else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--warehouse-url", default=None)
    parser.add_argument("--only", choices=("salesforce", "hubspot"), default=None)
    parser.add_argument("--inflate-above", type=int, default=200_000)
    parser.add_argument("--base-leads", type=int, default=10_000)
    parser.add_argument("--out", default=None, help="also write the JSON objects, one a line, to this file")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        line = json.dumps(bench(size, args.warehouse_url, args.only, args.inflate_above, args.base_leads))
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as out:
                out.write(line + "\n")


if __name__ == "__main__":
    main()
