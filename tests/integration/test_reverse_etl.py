"""Reverse ETL against the sandbox with the real client, state in each warehouse."""

from __future__ import annotations

import pytest

from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.planner import plan_sync
from reverse_etl.spec import load_spec

SPEC = load_spec("lead_scores_to_salesforce")


def _gold(warehouse, rows):
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.lead_scores")
        cur.execute(
            "create table gold.lead_scores (lead_id varchar, score integer, grade varchar, reasons varchar, "
            "rules_matched integer)"
        )
        cur.executemany(warehouse.adapt_sql("insert into gold.lead_scores values (?, ?, ?, ?, ?)"), rows)


def _rows(ids, score=50):
    return [(lead_id, score + i % 7, "B", f"reason {i}", 1) for i, lead_id in enumerate(ids)]


def _collection_calls(sandbox, since):
    return [r for r in sandbox.request_log(since) if r["path"].endswith("/composite/sobjects")]


@pytest.fixture
def lead_ids(sf):
    return [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 50")["records"]]


def test_first_run_sends_everything_second_run_nothing(warehouse, sf, salesforce_sandbox, lead_ids):
    _gold(warehouse, _rows(lead_ids))
    destination = SalesforceDestination(sf)

    first = run_sync(SPEC, warehouse, destination)
    assert (first.planned_new, first.sent, first.succeeded, first.failed) == (50, 50, 50, 0)
    crm = {r["Id"]: r for r in sf.query_all("SELECT Id, Lead_Score__c, Lead_Score_Reasons__c FROM Lead")["records"]}
    for lead_id, score, _, reasons, _ in _rows(lead_ids):
        assert (crm[lead_id]["Lead_Score__c"], crm[lead_id]["Lead_Score_Reasons__c"]) == (float(score), reasons)

    mark = salesforce_sandbox.last_request_id()
    second = run_sync(SPEC, warehouse, destination)
    assert (second.planned, second.sent, second.unchanged) == (0, 0, 50)
    assert _collection_calls(salesforce_sandbox, mark) == []
    runs = warehouse.query("select status, sent from reverse_etl.sync_runs order by started_at")
    assert runs == [("success", 50), ("success", 0)]


def test_only_the_changed_record_is_sent_and_a_change_back_is_a_change(warehouse, sf, salesforce_sandbox, lead_ids):
    rows = _rows(lead_ids)
    _gold(warehouse, rows)
    destination = SalesforceDestination(sf)
    run_sync(SPEC, warehouse, destination)

    changed = [(rows[3][0], 99, "A", rows[3][3], 1), *rows[:3], *rows[4:]]
    _gold(warehouse, changed)
    plan = plan_sync(SPEC, warehouse)
    assert [(c.key, c.reason, c.payload["Lead_Score__c"]) for c in plan.changes] == [(rows[3][0], "changed", 99.0)]
    mark = salesforce_sandbox.last_request_id()
    assert run_sync(SPEC, warehouse, destination).succeeded == 1
    assert [c["records"] for c in _collection_calls(salesforce_sandbox, mark)] == [1]

    _gold(warehouse, rows)
    assert [c.key for c in plan_sync(SPEC, warehouse).changes] == [rows[3][0]]


def test_a_rejected_record_is_kept_with_its_error_and_retried_until_it_lands(warehouse, sf, lead_ids):
    rows = _rows(lead_ids[:5])
    bad_id = rows[2][0]
    rows[2] = (bad_id, 60, "B", "x" * 1001, 1)  # Lead_Score_Reasons__c holds 1000 characters
    _gold(warehouse, rows)
    destination = SalesforceDestination(sf)

    first = run_sync(SPEC, warehouse, destination)
    assert (first.succeeded, first.failed) == (4, 1)
    assert "STRING_TOO_LONG" in first.first_error
    assert warehouse.query("select record_key, attempts from reverse_etl.sync_rejections") == [(bad_id, 1)]
    assert bad_id not in {r[0] for r in warehouse.query("select record_key from reverse_etl.sync_state")}

    again = run_sync(SPEC, warehouse, destination)
    assert (again.planned_retry, again.sent, again.failed) == (1, 1, 1)
    assert warehouse.query("select attempts from reverse_etl.sync_rejections") == [(2,)]

    rows[2] = (bad_id, 60, "B", "fixed", 1)
    _gold(warehouse, rows)
    fixed = run_sync(SPEC, warehouse, destination)
    assert (fixed.planned_retry, fixed.succeeded) == (1, 1)
    assert warehouse.query("select count(*) from reverse_etl.sync_rejections") == [(0,)]
    assert sf.Lead.get(bad_id)["Lead_Score_Reasons__c"] == "fixed"


def test_dry_run_sends_nothing_and_keeps_no_state(warehouse, sf, salesforce_sandbox, lead_ids):
    _gold(warehouse, _rows(lead_ids))
    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, warehouse, SalesforceDestination(sf), dry_run=True)
    assert (result.planned, result.sent) == (50, 0)
    assert _collection_calls(salesforce_sandbox, mark) == []
    assert warehouse.query("select count(*) from reverse_etl.sync_state") == [(0,)]
    assert warehouse.query("select status from reverse_etl.sync_runs") == [("dry_run",)]


def test_batches_hold_at_most_200_records(duckdb_warehouse, sf, salesforce_sandbox):
    ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]]
    assert len(ids) == 200
    rows = _rows(ids) + [(f"00Q0000000MISSING{i}"[:18], 10, "D", "gone", 0) for i in range(3)]
    _gold(duckdb_warehouse, rows)
    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, duckdb_warehouse, SalesforceDestination(sf))
    assert [c["records"] for c in _collection_calls(salesforce_sandbox, mark)] == [200, 3]
    assert (result.succeeded, result.failed) == (200, 3)
