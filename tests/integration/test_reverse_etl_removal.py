"""Removal is a change: a record that leaves the source model (erased, deleted, merged) has its
mapped fields cleared in the CRM once, and its state row goes; with `on_removal: keep` only the
state row goes. Against the sandbox with the real client, on each warehouse."""

from __future__ import annotations

import dataclasses

import pytest

from ingestion.crm_clients import salesforce_client
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import load_spec
from tests.support import write_lead_scores

SPEC = load_spec("lead_scores_to_salesforce")
FIELDS = "Id, Lead_Score__c, Lead_Grade__c, Lead_Score_Reasons__c"


def _ids(sf, n: int) -> list[str]:
    soql = f"SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT {n}"
    return [r["Id"] for r in sf.query(soql)["records"]]


def _crm(sf, lead_id: str) -> tuple:
    record = sf.query_all(f"SELECT {FIELDS} FROM Lead WHERE Id = '{lead_id}'", include_deleted=True)["records"][0]
    return (record["Lead_Score__c"], record["Lead_Grade__c"], record["Lead_Score_Reasons__c"])


def _state_keys(warehouse) -> set[str]:
    return {key for (key,) in warehouse.query("select record_key from reverse_etl.sync_state")}


def test_a_record_that_leaves_gold_is_cleared_once(warehouse, sf, salesforce_sandbox):
    ids = _ids(sf, 5)
    rows = [(lead_id, 80, "A", "fit", 1) for lead_id in ids]
    write_lead_scores(warehouse, rows)
    destination = SalesforceDestination(sf)
    assert run_sync(SPEC, warehouse, destination).succeeded == 5

    erased, deleted = ids[0], ids[1]
    rep = salesforce_client(salesforce_sandbox.instance_url, salesforce_sandbox.rep_token, salesforce_sandbox.ca_path)
    rep.Lead.delete(deleted)  # gone from the CRM too: nothing left to clear there
    write_lead_scores(warehouse, rows[2:])
    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, warehouse, destination)
    patches = [r["records"] for r in salesforce_sandbox.request_log(mark) if r["method"] == "PATCH"]
    assert (result.planned_clear, result.cleared, result.failed, result.unchanged) == (2, 2, 0, 3)
    assert patches == [2]
    assert _crm(sf, erased) == (None, None, None)
    assert _crm(sf, ids[2]) == (80.0, "A", "fit")
    assert _state_keys(warehouse) == set(ids[2:])
    assert warehouse.query("select count(*) from reverse_etl.sync_rejections") == [(0,)]

    mark = salesforce_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, destination)
    assert (again.planned, again.sent) == (0, 0)
    assert [r for r in salesforce_sandbox.request_log(mark) if r["method"] != "GET"] == []

    # A lead that comes back is new again, and is sent.
    write_lead_scores(warehouse, [rows[0], *rows[2:]])
    back = run_sync(SPEC, warehouse, destination)
    assert (back.planned_new, back.succeeded) == (1, 1)
    assert _crm(sf, erased) == (80.0, "A", "fit")


def test_keep_leaves_the_crm_alone_and_forgets_the_record(warehouse, sf, salesforce_sandbox):
    spec = dataclasses.replace(SPEC, on_removal="keep")
    ids = _ids(sf, 3)
    rows = [(lead_id, 30, "C", "meh", 1) for lead_id in ids]
    write_lead_scores(warehouse, rows)
    run_sync(spec, warehouse, SalesforceDestination(sf))
    write_lead_scores(warehouse, rows[1:])
    mark = salesforce_sandbox.last_request_id()
    result = run_sync(spec, warehouse, SalesforceDestination(sf))
    assert (result.planned, result.sent) == (0, 0)
    assert [r for r in salesforce_sandbox.request_log(mark) if r["method"] != "GET"] == []
    assert _state_keys(warehouse) == set(ids[1:])
    assert _crm(sf, ids[0]) == (30.0, "C", "meh")


def test_a_change_under_the_threshold_waits_until_the_drift_reaches_it(warehouse, sf, salesforce_sandbox, tmp_path):
    from reverse_etl.spec import SpecError

    path = tmp_path / "thresholded.yaml"
    path.write_text(
        "name: thresholded\nsource: {schema: gold, table: salesforce_lead_scores, key: lead_id}\n"
        "destination: {kind: salesforce, object: Lead}\n"
        "fields: {score: Lead_Score__c, grade: Lead_Grade__c}\nchange_threshold: {score: 5}\n"
    )
    spec = load_spec(path)
    ids = _ids(sf, 2)
    write_lead_scores(warehouse, [(ids[0], 50, "B", "r", 1), (ids[1], 50, "B", "r", 1)])
    run_sync(spec, warehouse, SalesforceDestination(sf))

    write_lead_scores(warehouse, [(ids[0], 53, "B", "r", 1), (ids[1], 50, "A", "r", 1)])
    mark = salesforce_sandbox.last_request_id()
    small = run_sync(spec, warehouse, SalesforceDestination(sf))
    assert (small.below_threshold, small.planned_changed, small.sent) == (1, 1, 1)  # the grade always counts
    assert [r["records"] for r in salesforce_sandbox.request_log(mark) if r["method"] == "PATCH"] == [1]
    assert _crm(sf, ids[0])[0] == 50.0

    write_lead_scores(warehouse, [(ids[0], 55, "B", "r", 1), (ids[1], 50, "A", "r", 1)])
    drifted = run_sync(spec, warehouse, SalesforceDestination(sf))
    assert (drifted.below_threshold, drifted.succeeded) == (0, 1)  # 55 is 5 from the confirmed 50
    assert _crm(sf, ids[0])[0] == 55.0

    path.write_text(path.read_text().replace("score: 5}", "rules_matched: 5}"))
    with pytest.raises(SpecError, match="change_threshold 'rules_matched' must name a mapped column"):
        load_spec(path)
