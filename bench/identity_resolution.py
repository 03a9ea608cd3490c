"""Benchmark: identity resolution against the generator's ground truth.

Loads a world's people-bearing sources into bronze and staging (both CRMs through the sandbox,
partner drops, the product DB), then times resolution alone and scores it pairwise: two records
are a true pair when the generator made them for one person. Prints one JSON object with
precision, recall, F1, cluster counts and seconds, the same figures for two slices (the pairs
that share no email, phone or company; people outside the US), and which Splink model scored.
`peak_rss_mb` is the peak of this process and every process it started while resolution ran
(sampled, `harness.TreeRss`): generating and loading the world, done before, are not counted;
`process_peak_rss_mb` is the whole process's high-water mark, loading included. `cpu_seconds`
(this process's user and system time, DuckDB's threads included) moves less with the machine's
load than `seconds`.

`--reuse` resolves the same records a second time with the model the first resolution trained
(as the next day's run does while the data has not moved much, `silver/identity/saved_model.py`)
and adds that run's seconds, model and scores under `reused`, with whether its links and people
equal the first's.

`--drift-days N` then asks what reusing costs in quality: a copy of the world and its DuckDB
warehouse moves on N days and is loaded again, and its records are resolved twice, with the
model the first resolution trained and with a model trained on them; `drift` holds both runs'
scores and seconds and how many records' people differ between them.

Usage: python bench/identity_resolution.py [--leads N] [--warehouse-url URL] [--keep DIR] [--reuse]
       [--drift-days N]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from harness import TreeRss, advance, generate, load_people_sources, peak_rss_mb

from sandbox.identity_truth import pairwise, pairwise_slices, truth_keys
from silver.identity.records import records_sql
from silver.identity.resolve import Resolution, resolve
from warehouse import Warehouse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=60_000)
    parser.add_argument("--days", type=int, default=0, help="advance the world first (partner mail backlog)")
    parser.add_argument("--warehouse-url", default=None)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the world and the records read from staging in this folder, and reuse them when"
        " they are there: making and loading a 1M-record world takes longer than resolving it",
    )
    parser.add_argument("--reuse", action="store_true", help="resolve again with the model the first run trained")
    parser.add_argument("--drift-days", type=int, default=0, help="then compare reused and retrained after N days")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        world, saved = base / "world", base / "records.parquet"
        warehouse_kind = "records reused"
        if args.keep and saved.exists():
            records = pq.read_table(saved)
        else:
            base.mkdir(parents=True, exist_ok=True)
            generate(world, args.leads)
            if args.days:
                advance(world, args.days)
            warehouse = Warehouse.from_url(args.warehouse_url or f"duckdb:///{base}/bench.duckdb")
            warehouse_kind = warehouse.kind
            load_people_sources(warehouse, world)
            records = warehouse.read_arrow(records_sql())
            if args.keep:
                pq.write_table(records, saved)
        with TreeRss(exclude=set()) as rss:
            started, cpu_started = time.perf_counter(), time.process_time()
            resolution = resolve(records)
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        truth = truth_keys(world)
        scores = pairwise(resolution.person_records().select(["record_key", "person_id"]), truth)
        reused = _reused(records, resolution, truth) if args.reuse else None
        drift = _drift(base, Path(tmp), args.drift_days, resolution) if args.drift_days else None
        slices = pairwise_slices(
            resolution.person_records().select(
                ["record_key", "person_id", "email_key", "phone_e164", "company_key", "country_key"]
            ),
            truth,
        )
    by_source = records.group_by("source").aggregate([("record_key", "count")])
    print(
        json.dumps(
            {
                "benchmark": "identity_resolution",
                "warehouse": warehouse_kind,
                "leads": json.loads((world / "world.json").read_text())["leads"] if args.keep else args.leads,
                "days": args.days,
                "source_records": records.num_rows,
                "records_by_source": dict(
                    zip(by_source["source"].to_pylist(), by_source["record_key_count"].to_pylist(), strict=True)
                ),
                **scores,
                "slices": slices,
                "model": resolution.model.as_metadata(),
                "people": resolution.people,
                "links_by_rule": resolution.links_by_rule(),
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2),
                "seconds_by_step": {step: round(s, 2) for step, s in resolution.seconds.items()},
                "records_per_s": round(records.num_rows / seconds),
                "peak_rss_mb": round(rss.peak_kb / 1024),
                "process_peak_rss_mb": peak_rss_mb(),
                "duckdb_settings": resolution.duckdb_settings,
                **({"reused": reused} if reused is not None else {}),
                **({"drift": drift} if drift is not None else {}),
            }
        )
    )


def _reused(records: Any, first: Resolution, truth: Any) -> dict[str, Any]:
    """The same records resolved again with the model `first` trained: its seconds, model,
    scores, and whether it made the same links and people."""
    kept = first.model.to_keep
    if kept is None:
        return {"skipped": f"the first run kept no trained model (model: {first.model.source})"}
    started, cpu_started = time.perf_counter(), time.process_time()
    again = resolve(records, saved_model=kept)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        **pairwise(again.person_records().select(["record_key", "person_id"]), truth),
        "model": again.model.as_metadata(),
        "same_links": again.links.sort_by([("record_key_l", "ascending"), ("record_key_r", "ascending")]).equals(
            first.links.sort_by([("record_key_l", "ascending"), ("record_key_r", "ascending")])
        ),
        "same_people": again.person_records().equals(first.person_records()),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "seconds_by_step": {step: round(s, 2) for step, s in again.seconds.items()},
    }


def _drift(base: Path, tmp: Path, days: int, first: Resolution) -> dict[str, Any]:
    """A copy of the world and warehouse `days` days on, resolved with `first`'s trained model
    and with one trained on it: the scores of both and how many records' people differ."""
    import shutil

    kept = first.model.to_keep
    if kept is None or not (base / "bench.duckdb").exists():
        return {"skipped": "needs a trained model and the DuckDB warehouse the world was loaded into"}
    world = tmp / "drifted-world"
    shutil.copytree(base / "world", world)
    shutil.copy(base / "bench.duckdb", tmp / "drifted.duckdb")
    changes = advance(world, days)
    warehouse = Warehouse.from_url(f"duckdb:///{tmp / 'drifted.duckdb'}")
    load_people_sources(warehouse, world)
    records = warehouse.read_arrow(records_sql())
    truth = truth_keys(world)
    runs: dict[str, Any] = {}
    people = {}
    for name, saved in (("reused", kept), ("retrained", None)):
        started, cpu_started = time.perf_counter(), time.process_time()
        resolution = resolve(records, saved_model=saved)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        people[name] = resolution.person_records().select(["record_key", "person_id"])
        runs[name] = {
            **pairwise(people[name], truth),
            "model": resolution.model.as_metadata(),
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu_seconds, 2),
        }
    # Both in record-key order, over the same records.
    differ = pc.sum(pc.not_equal(people["reused"]["person_id"], people["retrained"]["person_id"])).as_py() or 0
    return {
        "days": days,
        "world_changes": changes,
        "source_records": records.num_rows,
        **runs,
        "records_whose_person_differs": differ,
    }


if __name__ == "__main__":
    main()
