"""Reverse ETL on a CRM that pushes back: throttling, locked rows, a spent API allowance, a missing
field, converted leads, runs that died. The real simple-salesforce client talks to the sandbox
over HTTPS; what reached the CRM is read from the sandbox's request log and through the API.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from ingestion.crm_clients import salesforce_client
from reverse_etl import state
from reverse_etl.destinations.salesforce import PreflightError, QuotaGuardError, SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import load_spec
from sandbox.faults import Faults
from sandbox.salesforce.server import SalesforceSandbox
from tests.support import write_lead_scores
from warehouse import Warehouse

SPEC = load_spec("lead_scores_to_salesforce")
Row = tuple[Any, ...]


def _rows(ids: list[str], score: int = 50) -> list[Row]:
    return [(lead_id, score + i % 7, "AB"[i % 2], f"reason {i}", 1) for i, lead_id in enumerate(ids)]


def _open_ids(sf, limit: int = 50) -> list[str]:
    soql = f"SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT {limit}"
    return [r["Id"] for r in sf.query(soql)["records"]]


def _write_conversions(warehouse: Warehouse, converted: dict[str, bool]) -> None:
    """silver.stg_salesforce__leads as far as the skip rule reads it: the lead id and its flag."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists silver")
        cur.execute("drop table if exists silver.stg_salesforce__leads")
        cur.execute("create table silver.stg_salesforce__leads (lead_id varchar, is_converted boolean)")
        cur.executemany(
            warehouse.adapt_sql("insert into silver.stg_salesforce__leads values (?, ?)"), list(converted.items())
        )


def _writes(sandbox, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in sandbox.request_log(since) if r["method"] in {"PATCH", "POST", "PUT"}]


def test_429_bursts_are_waited_out_as_long_as_retry_after_asks(warehouse: Warehouse, world_dir: Path) -> None:
    # Request 1 is the describe of the preflight, request 2 the collection call: throttled.
    faults = Faults(throttle_every=2, throttle_burst=1, retry_after=1)
    with SalesforceSandbox(world_dir) as clean:
        ids = _open_ids(salesforce_client(clean.instance_url, clean.token, clean.ca_path))
    write_lead_scores(warehouse, _rows(ids))
    with SalesforceSandbox(world_dir, faults=faults) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        destination = SalesforceDestination(sf, backoff=0.01, max_wait=0.02)
        started = time.monotonic()
        result = run_sync(SPEC, warehouse, destination)
        elapsed = time.monotonic() - started
        patches = [(r["status"], r["records"]) for r in sandbox.request_log() if r["method"] == "PATCH"]
    assert (result.succeeded, result.failed) == (50, 0)
    assert patches == [(429, 0), (200, 50)]
    # Backoff alone would have waited 0.01 s; the org asked for 1 s.
    assert elapsed >= 1.0


def test_locked_rows_are_sent_again_within_the_run(warehouse: Warehouse, world_dir: Path) -> None:
    with SalesforceSandbox(world_dir, faults=Faults(seed=3, record_rejection_rate=0.2)) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        ids = _open_ids(sf)
        write_lead_scores(warehouse, _rows(ids))
        mark = sandbox.last_request_id()
        result = run_sync(SPEC, warehouse, SalesforceDestination(sf, backoff=0.01, record_attempts=5))
        patches = [r["records"] for r in sandbox.request_log(mark) if r["method"] == "PATCH"]
    assert (result.succeeded, result.failed) == (50, 0)
    # The first call carries all 50; the later ones only the records the org could not lock.
    assert patches[0] == 50 and len(patches) > 1 and all(n < 50 for n in patches[1:])
    assert warehouse.query("select count(*) from reverse_etl.sync_rejections") == [(0,)]


def test_a_spent_api_allowance_is_retried_a_bounded_number_of_times_then_kept_as_rejections(
    warehouse: Warehouse, world_dir: Path
) -> None:
    with SalesforceSandbox(world_dir) as clean:
        ids = _open_ids(salesforce_client(clean.instance_url, clean.token, clean.ca_path), 10)
        used = clean.store.api_usage()
    write_lead_scores(warehouse, _rows(ids))
    # The describe of the preflight is the last call the allowance covers.
    with SalesforceSandbox(world_dir, daily_api_limit=used + 1) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        mark = sandbox.last_request_id()
        # (No quota guard here: it would stop the run before the org refuses it; tested below.)
        destination = SalesforceDestination(sf, attempts=3, backoff=0.01, quota_share=None)
        result = run_sync(SPEC, warehouse, destination)
        refused = [r["status"] for r in sandbox.request_log(mark) if r["method"] == "PATCH"]
    assert refused == [403, 403, 403]
    assert (result.succeeded, result.failed) == (0, 10)
    assert result.error_codes == {"REQUEST_LIMIT_EXCEEDED": 10}
    assert warehouse.query("select count(*) from reverse_etl.sync_state") == [(0,)]


