"""Benchmark: what the contract layer costs in a full lead-loop run on a generated world.

Runs the whole lead loop (load, identity, dbt, every contract check, sync) once on a fresh
world and warehouse (DuckDB unless --warehouse-url), then again with nothing changed. For each
run it sums the wall time of the contract check steps (the `gx_*_contract` steps, from Dagster's
step events) against the run's total, and prints one JSON object. A third figure times every
contract cold (no reuse of an unchanged pass), one by one, outside Dagster.

The issue asks for ≤ 10 % of a full run at 100k leads. Default size is 10k (a 100k world takes
long on a shared 2-core machine); pass --leads 100000 for the issue's figure.

Usage: python bench/contracts_cost.py [--leads 10000] [--warehouse-url URL] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import peak_rss_mb, sandbox_process, world_for_run


def _check_seconds(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds per contract check step of the run, from its STEP_START / STEP_SUCCESS|FAILURE."""
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    took: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        step = record.step_key or ""
        if event is None or "_gx_" not in step:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[step] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            took[step.split("_gx_", 1)[1].removesuffix("_contract")] = record.timestamp - starts[step]
    return took


def _loop(warehouse: Any, world: Path, instance: Any) -> tuple[float, dict[str, float]]:
    from orchestration.demo import run_lead_loop
    from orchestration.resources import (
        HubSpotResource,
        LandingZoneResource,
        ProductDbResource,
        SalesforceResource,
        WarehouseResource,
    )

    data_dir = str(world.parent)
    with sandbox_process("salesforce", world) as org, sandbox_process("hubspot", world) as portal:
        salesforce = SalesforceResource(
            instance_url=org["instance_url"], access_token=org["token"], ca_bundle=org["ca_path"], bulk_poll_seconds=0.0
        )
        hubspot = HubSpotResource(access_token=portal["token"], host=portal["url"])
        started = time.perf_counter()
        _run_or_explain(
            run_lead_loop,
            warehouse,
            salesforce,
            hubspot=hubspot,
            product_db=ProductDbResource.from_env(data_dir=data_dir),
            landing=LandingZoneResource.from_env(data_dir=data_dir),
            warehouse_resource=WarehouseResource(url=warehouse.url),
            instance=instance,
        )
        total = time.perf_counter() - started
    [run] = instance.get_runs(limit=1)
    return total, _check_seconds(instance, run.run_id)


def _run_or_explain(run: Any, warehouse: Any, *args: Any, **kwargs: Any) -> None:
    """A failed loop names only the check; say what each failing contract found."""
    from expectations.config import load_contracts
    from expectations.runner import validate_contract
    from orchestration.demo import LoopFailedError

    try:
        run(warehouse, *args, **kwargs)
    except LoopFailedError as exc:
        found = [validate_contract(warehouse, suite).headline for suite in load_contracts()]
        raise SystemExit(f"{exc}: " + " | ".join(line for line in found if " passed" not in line)) from None


def _cold(warehouse: Any) -> dict[str, float]:
    """Every contract evaluated from scratch (no stored fingerprint to reuse), one by one."""
    from expectations.config import load_contracts
    from expectations.runner import validate_contract

    with warehouse.connect() as conn:
        conn.cursor().execute("update contracts.table_profiles set fingerprint = null")
    took = {}
    for suite in load_contracts():
        started = time.perf_counter()
        outcome = validate_contract(warehouse, suite)
        took[suite] = round(time.perf_counter() - started, 3)
        if outcome.status != "passed":
            raise SystemExit(f"contract {suite} did not pass on the generated world: {outcome.headline}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--warehouse-url", default=None)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="run in this (new) folder and leave the world and warehouse there, to time single contracts afterwards",
    )
    args = parser.parse_args()

    from dagster import DagsterInstance

    from warehouse import Warehouse

    if args.keep:
        args.keep.mkdir(parents=True)
    kept = contextlib.nullcontext(str(args.keep.resolve())) if args.keep else None
    with kept or tempfile.TemporaryDirectory(prefix="leadloop-bench-contracts-") as tmp:
        os.environ["LEADLOOP_DATA_DIR"] = tmp
        world = world_for_run(Path(tmp), args.leads)
        warehouse = Warehouse.from_url(args.warehouse_url or f"duckdb:///{tmp}/warehouse.duckdb")
        instance = DagsterInstance.ephemeral()
        first_total, first_checks = _loop(warehouse, world, instance)
        second_total, second_checks = _loop(warehouse, world, instance)
        cold = _cold(warehouse)

    first_sum, second_sum = sum(first_checks.values()), sum(second_checks.values())
    print(
        json.dumps(
            {
                "benchmark": "contracts_cost",
                "leads": args.leads,
                "warehouse": "postgres" if args.warehouse_url else "duckdb",
                "contracts": len(cold),
                "full_run_s": round(first_total, 2),
                "contract_checks_s": round(first_sum, 2),
                "contract_share_of_full_run": round(first_sum / first_total, 4),
                "unchanged_rerun_s": round(second_total, 2),
                "unchanged_rerun_contract_checks_s": round(second_sum, 2),
                "unchanged_rerun_contract_share": round(second_sum / second_total, 4),
                "cold_validation_s_total": round(sum(cold.values()), 2),
                "cold_validation_s_per_contract": cold,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
