"""The Dagster graph a data engineer sees in `dagster dev`: one connected lineage, described."""

from __future__ import annotations

import subprocess
import sys

from dagster import AssetCheckKey, AssetKey

from orchestration.build import LEAD_LOOP_JOB, build_definitions

BRONZE_LEAD = AssetKey(["bronze_salesforce", "lead"])
GOLD_SCORES = AssetKey(["gold", "salesforce_lead_scores"])
SYNC = AssetKey(["reverse_etl", "lead_scores_to_salesforce"])


def _graph(duckdb_warehouse):
    defs = build_definitions(duckdb_warehouse)
    return defs, defs.resolve_asset_graph()


def test_lineage_is_one_connected_graph_from_crm_to_sync(duckdb_warehouse):
    _, graph = _graph(duckdb_warehouse)
    keys = set(graph.get_all_asset_keys())
    assert {BRONZE_LEAD, GOLD_SCORES, SYNC} <= keys
    # The dbt source is the dlt asset, not a dangling external asset of its own.
    staging = AssetKey(["silver", "stg_salesforce__leads"])
    assert BRONZE_LEAD in graph.get(staging).parent_keys
    assert GOLD_SCORES in graph.get(SYNC).parent_keys
    # Walk upstream from the sync: it must reach bronze.
    seen, frontier = set(), [SYNC]
    while frontier:
        key = frontier.pop()
        seen.add(key)
        frontier.extend(graph.get(key).parent_keys - seen)
    assert BRONZE_LEAD in seen


def test_every_asset_has_a_group_kinds_and_description(duckdb_warehouse):
    _, graph = _graph(duckdb_warehouse)
    for node in graph.asset_nodes:
        if not node.is_materializable:
            continue
        spec = node.to_asset_spec()
        assert spec.group_name, node.key
        assert spec.kinds, node.key
        assert spec.description, node.key


def test_dbt_tests_and_gx_contract_are_asset_checks(duckdb_warehouse):
    _, graph = _graph(duckdb_warehouse)
    checks = {(key.asset_key, key.name) for key in graph.asset_check_keys}
    assert (GOLD_SCORES, "gx_salesforce_lead_scores_contract") in checks
    assert (GOLD_SCORES, "unique_salesforce_lead_scores_lead_id") in checks
    assert graph.get_check_spec(AssetCheckKey(GOLD_SCORES, "gx_salesforce_lead_scores_contract")).blocking


def test_the_lead_loop_job_selects_everything(duckdb_warehouse):
    defs, graph = _graph(duckdb_warehouse)
    job = defs.resolve_job_def(LEAD_LOOP_JOB)
    assert set(job.asset_layer.selected_asset_keys) == {n.key for n in graph.asset_nodes if n.is_materializable}


def test_workspace_loads_with_dagster_cli(tmp_path):
    """What `dagster dev -w workspace.yaml` loads, checked by Dagster's own validator."""
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        env={"PATH": "", "HOME": str(tmp_path), "LEADLOOP_WAREHOUSE_URL": f"duckdb:///{tmp_path}/w.duckdb"},
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