def test_missing_custom_fields_stop_the_run_before_anything_is_sent(warehouse, sf, salesforce_sandbox) -> None:
    spec = dataclasses.replace(
        SPEC, fields={"score": "Lead_Score__c", "grade": "Shoe_Size__c", "reasons": "SystemModstamp"}
    )
    write_lead_scores(warehouse, _rows(_open_ids(sf, 5)))
    mark = salesforce_sandbox.last_request_id()
    with pytest.raises(PreflightError) as excinfo:
        run_sync(spec, warehouse, SalesforceDestination(sf))
    assert "missing on Lead: Shoe_Size__c" in str(excinfo.value)
    assert "not updateable by this user: SystemModstamp" in str(excinfo.value)
    assert _writes(salesforce_sandbox, mark) == []
    assert warehouse.query("select status from reverse_etl.sync_runs") == [("error",)]


def test_converted_leads_are_skipped_with_a_reason_and_a_stale_one_is_refused_by_the_crm(
    warehouse, sf, salesforce_sandbox
) -> None:
    converted = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = true LIMIT 4")["records"]]
    open_ids = _open_ids(sf, 6)
    assert len(converted) == 4
    write_lead_scores(warehouse, _rows(open_ids + converted))
    # Silver knows three of the four conversions; the fourth happened after the last load.
    _write_conversions(
        warehouse, {**dict.fromkeys(open_ids + converted[3:], False), **dict.fromkeys(converted[:3], True)}
    )
    mark = salesforce_sandbox.last_request_id()
    result = run_sync(SPEC, warehouse, SalesforceDestination(sf))
    assert (result.skipped, result.sent, result.succeeded, result.failed) == (3, 7, 6, 1)
    assert result.to_metadata()["skipped_converted_lead"] == 3
    assert result.error_codes == {"CANNOT_UPDATE_CONVERTED_LEAD": 1}
    assert [r["records"] for r in salesforce_sandbox.request_log(mark) if r["method"] == "PATCH"] == [7]
    assert warehouse.query("select record_key from reverse_etl.sync_rejections") == [(converted[3],)]
    assert all(sf.Lead.get(i)["Lead_Score__c"] is None for i in converted)

    # The next load tells silver; the lead is then skipped too, and nothing is sent.
    _write_conversions(warehouse, {**dict.fromkeys(open_ids, False), **dict.fromkeys(converted, True)})
    mark = salesforce_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, SalesforceDestination(sf))
    assert (again.skipped, again.sent) == (4, 0)
    assert _writes(salesforce_sandbox, mark) == []


def test_state_is_written_in_one_transaction_and_a_dead_run_is_closed_as_abandoned(
    warehouse, sf, salesforce_sandbox
) -> None:
    ids = _open_ids(sf, 120)
    write_lead_scores(warehouse, _rows(ids))
    # A run that logged itself, planned 120 records, confirmed 40 and was killed.
    state.ensure_tables(warehouse)
    state.start_run(warehouse, "killed-run", SPEC.name, state.now(), False)
    with warehouse.connect() as conn:
        state.write_progress(warehouse, conn.cursor(), "killed-run", SPEC.name, {"planned": 120, "succeeded": 40})

    result = run_sync(SPEC, warehouse, SalesforceDestination(sf, bulk_threshold=10_000), flush_seconds=60)
    assert (result.succeeded, result.abandoned_runs) == (120, 1)
    assert result.state_transactions == 1  # one commit for a run of one collection call
    runs = dict(
        (run_id, (status, in_doubt))
        for run_id, status, in_doubt in warehouse.query("select run_id, status, in_doubt from reverse_etl.sync_runs")
    )
    assert runs["killed-run"] == ("abandoned", 80)
    assert runs[result.run_id] == ("success", None)
    assert warehouse.query("select count(*) from reverse_etl.sync_state") == [(120,)]


def test_the_quota_guard_stops_before_the_sync_takes_more_than_its_share(warehouse: Warehouse, world_dir: Path) -> None:
    spec = dataclasses.replace(SPEC, batch_size=50)
    with SalesforceSandbox(world_dir) as clean:
        ids = _open_ids(salesforce_client(clean.instance_url, clean.token, clean.ca_path), 150)
        used = clean.store.api_usage()
    write_lead_scores(warehouse, _rows(ids))
    # After the describe the org has used `used + 1`; half of this allowance is `used + 2`: room
    # for one collection call of 50, not for the second.
    with SalesforceSandbox(world_dir, daily_api_limit=2 * (used + 1) + 2) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        mark = sandbox.last_request_id()
        with pytest.raises(QuotaGuardError, match="may use up to 50%"):
            run_sync(spec, warehouse, SalesforceDestination(sf, quota_share=0.5))
        patches = [r["records"] for r in sandbox.request_log(mark) if r["method"] == "PATCH"]
    assert patches == [50]
    assert warehouse.query("select count(*) from reverse_etl.sync_state") == [(50,)]
    assert warehouse.query("select status, succeeded from reverse_etl.sync_runs") == [("error", 50)]
