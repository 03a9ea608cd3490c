"""Benchmark: the stages after the loads SIGKILLed at seeded moments, then run again (issue 25).

One first loop over a generated world, then, as in `tests/e2e/test_crashed_stages.py` but with
more trials: the identity asset after two erasure requests, the `dbt_scoring` step after new
grade thresholds, and the lead sync of the regraded scores into copies of the org. Each trial
runs the stage on a copy of the warehouse (and of the org), kills it at a seeded moment
(`tests/reliability/stage_crash.py`: a warehouse statement, a CRM write, or a time), runs it
again to the end and compares every table (and the org's Leadloop fields and tasks) with an
uninterrupted run. Prints one JSON object: per stage the trials, how many the kill ended,
and the duplicated, lost and wrong rows left after the re-run (all three should be 0), with
the trials that left any.

Usage: python bench/crash_stages.py [--leads N] [--trials T] [--warehouse duckdb|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from harness import world_for_run, world_leads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.reliability

GRADES = {"LEADLOOP_VAR_LEAD_GRADE_A_MIN": "60", "LEADLOOP_VAR_LEAD_GRADE_B_MIN": "45"}
SYNC = "lead_scores_to_salesforce"


def _tally(seconds: float) -> dict[str, Any]:
    return {
        "trials": 0,
        "killed": 0,
        "duplicates": 0,
        "lost": 0,
        "wrong": 0,
        "trials_wrong": 0,
        "kills": Counter(),
        "reference_seconds": seconds,
    }


def _add(tally: dict[str, Any], kill: Any, died: bool, diff: dict[str, dict[str, int]]) -> None:
    tally["trials"] += 1
    tally["killed"] += died
    tally["kills"][kill.kind] += died
    for counts in diff.values():
        for key in ("duplicates", "lost", "wrong"):
            tally[key] += counts[key]
    tally["trials_wrong"] += bool(diff)


def _identity(warehouse: Any, world: Path, copy: Any, trials: int) -> dict[str, Any]:
    from silver.erasure import register
    from tests.reliability.stage_crash import differences, run_stage, schemas_of, seeded_kill, warehouse_rows

    start = copy("identity-start")
    emails = start.query(
        "select min(email_key) from silver.identity_records where email_key is not null "
        "group by person_id order by count(*) desc, person_id limit 2"
    )
    register(start, [email for (email,) in emails], "bench")
    schemas = ["silver", "privacy", *schemas_of(start, ["bronze"])]
    spec = {"stage": "identity", "landing": str(world / "landing")}
    reference = copy("identity-reference", of=start)
    counts = run_stage({**spec, "warehouse": reference.url})
    want = warehouse_rows(reference, schemas)
    tally = _tally(counts["seconds"])
    for seed in range(trials):
        kill = seeded_kill("identity", seed, counts)
        trial = copy(f"identity-{seed}", of=start)
        died = run_stage({**spec, "warehouse": trial.url}, kill) == {}
        run_stage({**spec, "warehouse": trial.url})
        _add(tally, kill, died, differences(warehouse_rows(trial, schemas), want))
    return tally


def _dbt_and_sync(warehouse: Any, world: Path, copy: Any, trials: int, tmp: Path) -> dict[str, Any]:
    from ingestion.crm_clients import salesforce_client
    from sandbox.salesforce.server import SalesforceSandbox
    from tests.reliability.stage_crash import crm_copy, crm_rows, differences, run_stage, seeded_kill, warehouse_rows

    os.environ.update(GRADES)
    spec = {"stage": "dbt", "step": "dbt_scoring"}
    reference = copy("dbt-reference")
    counts = run_stage({**spec, "warehouse": reference.url})
    want = warehouse_rows(reference, ["silver", "gold"])
    dbt = _tally(counts["seconds"])
    for seed in range(trials):
        kill = seeded_kill("dbt", seed, counts)
        trial = copy(f"dbt-{seed}")
        died = run_stage({**spec, "warehouse": trial.url}, kill) == {}
        run_stage({**spec, "warehouse": trial.url})
        _add(dbt, kill, died, differences(warehouse_rows(trial, ["silver", "gold"]), want))

    def org_of(org: Any) -> dict[str, str]:
        return {"instance_url": org.instance_url, "token": org.token, "ca_path": str(org.ca_path)}

    sync = {"stage": "sync", "sync": SYNC}
    with SalesforceSandbox(crm_copy(world, tmp / "crm-reference")) as org:
        target = copy("sync-reference", of=reference)
        counts = run_stage({**sync, "warehouse": target.url, "salesforce": org_of(org)})
        want_crm = crm_rows(salesforce_client(org.instance_url, org.token, org.ca_path))
        want_state = warehouse_rows(target, ["reverse_etl"])
    tally = _tally(counts["seconds"])
    # The reference run's own row (the copy also holds the first loop's runs).
    sent = target.query(
        "select sent from reverse_etl.sync_runs where sync_name = ? order by started_at desc limit 1", [SYNC]
    )
    tally["records_sent"] = int(sent[0][0])
    for seed in range(trials):
        kill = seeded_kill("sync", seed, counts)
        trial = copy(f"sync-{seed}", of=reference)
        with SalesforceSandbox(crm_copy(world, tmp / f"crm-{seed}")) as org:
            run = {**sync, "warehouse": trial.url, "salesforce": org_of(org)}
            died = run_stage(run, kill) == {}
            run_stage(run)
            diff = differences(crm_rows(salesforce_client(org.instance_url, org.token, org.ca_path)), want_crm)
        diff.update(differences(warehouse_rows(trial, ["reverse_etl"]), want_state))
        _add(tally, kill, died, diff)
    return {"dbt_scoring": dbt, "lead_sync": tally}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000)
    parser.add_argument("--trials", type=int, default=8, help="trials per stage")
    parser.add_argument("--warehouse", choices=["duckdb", "postgres"], default="duckdb")
    args = parser.parse_args()
    # dbt writes its log to the stdout it inherits; this script's stdout is its one JSON line.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    from orchestration.demo import run_lead_loop
    from orchestration.resources import HubSpotResource, SalesforceResource
    from sandbox.hubspot.server import HubSpotSandbox
    from sandbox.salesforce.server import SalesforceSandbox
    from tests.reliability.stage_crash import copies
    from tests.support import postgres_database
    from warehouse import Warehouse

    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        tmp = Path(folder)
        os.environ["LEADLOOP_DATA_DIR"] = str(tmp)
        os.environ.pop("LEADLOOP_PRODUCT_DB_URL", None)
        world = world_for_run(tmp, args.leads)
        if args.warehouse == "duckdb":
            warehouse = Warehouse.from_url(f"duckdb:///{tmp / 'warehouse.duckdb'}")
        else:
            warehouse = stack.enter_context(postgres_database("leadloop_bench_crash"))
        started = time.perf_counter()
        with SalesforceSandbox(world) as sf, HubSpotSandbox(world) as hs:
            salesforce = SalesforceResource(
                instance_url=sf.instance_url, access_token=sf.token, ca_bundle=str(sf.ca_path)
            )
            run_lead_loop(warehouse, salesforce, hubspot=HubSpotResource(access_token=hs.token, host=hs.url))
        first_loop = time.perf_counter() - started
        with copies(warehouse, tmp) as copy:
            stages = {"identity": _identity(warehouse, world, copy, args.trials)}
            stages.update(_dbt_and_sync(warehouse, world, copy, args.trials, tmp))
        for tally in stages.values():
            tally["kills"] = dict(tally["kills"])
        totals = {k: sum(s[k] for s in stages.values()) for k in ("trials", "killed", "duplicates", "lost", "wrong")}
        report = {
            "benchmark": "crash_stages",
            "warehouse": args.warehouse,
            "leads": world_leads(world),
            "first_loop_seconds": round(first_loop, 1),
            "totals": totals,
            "stages": stages,
        }
        print(json.dumps(report), file=out, flush=True)


if __name__ == "__main__":
    main()
