"""Benchmark: the reporting app's ad-hoc SQL path (issue 23) on a gold table of --rows rows.

Measures the SQL guard alone (sqlglot parse, checks, qualification) and a whole ad-hoc query
through `ReadOnlyWarehouse.run` (guard, a fresh read-only connection, the row-limited query,
fetch), on DuckDB and, with --postgres URL (an empty database the benchmark may write), on
Postgres through the reader role. Prints one JSON object.

Usage: python bench/reporting_queries.py [--rows N] [--queries Q] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reporting.readonly import for_reading  # noqa: E402
from reporting.sql_guard import checked_query  # noqa: E402
from warehouse import Warehouse  # noqa: E402

QUERY = (
    "with graded as (select grade, score from lead_scores where score > 10) "
    "select grade, count(*) as people, avg(score) as mean_score from graded group by grade order by grade"
)


def seed(warehouse: Warehouse, rows: int) -> None:
    grades = "case when i % 4 = 0 then 'A' when i % 4 = 1 then 'B' when i % 4 = 2 then 'C' else 'D' end"
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.lead_scores")
        cur.execute(
            f"create table gold.lead_scores as select 'per_' || cast(i as varchar) as person_id, "
            f"cast(i % 100 as integer) as score, {grades} as grade from generate_series(1, {rows}) as t(i)"
        )


def timed_queries(warehouse: Warehouse, queries: int) -> dict[str, float]:
    reader = for_reading(warehouse, max_rows=1000, timeout_seconds=30)
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        result = reader.run(QUERY)
        times.append((time.perf_counter() - started) * 1000)
        assert len(result.rows) == 4
    times.sort()
    return {
        "query_ms_p50": round(statistics.median(times), 2),
        "query_ms_p95": round(times[int(len(times) * 0.95) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()

    started = time.perf_counter()
    checks = 500
    for _ in range(checks):
        checked_query(QUERY, "duckdb")
    guard_per_s = checks / (time.perf_counter() - started)

    out: dict[str, object] = {
        "benchmark": "reporting_queries",
        "rows": args.rows,
        "guard_checks_per_s": round(guard_per_s, 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        duck = Warehouse.from_url(f"duckdb:///{Path(tmp) / 'warehouse.duckdb'}")
        seed(duck, args.rows)
        out["duckdb"] = timed_queries(duck, args.queries)
    if args.postgres:
        pg = Warehouse.from_url(args.postgres)
        seed(pg, args.rows)
        out["postgres"] = timed_queries(pg, args.queries)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
