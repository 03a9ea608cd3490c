"""Benchmark: the whole lead loop, as Dagster runs it, on a generated world. Prints one JSON object
and keeps it under bench/results/ with the machine it ran on.

Five runs of the project's own lead-loop job over one world and warehouse: the full run (empty
warehouse, every asset materialized once); `one_day`, after the world advanced one simulated day
(about 1 % of records changed), which also reads back everything the full run's syncs wrote into
the CRMs (Contact and HubSpot modification stamps and Tasks are inputs of consent, survivorship
and actions); `next_day`, one more simulated day, the steady state a daily schedule lives in (the
day's changes plus the read-back of the previous day's writes); `settle`, which only reads back
what `next_day` wrote; and a run with nothing new (only the loads run;
orchestration/change_gate.py). For each: wall seconds, seconds per step (Dagster's own step
events), the steps Dagster skipped, records synced, and the peak RSS of this process and every
process it started (dbt included; the sandboxes, which stand for CRMs on other machines, are not
counted).

Usage: python bench/lead_loop.py [--leads N] [--warehouse URL] [--keep DIR] [--world DIR] [--no-save]
       (N defaults to $LEADLOOP_BENCH_LEADS, else 100,000)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness import TreeRss, advance_one_day, sandbox_process, world_for_run, world_leads

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = ("full", "one_day", "next_day", "settle", "nothing_new")
DAYS = {"one_day", "next_day"}  # the runs the world advances one simulated day before


def stage_of(step: str) -> str:
    """The stage a Dagster step belongs to, for the report's per-stage figures."""
    if step.endswith("_bronze"):
        return "ingestion"
    if "_gx_" in step:
        return "contracts"
    if step.startswith("dbt_"):
        return "dbt"
    if step.startswith("reverse_etl__"):
        return "syncs"
    if step == "identity_resolution":
        return "identity"
    return "python_silver_gold"  # enrichment, routing classifier, propensity


def _stages(steps: dict[str, float], windows: dict[str, tuple[float, float]], rss: TreeRss) -> dict[str, Any]:
    stages: dict[str, dict[str, Any]] = {}
    for step, seconds in steps.items():
        stage = stages.setdefault(
            stage_of(step), {"seconds": 0.0, "steps": 0, "peak_rss_mb": 0, "loop_process_peak_rss_mb": 0}
        )
        stage["seconds"] = round(stage["seconds"] + seconds, 2)
        stage["steps"] += 1
        stage["peak_rss_mb"] = max(stage["peak_rss_mb"], rss.peak_mb_between(*windows[step]))
        # The loop's own process (dlt, identity, Python silver and gold, the syncs run in it);
        # the rest of peak_rss_mb is its children's, dbt's.
        stage["loop_process_peak_rss_mb"] = max(
            stage["loop_process_peak_rss_mb"], rss.own_peak_mb_between(*windows[step])
        )
    return stages


def _propensity(instance: Any) -> dict[str, Any]:
    """The propensity session's holdout metrics, from its materialization in this run."""
    from dagster import AssetKey

    event = instance.get_latest_materialization_event(AssetKey(["gold", "lead_propensity"]))
    if event is None or event.asset_materialization is None:
        return {}
    metadata = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    return {k: metadata[k] for k in ("auc", "rule_score_auc", "published_new_model", "model_version") if k in metadata}


def _identity_metadata(instance: Any, name: str) -> Any:
    """One entry of the metadata the identity step's latest materialization carries."""
    from dagster import AssetKey

    from silver.identity.run import RECORDS_TABLE, SCHEMA

    event = instance.get_latest_materialization_event(AssetKey([SCHEMA, RECORDS_TABLE]))
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(name)
    return getattr(value, "value", value)


def _identity_seconds(instance: Any) -> dict[str, float]:
    """Where the identity step's seconds went (standardize, blocking, Splink, clusters), from the
    metadata its materialization in this run carries."""
    return dict(_identity_metadata(instance, "seconds") or {})


def _identity_peaks(instance: Any) -> dict[str, int]:
    """The loop process's peak resident set in each phase of the identity step, MB."""
    return dict(_identity_metadata(instance, "peak_rss_mb") or {})


def _identity_model(instance: Any) -> dict[str, Any]:
    """Which match model identity scored with (trained, or reused from an earlier run's training)
    and what training and prediction cost; which pairs it scored (every one, or the changed)."""
    names = ("model", "model_trained_at", "model_retrained_because", "model_seconds", "prediction")
    names += ("records_standardized",)  # the others' keys carried over from the last run
    return {name: _identity_metadata(instance, name) for name in names}


def _step_seconds(instance: Any) -> tuple[dict[str, float], int, dict[str, tuple[float, float]]]:
    """Seconds per step that ran, how many steps Dagster skipped, and each step's time window."""
    from dagster import DagsterEventType

    (run,) = instance.get_runs(limit=1)
    started: dict[str, float] = {}
    seconds: dict[str, float] = defaultdict(float)
    skipped = 0
    windows: dict[str, tuple[float, float]] = {}
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_SKIPPED:
            skipped += 1
        elif event.event_type == DagsterEventType.STEP_START:
            started[record.step_key] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            began = started.pop(record.step_key, record.timestamp)
            seconds[record.step_key] += record.timestamp - began
            windows[record.step_key] = (windows.get(record.step_key, (began, 0.0))[0], record.timestamp)
    ordered = {step: round(value, 2) for step, value in sorted(seconds.items(), key=lambda kv: -kv[1])}
    return ordered, skipped, windows


