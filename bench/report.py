"""`make bench`: one report of the whole loop at one scale, from the benchmarks that measure each
part. Runs them one after another as subprocesses (each prints its JSON as its last line), keeps
what the report needs, writes bench/results/report-<leads>.json with the machine it ran on, and
prints a short table.

- bench/lead_loop.py: the whole job, full / one day later / the next day (the steady state) /
  read-back of the syncs' own writes / nothing new: seconds and peak RSS per stage and per run,
  the ratios, propensity AUC.
- bench/identity_resolution.py: identity precision and recall against the generator's truth.
- bench/reverse_etl_sync.py: records/s and API calls per 10k changed records.

Scale: --leads, else $LEADLOOP_BENCH_LEADS, else 100,000. At 1,000,000 the whole report takes
hours and about 10 GB of memory on a 2-core machine (issue 24's figures): run it alone.
--reuse takes the lead-loop figures from bench/results/lead_loop-<leads>-duckdb.json when that
file exists, instead of running the loop again.

Usage: python bench/report.py [--leads N] [--reuse] [--skip identity,reverse_etl]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
# "incremental" is the one-day run's name in reports kept before the steady-state day was added.
RUNS = ("full", "one_day", "next_day", "incremental", "settle", "nothing_new")


def run_script(script: str, *args: str) -> dict[str, Any]:
    """The last JSON line a benchmark printed (dbt and Dagster print their own lines before it)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, cwd=BENCH.parent, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{script} failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{script} printed no JSON")
    result = json.loads(lines[-1])
    result["_wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def lead_loop_part(loop: dict[str, Any]) -> dict[str, Any]:
    runs = loop["runs"]
    full = runs["full"]["seconds"]
    leads = loop["leads"]
    return {
        "runs": {
            name: {
                "seconds": runs[name]["seconds"],
                "over_full": round(runs[name]["seconds"] / full, 3),
                "peak_rss_mb": runs[name]["peak_rss_mb"],
                "steps_skipped": runs[name].get("steps_skipped"),
                "records_sent": runs[name]["records_sent"],
            }
            for name in RUNS
            if name in runs
        },
        "stages_full": runs["full"].get("stages", {}),
        "stages_one_day": runs.get("one_day", runs.get("incremental", {})).get("stages", {}),
        "stages_next_day": runs.get("next_day", {}).get("stages", {}),
        "leads_per_s_full": round(leads / full),
        "peak_rss_mb": loop["peak_rss_mb"],
        "day_changes": loop.get("day_changes", loop.get("one_day_changes")),
        "propensity": runs["full"].get("propensity", {}),
    }


def identity_part(identity: dict[str, Any]) -> dict[str, Any]:
    keep = ("precision", "recall", "f1", "seconds", "records_per_s", "peak_rss_mb", "source_records", "people")
    return {k: identity[k] for k in keep if k in identity}


def reverse_etl_part(sync: dict[str, Any]) -> dict[str, Any]:
    changed = sync["one_percent_changed"]
    return {
        "initial_records_per_s": sync["initial"]["records_per_s"],
        "initial_calls": sync["initial"]["calls"],
        "rerun_unchanged_calls": sync["rerun_unchanged"]["calls"],
        "changed_records": changed["changed"],
        "calls_per_10k_changed": round(changed["calls"] * 10_000 / max(changed["changed"], 1), 1),
        "hubspot_records_per_s": sync.get("hubspot", {}).get("records_per_s"),
        "peak_rss_mb": sync.get("peak_rss_mb"),
    }


def table(report: dict[str, Any]) -> list[str]:
    out = [f"Leadloop at {report['leads']:,} leads ({report['machine']['cpus']} cores, shared machine)"]
    loop = report.get("lead_loop")
    if loop:
        out.append(f"{'run':<14}{'seconds':>9}{'of full':>9}{'peak MB':>9}{'skipped':>9}")
        for name, run in loop["runs"].items():
            skipped = "" if run["steps_skipped"] is None else str(run["steps_skipped"])
            out.append(f"{name:<14}{run['seconds']:>9}{run['over_full']:>9}{run['peak_rss_mb']:>9}{skipped:>9}")
        out.append(f"{'stage (full)':<20}{'seconds':>9}{'peak MB':>9}")
        for stage, figures in sorted(loop["stages_full"].items(), key=lambda kv: -kv[1]["seconds"]):
            out.append(f"{stage:<20}{figures['seconds']:>9}{figures['peak_rss_mb']:>9}")
        propensity = loop["propensity"]
        if propensity:
            out.append(f"propensity AUC {propensity.get('auc')} (rules alone {propensity.get('rule_score_auc')})")
    identity = report.get("identity")
    if identity:
        out.append(f"identity precision {identity.get('precision')} recall {identity.get('recall')}")
    sync = report.get("reverse_etl")
    if sync:
        out.append(
            f"reverse ETL {sync['initial_records_per_s']} records/s, {sync['calls_per_10k_changed']} API calls "
            "per 10k changed records"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=int(os.environ.get("LEADLOOP_BENCH_LEADS", 100_000)))
    parser.add_argument("--reuse", action="store_true", help="Reuse a kept lead-loop result at this scale.")
    parser.add_argument("--skip", default="", help="Comma-separated parts to leave out: identity, reverse_etl.")
    args = parser.parse_args()
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    sys.path.insert(0, str(BENCH))
    from lead_loop import machine

    leads = str(args.leads)
    kept = RESULTS / f"lead_loop-{args.leads}-duckdb.json"
    if args.reuse and kept.exists():
        loop = json.loads(kept.read_text())
    else:
        loop = run_script("lead_loop.py", "--leads", leads)
    report: dict[str, Any] = {"benchmark": "report", "leads": args.leads, "lead_loop": lead_loop_part(loop)}
    if "identity" not in skip:
        report["identity"] = identity_part(run_script("identity_resolution.py", "--leads", leads))
    if "reverse_etl" not in skip:
        report["reverse_etl"] = reverse_etl_part(run_script("reverse_etl_sync.py", "--sizes", leads))
    report["machine"] = loop.get("machine") or machine()
    report["machine"]["note"] = "2 cores shared with other sessions' work while measured"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"report-{args.leads}.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\n".join(table(report)))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
