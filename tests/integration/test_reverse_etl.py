"""Reverse ETL against the Salesforce sandbox with the real client, state in each warehouse.

What the CRM holds is read back through the API, and what was sent is read from the sandbox's
request log, so "sends nothing" means no PATCH reached the server.
"""

from __future__ import annotations

from typing import Any

import pytest

from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.planner import plan_sync
from reverse_etl.spec import load_spec
from tests.support import write_lead_scores

SPEC = load_spec("lead_scores_to_salesforce")
Row = tuple[Any, ...]


def _rows(ids: list[str], score: int = 50) -> list[Row]:
    return [(lead_id, score + i % 7, "AB"[i % 2], f"reason {i}", 1) for i, lead_id in enumerate(ids)]


def _patches(sandbox, since: int) -> list[dict[str, Any]]:
    return [r for r in sandbox.request_log(since) if r["method"] == "PATCH"]


def _crm(sf, ids: list[str]) -> dict[str, dict[str, Any]]:
    fields = "Id, Lead_Score__c, Lead_Grade__c, Lead_Score_Reasons__c"
    records = sf.query_all(f"SELECT {fields} FROM Lead")["records"]
    return {r["Id"]: r for r in records if r["Id"] in set(ids)}


@pytest.fixture
def lead_ids(sf) -> list[str]:
    return [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 50")["records"]]


def test_first_run_lands_in_salesforce_and_second_run_sends_no_patch(warehouse, sf, salesforce_sandbox, lead_ids):
    assert len(lead_ids) == 50
    rows = _rows(lead_ids)
    write_lead_scores(warehouse, rows)
    destination = SalesforceDestination(sf)

    mark = salesforce_sandbox.last_request_id()
    first = run_sync(SPEC, warehouse, destination)
    assert (first.planned_new, first.sent, first.succeeded, first.failed) == (50, 50, 50, 0)
    # The run's API calls, as the org logged them (the preflight's describe and one collection).
    first_calls = len(salesforce_sandbox.request_log(mark))
    assert first.api_calls == first_calls == 2
    assert [(p["path"].rsplit("/", 2)[-2:], p["records"]) for p in _patches(salesforce_sandbox, mark)] == [
        (["composite", "sobjects"], 50)
    ]
    crm = _crm(sf, lead_ids)
    for lead_id, score, grade, reasons, _ in rows:
        got = crm[lead_id]
        assert (got["Lead_Score__c"], got["Lead_Grade__c"], got["Lead_Score_Reasons__c"]) == (
            float(score),
            grade,
            reasons,
        )

    mark = salesforce_sandbox.last_request_id()
    second = run_sync(SPEC, warehouse, destination)
    assert (second.planned, second.sent, second.unchanged) == (0, 0, 50)
    assert _patches(salesforce_sandbox, mark) == []
    runs = warehouse.query("select status, sent, api_calls from reverse_etl.sync_runs order by started_at")
    assert runs == [("success", 50, first_calls), ("success", 0, 0)]


def test_only_the_changed_record_is_sent(warehouse, sf, salesforce_sandbox, lead_ids):
    rows = _rows(lead_ids)
    write_lead_scores(warehouse, rows)
    destination = SalesforceDestination(sf)
    run_sync(SPEC, warehouse, destination)

    target = rows[3][0]
    write_lead_scores(warehouse, [(target, 99, "A", rows[3][3], 1), *rows[:3], *rows[4:]])
    assert [(c.key, c.reason) for c in plan_sync(SPEC, warehouse).changes] == [(target, "changed")]
    mark = salesforce_sandbox.last_request_id()
    assert run_sync(SPEC, warehouse, destination).succeeded == 1
    assert [p["records"] for p in _patches(salesforce_sandbox, mark)] == [1]
    assert sf.Lead.get(target)["Lead_Score__c"] == 99.0


def test_a_too_long_reason_is_rejected_alone_and_retried_until_it_lands(warehouse, sf, salesforce_sandbox, lead_ids):
    rows = _rows(lead_ids[:5])
    bad_id = rows[2][0]
    missing_id = "00Q000000000NoSuch"
    rows[2] = (bad_id, 60, "B", "x" * 1001, 1)  # Lead_Score_Reasons__c holds 1000 characters
    write_lead_scores(warehouse, [*rows, (missing_id, 10, "D", "gone", 0)])
    destination = SalesforceDestination(sf)

    first = run_sync(SPEC, warehouse, destination)
    assert (first.succeeded, first.failed) == (4, 2)
    assert first.error_codes == {"STRING_TOO_LONG": 1, "INVALID_CROSS_REFERENCE_KEY": 1}
    rejections = dict(warehouse.query("select record_key, error from reverse_etl.sync_rejections"))
    assert rejections[bad_id].startswith("STRING_TOO_LONG: ")
    assert rejections[bad_id].endswith("(Lead_Score_Reasons__c)")
    synced = {r[0] for r in warehouse.query("select record_key from reverse_etl.sync_state")}
    assert synced == {r[0] for r in rows} - {bad_id}
    assert sf.Lead.get(rows[0][0])["Lead_Score_Reasons__c"] == rows[0][3]

    mark = salesforce_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, destination)
    assert (again.planned_retry, again.sent, again.failed) == (2, 2, 2)
    assert [p["records"] for p in _patches(salesforce_sandbox, mark)] == [2]
    attempts = dict(warehouse.query("select record_key, attempts from reverse_etl.sync_rejections"))
    assert attempts == {bad_id: 2, missing_id: 2}

    rows[2] = (bad_id, 60, "B", "fixed", 1)
    write_lead_scores(warehouse, rows)
    fixed = run_sync(SPEC, warehouse, destination)
    assert (fixed.planned_retry, fixed.succeeded, fixed.failed) == (1, 1, 0)
    remaining = warehouse.query("select record_key from reverse_etl.sync_rejections")
    assert remaining == [(missing_id,)]  # no longer in the source: kept as history, never retried
    assert sf.Lead.get(bad_id)["Lead_Score_Reasons__c"] == "fixed"