def _dbt_nodes(run_id: str, top: int = 8) -> dict[str, dict[str, Any]]:
    """Each dbt step's slowest nodes, from the run_results.json dbt wrote in that invocation's
    own target folder (orchestration/dbt_partial_parse.py names it `<step>-<run id>-…`): which
    model or test a dbt step's seconds went to."""
    from orchestration.assets.dbt import DBT_PROJECT_DIR
    from orchestration.dbt_partial_parse import target_root

    nodes: dict[str, dict[str, Any]] = {}
    for results in sorted(target_root(DBT_PROJECT_DIR).glob(f"*-{run_id[:7]}-*/run_results.json")):
        step = results.parent.name.rsplit("-", 2)[0]
        data = json.loads(results.read_text())
        timed = sorted(data["results"], key=lambda node: -node["execution_time"])
        nodes[step] = {
            "elapsed": round(data["elapsed_time"], 2),
            "nodes": len(timed),
            "slowest": {node["unique_id"].split(".", 2)[-1]: round(node["execution_time"], 2) for node in timed[:top]},
        }
    return nodes


def run_once(warehouse: Any, salesforce: Any, hubspot: Any, sandbox_pids: set[int]) -> dict[str, Any]:
    from dagster import DagsterInstance

    from orchestration.demo import run_lead_loop

    instance = DagsterInstance.ephemeral()
    with TreeRss(exclude=sandbox_pids) as rss:
        started = time.perf_counter()
        summary = run_lead_loop(warehouse, salesforce, hubspot=hubspot, instance=instance)
        seconds = time.perf_counter() - started
    steps, skipped, windows = _step_seconds(instance)
    (run,) = instance.get_runs(limit=1)
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(rss.peak_kb / 1024),
        "loop_process_rss_mb_after": rss.own_last_mb(),
        # What each step of a second or more left resident in the loop's process, in run order:
        # which step's memory stays held through the steps (and dbt's processes) after it.
        "loop_process_rss_mb_after_step": {
            step: rss.own_mb_at(end)
            for step, (_, end) in sorted(windows.items(), key=lambda kv: kv[1][1])
            if steps.get(step, 0) >= 1
        },
        # The machine is shared: the 1-, 5- and 15-minute load averages as the run ended say how
        # much of its seconds other work took.
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "stages": _stages(steps, windows, rss),
        "steps": steps,
        "steps_skipped": skipped,
        "dbt_nodes": _dbt_nodes(run.run_id),
        "identity_seconds": _identity_seconds(instance),
        "identity_model": _identity_model(instance),
        "identity_peak_rss_mb": _identity_peaks(instance),
        "records_sent": {name: sync.get("sent", 0) for name, sync in summary.syncs.items()},
        "people_scored": summary.people_scored,
        "propensity": _propensity(instance),
    }


def _commit() -> str:
    import subprocess

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=False
    )
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def machine() -> dict[str, Any]:
    with open("/proc/meminfo") as handle:
        total_kb = int(handle.readline().split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(total_kb / 1024 / 1024),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=int(os.environ.get("LEADLOOP_BENCH_LEADS", 100_000)))
    parser.add_argument("--warehouse", default=None, help="A warehouse URL (default: a new DuckDB file).")
    parser.add_argument("--no-save", action="store_true", help="Print only; keep nothing under bench/results/.")
    parser.add_argument("--keep", type=Path, help="Build the world and warehouse in DIR and leave them there.")
    parser.add_argument(
        "--world",
        type=Path,
        help="Start from a copy of this never-advanced world (`leadloop generate --leads N --out DIR`, seed 42 "
        "as here) rather than generating one: at 1M leads generating takes over 5 minutes.",
    )
    args = parser.parse_args()

    from orchestration.resources import HubSpotResource, SalesforceResource
    from warehouse import Warehouse

    # Taken as the bench starts: the code it ran, not whatever was committed during its hour.
    commit = _commit()

    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        world = world_for_run(data, args.leads, copy_of=args.world)
        if args.world is not None and world_leads(world) != args.leads:
            raise SystemExit(f"{args.world} is a world of {world_leads(world):,} leads, not {args.leads:,}")
        generate_seconds = time.perf_counter() - started
        os.environ["LEADLOOP_DATA_DIR"] = str(data)
        warehouse = Warehouse.from_url(args.warehouse or f"duckdb:///{data / 'warehouse.duckdb'}")
        runs: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        for name in RUNS:
            if name in DAYS:
                changes[name] = advance_one_day(world)
            with sandbox_process("salesforce", world) as sf, sandbox_process("hubspot", world) as hs:
                import multiprocessing

                sandbox_pids = {child.pid for child in multiprocessing.active_children() if child.pid}
                salesforce = SalesforceResource(
                    instance_url=sf["instance_url"], access_token=sf["token"], ca_bundle=sf["ca_path"]
                )
                hubspot = HubSpotResource(access_token=hs["token"], host=hs["url"])
                runs[name] = run_once(warehouse, salesforce, hubspot, sandbox_pids)
            # Each run's figures as soon as it ends: at 1M the four runs take most of an hour,
            # and one that dies later (memory, a CRM) would otherwise take the earlier ones with it.
            print(json.dumps({"run": name, **runs[name]}), file=sys.stderr, flush=True)

    full = runs["full"]["seconds"]
    report = {
        "benchmark": "lead_loop",
        "leads": args.leads,
        "warehouse": "duckdb" if args.warehouse is None else Warehouse.from_url(args.warehouse).kind,
        "generate_seconds": round(generate_seconds, 1),
        "world": f"a copy of {args.world}" if args.world else "generated by this run, seed 42",
        "day_changes": changes,
        "runs": runs,
        **{f"{name}_over_full": round(runs[name]["seconds"] / full, 3) for name in RUNS[1:]},
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs.values()),
        "machine": machine(),
        "command": " ".join(["python", *sys.argv]),
        "commit": commit,
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(json.dumps(report))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"lead_loop-{args.leads}-{report['warehouse']}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
