"""Large syncs go through one Salesforce Bulk API 2.0 ingest job instead of a collection call per
200 records; the job's per-record successful / failed results decide what is marked synced.
The real simple-salesforce client runs the job against the sandbox."""

from __future__ import annotations

from typing import Any

from reverse_etl.destinations.salesforce import BULK_CALLS_PER_JOB, SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import load_spec
from sandbox.faults import Faults
from sandbox.salesforce.server import SalesforceSandbox
from tests.support import write_lead_scores

SPEC = load_spec("lead_scores_to_salesforce")


def _rows(ids: list[str]) -> list[tuple[Any, ...]]:
    return [(lead_id, 40 + i % 9, "ABCD"[i % 4], f"bulk reason {i}", 1) for i, lead_id in enumerate(ids)]


def _api_calls(sandbox, since: int) -> list[tuple[str, str]]:
    return [(r["method"], r["path"].split("/v59.0/", 1)[1].split("/")[0]) for r in sandbox.request_log(since)]


def test_2000_records_go_in_one_bulk_job_with_per_record_results(warehouse, sf, salesforce_sandbox):
    new = [{"LastName": f"Bulk{i}", "Company": "Leadloop", "Status": "Open - Not Contacted"} for i in range(2_000)]
    (created,) = sf.bulk2.Lead.insert(records=new, wait=0)
    assert created["numberRecordsFailed"] == 0
    ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id")["records"]]
    assert len(ids) > 2_000
    rows = _rows(ids[:2_049])
    too_long = rows[7][0]
    rows[7] = (too_long, 10, "D", "x" * 1001, 1)
    unknown = "00Q000000000NoSuch"
    write_lead_scores(warehouse, [*rows, (unknown, 1, "D", "gone", 0)])

    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, warehouse, SalesforceDestination(sf, bulk_poll_wait=0))
    calls = _api_calls(salesforce_sandbox, mark)
    assert (result.sent, result.succeeded, result.failed) == (2_050, 2_048, 2)
    assert result.error_codes == {"STRING_TOO_LONG": 1, "INVALID_CROSS_REFERENCE_KEY": 1}
    assert result.estimated_calls == BULK_CALLS_PER_JOB
    # describe (preflight), then the job: no collection call at all
    assert calls[0] == ("GET", "sobjects")
    assert [c for c in calls[1:] if c[1] != "jobs"] == []
    assert len(calls) - 1 == BULK_CALLS_PER_JOB
    errors = dict(warehouse.query("select record_key, error from reverse_etl.sync_rejections"))
    assert errors[too_long].startswith("STRING_TOO_LONG: ") and errors[too_long].endswith("(Lead_Score_Reasons__c)")
    assert errors[unknown].startswith("INVALID_CROSS_REFERENCE_KEY: ")
    synced = {r[0] for r in warehouse.query("select record_key from reverse_etl.sync_state")}
    assert synced == {r[0] for r in rows} - {too_long}
    crm = {r["Id"]: r for r in sf.query_all("SELECT Id, Lead_Score__c, Lead_Grade__c FROM Lead")["records"]}
    for lead_id, score, grade, _, _ in rows:
        if lead_id != too_long:
            assert (crm[lead_id]["Lead_Score__c"], crm[lead_id]["Lead_Grade__c"]) == (float(score), grade)

    mark = salesforce_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, SalesforceDestination(sf, bulk_poll_wait=0))
    assert (again.planned_retry, again.sent) == (2, 2)  # the two rejections, by collection call
    assert [c for c in _api_calls(salesforce_sandbox, mark) if c[0] != "GET"] == [("PATCH", "composite")]


def test_a_null_is_sent_as_bulk_null_and_locked_rows_are_retried_in_a_later_call(warehouse, world_dir):
    with SalesforceSandbox(world_dir, faults=Faults(seed=2, record_rejection_rate=0.2)) as sandbox:
        from ingestion.crm_clients import salesforce_client

        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 60")["records"]]
        rows = _rows(ids)
        write_lead_scores(warehouse, rows)
        destination = SalesforceDestination(sf, bulk_threshold=10, bulk_poll_wait=0, backoff=0.01, record_attempts=6)
        first = run_sync(SPEC, warehouse, destination)
        assert (first.succeeded, first.failed) == (60, 0)
        log = sandbox.request_log()
        jobs = [r["id"] for r in log if r["method"] == "POST" and r["path"].endswith("/jobs/ingest")]
        # The rows the job could not lock go again: by collection call, as there are few of them.
        resent = [r["records"] for r in log if r["method"] == "PATCH" and r["path"].endswith("/composite/sobjects")]
        assert len(jobs) == 1 and resent and all(0 < n < 10 for n in resent)

        rows[0] = (rows[0][0], rows[0][1], rows[0][2], None, 1)
        write_lead_scores(warehouse, rows)
        assert run_sync(SPEC, warehouse, destination).succeeded == 1
        # An empty cell would have left the old reason in place; #N/A clears it.
        assert sf.Lead.get(rows[0][0])["Lead_Score_Reasons__c"] is None


def test_a_large_plan_goes_in_bulk_writes_of_bounded_size_each_kept_as_it_ends(warehouse, sf, salesforce_sandbox):
    """At most `bulk_write_records` records per write, in equal shares: memory is one write's,
    not the plan's, and a write's outcomes are kept before the next is sent."""
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 60")["records"]]
    write_lead_scores(warehouse, _rows(ids))
    destination = SalesforceDestination(sf, bulk_threshold=10, bulk_poll_wait=0, bulk_write_records=25)
    assert destination.write_size(SPEC, 60) == 20  # three writes of 20, not 25 + 25 + 10

    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, warehouse, destination, flush_rows=20)
    log = salesforce_sandbox.request_log(mark)
    jobs = [r for r in log if r["method"] == "POST" and r["path"].endswith("/jobs/ingest")]
    assert (result.sent, result.succeeded, len(jobs)) == (60, 60, 3)
    assert result.estimated_calls == result.api_calls - 1 == 3 * BULK_CALLS_PER_JOB  # - 1: the preflight
    # Each write's outcomes in their own transaction, then the run's closing one.
    assert result.state_transactions == 4
    assert warehouse.query("select count(*) from reverse_etl.sync_state") == [(60,)]