def test_dry_run_sends_nothing_and_keeps_no_state(warehouse, sf, salesforce_sandbox, lead_ids):
    write_lead_scores(warehouse, _rows(lead_ids))
    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, warehouse, SalesforceDestination(sf), dry_run=True)
    assert (result.planned, result.sent) == (50, 0)
    assert _patches(salesforce_sandbox, mark) == []
    assert warehouse.query("select count(*) from reverse_etl.sync_state") == [(0,)]
    assert warehouse.query("select dry_run, status from reverse_etl.sync_runs") == [(True, "dry_run")]


def test_450_records_take_exactly_three_collection_calls(warehouse, sf, salesforce_sandbox):
    new_leads = [
        {
            "attributes": {"type": "Lead"},
            "LastName": f"Batch{i}",
            "Company": "Leadloop",
            "Status": "Open - Not Contacted",
        }
        for i in range(300)
    ]
    for start in (0, 150):
        created = sf.restful(
            "composite/sobjects", method="POST", json={"allOrNone": True, "records": new_leads[start : start + 150]}
        )
        assert all(r["success"] for r in created)
    ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Lead WHERE IsConverted = false")["records"]][:450]
    assert len(ids) == 450
    write_lead_scores(warehouse, _rows(ids))

    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, warehouse, SalesforceDestination(sf))
    calls = [r for r in salesforce_sandbox.request_log(mark) if r["path"].endswith("/composite/sobjects")]
    assert [(c["method"], c["records"]) for c in calls] == [("PATCH", 200), ("PATCH", 200), ("PATCH", 50)]
    assert (result.sent, result.succeeded, result.failed) == (450, 450, 0)
    assert len(_crm(sf, ids)) == 450
    assert all(r["Lead_Score__c"] is not None for r in _crm(sf, ids).values())


def test_on_a_bad_day_every_record_lands_exactly_as_confirmed(warehouse, world_dir):
    """503s, cut-off responses and per-record lock errors: no record is marked synced that the
    CRM does not hold, and re-runs converge on every record with nothing sent twice once synced."""
    from ingestion.crm_clients import salesforce_client
    from sandbox.faults import Faults
    from sandbox.salesforce.server import SalesforceSandbox

    faults = Faults(seed=5, server_error_rate=0.2, drop_connection_rate=0.2, record_rejection_rate=0.1)
    with SalesforceSandbox(world_dir, faults=faults) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        destination = SalesforceDestination(sf, backoff=0.01, max_wait=0.05)
        ids = []
        while not ids:  # the read itself may meet a fault
            try:
                soql = "SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT 120"
                ids = [r["Id"] for r in sf.query(soql)["records"]]
            except Exception:  # noqa: BLE001 - any injected failure; try again
                continue
        write_lead_scores(warehouse, _rows(ids))
        results = [run_sync(SPEC, warehouse, destination) for _ in range(6)]
        patches = [r for r in sandbox.request_log() if r["method"] == "PATCH"]
        # 120 records are one collection call on a good day; every further call is a retry.
        assert len(patches) > 1, "the faults should have bitten"
        assert results[-1].planned == 0
        synced = dict(warehouse.query("select record_key, payload from reverse_etl.sync_state"))
    assert len(synced) == 120
    with SalesforceSandbox(world_dir) as clean:
        sf = salesforce_client(clean.instance_url, clean.token, clean.ca_path)
        crm = {r["Id"]: r["Lead_Score__c"] for r in sf.query_all("SELECT Id, Lead_Score__c FROM Lead")["records"]}
    for lead_id, score, *_ in _rows(ids):
        assert crm[lead_id] == float(score)
