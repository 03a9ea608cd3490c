"""Benchmark: first loads SIGKILLed inside dlt's load step, then run again (issue 25).

For each source (partner drops, web events, the product DB; Salesforce and HubSpot, each served
from its own process), `--trials` first loads are killed at seeded moments of the load step
(`tests/reliability/crash_harness.py`), each re-run once, and bronze compared row by row with an
uninterrupted load of the same world. Prints one
JSON object: trials, how many were killed, duplicated / lost / extra rows per source (all three
should be 0), and what the safety costs: the clean first load's seconds, the check a run makes
for a half-done load when there is none (the whole cost on the happy path), and the re-run after
a kill (the load is redone from the source instead of resumed). `--baseline` also re-runs each
kill the way it was before (dlt resuming the package) and counts the duplicates that leaves.

Usage: python bench/crash_first_load.py [--leads N] [--days D] [--trials T] [--warehouse-url URL] [--baseline]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import advance, sandbox_process, world_for_run, world_leads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.reliability

from ingestion.load_recovery import redo_half_done_loads  # noqa: E402
from ingestion.pipelines import make_pipeline  # noqa: E402
from tests.reliability.crash_harness import bronze_rows, compare, load, run_killed, seeded_kill  # noqa: E402
from warehouse import Warehouse  # noqa: E402


def _fresh(base: str | None, tmp: Path, dataset: str, run: str) -> Warehouse:
    if base is None:
        return Warehouse.from_url(f"duckdb:///{tmp / f'{run}.duckdb'}")
    warehouse = Warehouse.from_url(base)
    warehouse.query(f'drop schema if exists "{dataset}" cascade')
    warehouse.query(f'drop schema if exists "{dataset}_staging" cascade')
    import os
    import shutil

    shutil.rmtree(Path(os.environ["LEADLOOP_DATA_DIR"]) / ".dlt", ignore_errors=True)
    return warehouse


def _source_trials(
    spec: dict[str, Any], dataset: str, trials: int, base: str | None, tmp: Path, baseline: bool
) -> dict[str, Any]:
    clean_seconds = []
    for run in range(2):
        clean = _fresh(base, tmp, dataset, f"{spec['source']}-clean-{run}")
        started = time.perf_counter()
        load({**spec, "warehouse": clean.url})
        clean_seconds.append(time.perf_counter() - started)
    reference = bronze_rows(clean, dataset)
    guard = []
    pipeline = make_pipeline(spec["source"], clean)
    for _ in range(20):
        started = time.perf_counter()
        redo_half_done_loads(pipeline, clean)
        guard.append(time.perf_counter() - started)
    totals = {"duplicated": 0, "lost": 0, "extra": 0}
    before = {"trials_with_duplicates": 0, "duplicated_rows": 0, "lost_rows": 0}
    killed, rerun_seconds, moments = 0, [], {}
    for seed in range(trials):
        moment, nth = seeded_kill(seed)
        target = _fresh(base, tmp, dataset, f"{spec['source']}-trial-{seed}")
        died = run_killed({**spec, "warehouse": target.url}, moment, nth)
        killed += died
        moments[moment] = moments.get(moment, 0) + died
        started = time.perf_counter()
        load({**spec, "warehouse": target.url})
        rerun_seconds.append(time.perf_counter() - started)
        for counts in compare(bronze_rows(target, dataset), reference).values():
            for key, n in counts.items():
                totals[key] += n
        if baseline:  # the same kill, re-run the way it was before the redo: dlt resumes the package
            target = _fresh(base, tmp, dataset, f"{spec['source']}-baseline-{seed}")
            run_killed({**spec, "warehouse": target.url}, moment, nth)
            load({**spec, "warehouse": target.url, "redo": False})
            wrong = compare(bronze_rows(target, dataset), reference).values()
            before["duplicated_rows"] += sum(c["duplicated"] for c in wrong)
            before["lost_rows"] += sum(c["lost"] for c in wrong)
            before["trials_with_duplicates"] += any(c["duplicated"] for c in wrong)
    return {
        "rows": sum(sum(rows.values()) for rows in reference.values()),
        "trials": trials,
        "killed": killed,
        "killed_by_moment": moments,
        **{f"{key}_rows": n for key, n in totals.items()},
        "clean_first_load_seconds": round(min(clean_seconds), 3),
        "half_done_check_ms": round(statistics.median(guard) * 1000, 3),
        "rerun_after_kill_seconds_median": round(statistics.median(rerun_seconds), 3),
        **({"without_redo": before} if baseline else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=7, help="days the world moves on first (partner files)")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--warehouse-url", default=None)
    parser.add_argument("--baseline", action="store_true", help="also re-run each kill without the redo")
    args = parser.parse_args()
    import os

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        os.environ["LEADLOOP_DATA_DIR"] = str(tmp_path / "data")
        world = world_for_run(tmp_path, args.leads)
        advance(world, days=args.days)
        from ingestion.product_db import product_db_url

        results = {}
        for name, spec in (
            ("partners", {"folder": str(world / "partners")}),
            ("web_events", {"folder": str(world / "landing")}),
            ("product", {"url": product_db_url(world)}),
        ):
            spec = {"source": name, **spec}
            results[name] = _source_trials(
                spec, f"bronze_{name}", args.trials, args.warehouse_url, tmp_path, args.baseline
            )
        with sandbox_process("salesforce", world) as org:
            spec = {"source": "salesforce", "salesforce": org}
            results["salesforce"] = _source_trials(
                spec, "bronze_salesforce", args.trials, args.warehouse_url, tmp_path, args.baseline
            )
        with sandbox_process("hubspot", world) as portal:
            spec = {"source": "hubspot", "hubspot": portal}
            results["hubspot"] = _source_trials(
                spec, "bronze_hubspot", args.trials, args.warehouse_url, tmp_path, args.baseline
            )
        totals = {
            key: sum(r[key] for r in results.values())
            for key in ("trials", "killed", "duplicated_rows", "lost_rows", "extra_rows")
        }
        kind = Warehouse.from_url(args.warehouse_url).kind if args.warehouse_url else "duckdb"
        print(
            json.dumps(
                {
                    "benchmark": "crash_first_load",
                    "warehouse": kind,
                    "leads": world_leads(world),
                    "totals": totals,
                    "sources": results,
                }
            )
        )


if __name__ == "__main__":
    main()
