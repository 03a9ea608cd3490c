"""The change gate: the loop's later steps are skipped only when nothing they are built from
changed and every one of them succeeded on it; a forced run, a failed step or new data runs them."""

from __future__ import annotations

from orchestration import change_gate
from warehouse import Warehouse


def _bronze(warehouse: Warehouse, load_id: str, rows: list[tuple[str, int]]) -> None:
    with warehouse.connect() as conn:
        conn.execute("create schema if not exists bronze_crm")
        conn.execute("create or replace table bronze_crm.lead (id varchar, score integer, _dlt_load_id varchar)")
        conn.executemany("insert into bronze_crm.lead values (?, ?, ?)", [(*row, load_id) for row in rows])


def _all_succeed(warehouse: Warehouse, run_id: str) -> None:
    for step in change_gate.gated_steps():
        change_gate.record_success(warehouse, step, run_id)


def test_unchanged_inputs_skip_only_once_every_step_succeeded_on_them(duckdb_warehouse, tmp_path):
    _bronze(duckdb_warehouse, "1.0", [("a", 1), ("b", 2)])
    landing = str(tmp_path / "landing")

    first = change_gate.decide(duckdb_warehouse, landing, run_id="r1", forced=False)
    assert not first.skip and "bronze_crm.lead" in first.reason
    # Nothing recorded yet: the next run must do the work again.
    assert not change_gate.decide(duckdb_warehouse, landing, run_id="r2", forced=False).skip
    _all_succeed(duckdb_warehouse, "r2")

    # The same rows loaded again (a new dlt load id): no change.
    _bronze(duckdb_warehouse, "2.0", [("b", 2), ("a", 1)])
    same = change_gate.decide(duckdb_warehouse, landing, run_id="r3", forced=False)
    assert same.skip and same.unchanged_since_run == "r2" and "nothing new" in same.reason
    # Forced: runs, and says so.
    forced = change_gate.decide(duckdb_warehouse, landing, run_id="r4", forced=True)
    assert not forced.skip and "forced" in forced.reason

    # A step that left work to retry (a rejected sync record) keeps the next run from skipping.
    change_gate.forget(duckdb_warehouse, change_gate.sync_step("lead_scores_to_salesforce"))
    behind = change_gate.decide(duckdb_warehouse, landing, run_id="r5", forced=False)
    assert not behind.skip and "sync:lead_scores_to_salesforce" in behind.reason
    _all_succeed(duckdb_warehouse, "r5")
    assert change_gate.decide(duckdb_warehouse, landing, run_id="r6", forced=False).skip

    # One value changed, or an erasure file landed: the later steps run again.
    _bronze(duckdb_warehouse, "3.0", [("a", 1), ("b", 3)])
    assert not change_gate.decide(duckdb_warehouse, landing, run_id="r7", forced=False).skip
    _all_succeed(duckdb_warehouse, "r7")
    (tmp_path / "landing" / "erasure").mkdir(parents=True)
    (tmp_path / "landing" / "erasure" / "requests.csv").write_text("email\nx@example.com\n")
    dropped = change_gate.decide(duckdb_warehouse, landing, run_id="r8", forced=False)
    assert not dropped.skip and "erasure files" in dropped.reason


def test_full_run_tag():
    assert change_gate.is_full_run({change_gate.FULL_RUN_TAG: "true"})
    assert not change_gate.is_full_run({})
