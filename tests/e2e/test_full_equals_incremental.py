"""Incremental runs end where a rebuild from scratch would: after the world moved on a day and the
loop ran again on the warehouse the first loop left, every gold table that does not record the
path itself equals what one loop on a fresh warehouse builds from the same world."""

from __future__ import annotations

from contextlib import ExitStack
from decimal import Decimal
from typing import Any

import pytest

from orchestration.demo import run_lead_loop
from sandbox.advance import advance_world
from tests.support import postgres_database
from warehouse import Warehouse

pytestmark = pytest.mark.e2e

# Gold that keeps the path by design: what happened before decides what it holds, so a rebuild
# from scratch, which has no past, may hold something else. Everything else must be equal.
PATH_DEPENDENT_TABLES = {
    "lead_score_history": "a row per change of score: the runs' path is its content",
    "lead_routing": "owners are sticky: the previous run's owner is kept (incremental model)",
    "lead_speed_to_lead": "assignment times and owners of the sticky routing",
    "speed_to_lead_slis": "aggregates lead_speed_to_lead",
    "lead_actions": "actions fire on score jumps between runs and are kept (cancelled, not deleted)",
    "salesforce_action_tasks": "the Tasks of lead_actions",
    "propensity_models": "one row per training session: the registry of the runs' models",
    "pipeline_source_health": "the loads' own bookkeeping (rows per load, hours since the last)",
    "pipeline_sync_health": "sync bookkeeping: what each run sent and confirmed",
}
PATH_DEPENDENT_COLUMNS = {
    # Sticky once the MQL threshold is reached: a person who dipped below stays an MQL.
    "lead_scores": {"is_mql", "mql_at"},
    "salesforce_lead_scores": {"is_mql", "mql_at"},
    "salesforce_contact_scores": {"is_mql", "mql_at"},
    "hubspot_contact_scores": {"is_mql", "mql_at"},
    # Which session's model scored: trained again on the same outcomes it is the same model,
    # but its version names the session.
    "lead_propensity": {"model_version", "scored_at"},
    # The funnel's MQL stage is the sticky `mql_at` above; its other stages are not.
    "funnel_by_source_and_campaign": {
        "mqls",
        "lead_to_mql_rate",
        "mql_to_sql_rate",
        "median_days_lead_to_mql",
        "median_days_mql_to_sql",
    },
}


def gold(warehouse: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Each path-independent gold table as its sorted rows, path-dependent columns left out."""
    rows = warehouse.query(
        "select table_name, column_name from information_schema.columns where table_schema = 'gold' "
        "order by table_name, ordinal_position"
    )
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        if table not in PATH_DEPENDENT_TABLES and column not in PATH_DEPENDENT_COLUMNS.get(table, ()):
            columns.setdefault(table, []).append(column)
    tables = {}
    for table, cols in columns.items():
        rows = warehouse.query(f"select {_listed(cols)} from gold.{table}")
        tables[table] = sorted((tuple(_comparable(v) for v in row) for row in rows), key=repr)
    return tables


def _listed(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _comparable(value: Any) -> Any:
    """Floats summed in another order differ in the last bits; nothing else is rounded."""
    if isinstance(value, float | Decimal):
        return round(float(value), 9)
    return value


def test_gold_after_incremental_runs_equals_a_rebuild_from_scratch(looped, tmp_path):
    changes = advance_world(looped.world_dir, days=1)
    assert changes["new_leads"] + changes["changed_leads"] + changes["deleted_leads"] > 0
    looped.run()
    incremental = gold(looped.warehouse)

    with ExitStack() as stack:
        if looped.warehouse.is_duckdb:
            fresh = Warehouse.from_url(f"duckdb:///{tmp_path / 'rebuilt.duckdb'}")
        else:
            fresh = stack.enter_context(postgres_database("leadloop_rebuilt"))
        run_lead_loop(fresh, looped.salesforce, hubspot=looped.hubspot)
        rebuilt = gold(fresh)

    assert set(incremental) == set(rebuilt)
    assert {"lead_scores", "salesforce_lead_scores", "lead_propensity"} <= set(rebuilt)
    differing = {table for table in rebuilt if incremental[table] != rebuilt[table]}
    detail = {
        t: (len(incremental[t]), len(rebuilt[t]), _first_difference(incremental[t], rebuilt[t])) for t in differing
    }
    assert differing == set(), detail


def _first_difference(left: list[tuple[Any, ...]], right: list[tuple[Any, ...]]) -> Any:
    only_left = [row for row in left if row not in right][:2]
    only_right = [row for row in right if row not in left][:2]
    return only_left, only_right
