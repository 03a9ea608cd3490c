"""Benchmark: Salesforce ingestion on the org's bad day (issue 25: with 10 % 5xx and 5 % cut-off
responses, 3 of 3 loads failed and none of the 8 objects loaded).

A clean first load is the reference; then `--loads` first loads, each against a sandbox with
its own seed of 10 % 503s, 5 % responses cut off mid-body and a 429 (Retry-After 1 s) every
`--throttle-every` requests, with the source's read retries, and as many without them (the
control). Objects of `--bulk-threshold` rows or more read through Bulk API 2.0. Prints one JSON
object: loads that succeeded with and without retries, rows duplicated / lost against the
reference, and seconds (clean, and the median faulted load).

Usage: python bench/salesforce_faults.py [--leads N] [--loads L] [--bulk-threshold B]
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

from harness import sandbox_process, world_for_run, world_leads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.reliability

from ingestion.crm_clients import salesforce_client, with_read_retries  # noqa: E402
from ingestion.pipelines import load_pipeline  # noqa: E402
from ingestion.salesforce import salesforce_source  # noqa: E402
from tests.reliability.crash_harness import bronze_rows, compare  # noqa: E402
from warehouse import Warehouse  # noqa: E402


def _load(warehouse: Warehouse, org: dict[str, str], bulk_threshold: int, read_attempts: int) -> float:
    sf = with_read_retries(salesforce_client(org["instance_url"], org["token"], Path(org["ca_path"])), read_attempts)
    source = salesforce_source(client_factory=lambda: sf, bulk_threshold=bulk_threshold, bulk_poll_seconds=0)
    started = time.perf_counter()
    with load_pipeline("salesforce", warehouse) as pipeline:
        pipeline.run(source).raise_on_failed_jobs()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--bulk-threshold", type=int, default=1_000)
    parser.add_argument("--throttle-every", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        world = world_for_run(tmp_path, args.leads)
        clean = Warehouse.from_url(f"duckdb:///{tmp_path / 'clean.duckdb'}")
        with sandbox_process("salesforce", world) as org:
            clean_seconds = _load(clean, org, args.bulk_threshold, read_attempts=6)
        reference = bronze_rows(clean, "bronze_salesforce")
        outcomes: dict[str, Any] = {"with_retries": [], "without_retries": []}
        seconds, wrong = [], {"duplicated": 0, "lost": 0, "extra": 0}
        for seed in range(1, args.loads + 1):
            faults = (
                f"seed={seed},server_error_rate=0.1,drop_connection_rate=0.05,"
                f"throttle_every={args.throttle_every},throttle_burst=1,retry_after=1"
            )
            for label, attempts in (("with_retries", 6), ("without_retries", 1)):
                target = Warehouse.from_url(f"duckdb:///{tmp_path / f'{label}-{seed}.duckdb'}")
                with sandbox_process("salesforce", world, faults) as org:
                    try:
                        took = _load(target, org, args.bulk_threshold, read_attempts=attempts)
                    except Exception as exc:  # the control is expected to fail; say how
                        outcomes[label].append(f"failed: {type(exc).__name__}")
                        continue
                outcomes[label].append("loaded")
                if label == "with_retries":
                    seconds.append(took)
                    for counts in compare(bronze_rows(target, "bronze_salesforce"), reference).values():
                        for key, n in counts.items():
                            wrong[key] += n
        print(
            json.dumps(
                {
                    "benchmark": "salesforce_faults",
                    "leads": world_leads(world),
                    "faults": "10% 503, 5% cut off mid-body, a 429 (Retry-After 1 s) every "
                    f"{args.throttle_every} requests",
                    "rows": sum(sum(rows.values()) for rows in reference.values()),
                    "loads_succeeded_with_retries": f"{outcomes['with_retries'].count('loaded')} of {args.loads}",
                    "loads_succeeded_without_retries": f"{outcomes['without_retries'].count('loaded')} of {args.loads}",
                    "outcomes": outcomes,
                    **{f"{key}_rows": n for key, n in wrong.items()},
                    "clean_seconds": round(clean_seconds, 2),
                    "faulted_seconds_median": round(statistics.median(seconds), 2) if seconds else None,
                }
            )
        )


if __name__ == "__main__":
    main()
