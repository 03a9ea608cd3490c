"""Scoring at scale: the dbt models from silver to gold.lead_scores on 100k and 1M people (DuckDB),
and the propensity session on the same warehouse. Prints one JSON line per size.

Generating, loading and resolving a 1M-lead world takes far longer than scoring it, so the
scaled warehouse is made from a scored one (the demo's, or `--base`): every bronze and silver
table (rules seeds and caches excepted) is copied k times with each copy's keys made distinct
(ids, record keys, emails), so people, their records and events keep the base world's shape and
every join matches within its copy only. Then gold is rebuilt from scratch:
`dbt run --select +lead_scores --full-refresh` (staging views, identity and scoring
intermediates, the history and the scores), timed as a whole, dbt start-up included.

Usage: python bench/scoring_scale.py [--sizes 100000,1000000] [--base data/warehouse.duckdb]
(`make demo` first makes the base.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import peak_rss_mb  # noqa: E402
from orchestration.assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR  # noqa: E402
from scoring.propensity import run_propensity  # noqa: E402
from warehouse import Warehouse  # noqa: E402

SEEDS = {p.stem for p in (DBT_PROJECT_DIR / "seeds").glob("*.csv")}
# Keyed by company domain, not by person: one copy serves every replica.
SHARED = {"enrichment_cache"}
KEY_NAMES = {"id", "record_key", "linked_record_key", "imb_tracking"}
OFFSET = 1_000_000_000


def _is_key(name: str) -> bool:
    return name in KEY_NAMES or name.endswith("_id") or name.endswith("_ids")


def _text_key(column: str, k: int) -> str:
    """A text id made distinct per copy: digits shift by k * 1e9 (as integer ids do, so a HubSpot
    id stored as text in one table and as a number in another still joins), others get `~k`."""
    return (
        f"case when regexp_full_match({column}, '[0-9]{{1,12}}') "
        f"then cast(cast({column} as bigint) + {k * OFFSET} as varchar) else {column} || '~{k}' end"
    )


def _expression(name: str, kind: str, k: int) -> str:
    quoted = f'"{name}"'
    if k == 0:
        return quoted
    if "email" in name and kind == "VARCHAR":
        return f"replace({quoted}, '@', '-r{k}@')"
    if not _is_key(name):
        return quoted
    if kind in {"INTEGER", "BIGINT"}:
        return f"cast({quoted} as bigint) + {k * OFFSET}"
    if kind != "VARCHAR":
        return quoted
    if name in {"record_key", "linked_record_key"}:  # "<source>:<id>"
        rest = f"substr({quoted}, strpos({quoted}, ':') + 1)"
        return f"split_part({quoted}, ':', 1) || ':' || ({_text_key(rest, k)})"
    return _text_key(quoted, k)


def scale_up(path: Path, copies: int) -> None:
    """Every bronze/silver table of the DuckDB file at `path`, `copies` times, keys distinct."""
    with duckdb.connect(str(path)) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "and (table_schema like 'bronze%' or table_schema in ('silver', 'privacy'))"
        ).fetchall()
        for schema, table in tables:
            if table in SEEDS or table in SHARED or table.startswith("_dlt"):
                continue
            columns = conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            copies_sql = " union all ".join(
                f"select {', '.join(_expression(n, t, k) + f' as {chr(34)}{n}{chr(34)}' for n, t in columns)} "
                f'from "{schema}"."{table}"'
                for k in range(copies)
            )
            conn.execute(f'create table "{schema}"."{table}__scaled" as {copies_sql}')
            conn.execute(f'drop table "{schema}"."{table}"')
            conn.execute(f'alter table "{schema}"."{table}__scaled" rename to "{table}"')
        conn.execute("drop schema if exists gold cascade")


def dbt_seconds(warehouse: Warehouse, target: Path) -> float:
    command = [DBT_EXECUTABLE, "run", "--select", "+lead_scores", "--full-refresh", "--threads", "2"]
    command += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(target)]
    started = time.perf_counter()
    result = subprocess.run(command, env={**os.environ, **warehouse.dbt_env()}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"dbt failed:\n{result.stdout[-3000:]}")
    return seconds


def bench(base: Path, size: int) -> dict[str, Any]:
    with duckdb.connect(str(base), read_only=True) as conn:
        (people,) = conn.execute("select count(*) from gold.lead_scores").fetchone()
    copies = max(1, round(size / people))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scaled.duckdb"
        shutil.copy(base, path)
        started = time.perf_counter()
        scale_up(path, copies)
        scale_seconds = time.perf_counter() - started
        warehouse = Warehouse.from_url(f"duckdb:///{path}")
        seconds = dbt_seconds(warehouse, Path(tmp) / "target")
        (scored,) = warehouse.query("select count(*) from gold.lead_scores")[0]
        started = time.perf_counter()
        run = run_propensity(warehouse)
        propensity_seconds = time.perf_counter() - started
    return {
        "benchmark": "scoring",
        "warehouse": "duckdb",
        "people": int(scored),
        "base_people": int(people),
        "copies": copies,
        "dbt_silver_to_lead_scores_seconds": round(seconds, 1),
        "people_per_s": round(scored / seconds),
        "target_seconds_at_1m": 60,
        "propensity_seconds": round(propensity_seconds, 1),
        "propensity_model": run.model_version,
        "propensity_published": run.published,
        "scaling_seconds": round(scale_seconds, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--base", default="data/warehouse.duckdb", help="a scored DuckDB warehouse (make demo)")
    args = parser.parse_args()
    base = Path(args.base)
    if not base.is_file():
        raise SystemExit(f"no scored warehouse at {base}: run `make demo` first or pass --base")
    for size in (int(s) for s in re.split(r"[,\s]+", args.sizes) if s):
        print(json.dumps(bench(base, size)), flush=True)


if __name__ == "__main__":
    main()
