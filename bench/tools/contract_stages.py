"""Where a contract's time goes: each contract evaluated cold on a kept warehouse, timed by stage.

Stages: the content fingerprint, the SQL guards (schema, row count, distribution, freshness,
exclusions), the rows fetched for GX, the GX validation itself, and uniqueness counted in SQL
when the table is sampled. Run it on the folder `bench/contracts_cost.py --keep DIR` left (the
warehouse must not be open elsewhere). GX is imported first, as in a pipeline run, so its
multi-second import is not charged to the first contract. Prints one JSON object.

Usage: python bench/tools/contract_stages.py DIR
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import great_expectations  # noqa: F401  (imported before the clock starts)

import expectations.runner as runner
from expectations.config import load_contracts
from expectations.session import Session
from warehouse import Warehouse

took: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
current = [""]


def _timed(owner: Any, name: str, stage: str) -> None:
    """Wraps `owner.name` so its time is added to the current contract's `stage`."""
    inner: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            took[current[0]][stage] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder bench/contracts_cost.py --keep left")
    args = parser.parse_args()
    for owner, name, stage in (
        (runner, "fingerprint", "fingerprint"),
        (runner, "evaluate_guards", "sql_guards"),
        (runner, "duplicate_values", "sql_uniqueness"),
        (Session, "query_df", "gx_rows_fetched"),
        (runner, "_validate_dataframe", "gx_validation"),
        (runner, "_validate_postgres_table", "gx_validation"),
    ):
        _timed(owner, name, stage)
    warehouse = Warehouse.from_url(f"duckdb:///{args.folder.resolve()}/warehouse.duckdb")
    with warehouse.connect() as conn:  # no stored pass to reuse: every contract runs in full
        conn.cursor().execute("update contracts.table_profiles set fingerprint = null")
    report = {}
    for suite in load_contracts():
        current[0] = suite
        started = time.perf_counter()
        outcome = runner.validate_contract(warehouse, suite)
        stages = {stage: round(seconds, 3) for stage, seconds in took[suite].items()}
        report[suite] = {
            "status": outcome.status,
            "rows": outcome.row_count,
            "sampled_rows": outcome.sampled_rows,
            "seconds": round(time.perf_counter() - started, 3),
            **stages,
        }
    total = round(sum(r["seconds"] for r in report.values()), 2)
    print(json.dumps({"benchmark": "contract_stages", "cold_validation_s_total": total, "contracts": report}))


if __name__ == "__main__":
    main()
