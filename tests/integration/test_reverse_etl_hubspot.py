"""The HubSpot destination against the HubSpot sandbox with the real hubspot-api-client: batch
updates of 100, per-input 207 errors kept as rejections, properties created only on opt-in, and
the portal's rate limit kept without meeting a 429."""

from __future__ import annotations

import math
import time

import pytest

from reverse_etl.destinations.hubspot import HubSpotDestination
from reverse_etl.destinations.salesforce import PreflightError
from reverse_etl.executor import run_sync
from reverse_etl.spec import SyncSpec
from sandbox.hubspot.server import HubSpotSandbox
from warehouse import Warehouse

SPEC = SyncSpec(
    name="contact_scores_to_hubspot",
    source_schema="gold",
    source_table="hubspot_contact_scores",
    key="contact_id",
    destination="hubspot",
    object="contacts",
    operation="update",
    fields={"score": "leadloop_score", "grade": "leadloop_grade"},
    batch_size=100,
)
TYPES = {"leadloop_score": "number"}


def _write_scores(warehouse: Warehouse, rows: list[tuple[str, int, str]]) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.hubspot_contact_scores")
        cur.execute("create table gold.hubspot_contact_scores (contact_id varchar, score integer, grade varchar)")
        cur.executemany(warehouse.adapt_sql("insert into gold.hubspot_contact_scores values (?, ?, ?)"), rows)


def _contact_ids(client) -> list[str]:
    return sorted((c.id for c in client.crm.contacts.get_all()), key=int)


def _batch_updates(sandbox, since: int = 0) -> list[dict]:
    return [r for r in sandbox.request_log(since) if r["path"].endswith("/batch/update")]


def test_scores_land_in_batches_of_100_and_a_rerun_sends_nothing(warehouse, hubspot, hubspot_sandbox):
    ids = _contact_ids(hubspot)
    rows = [(i, n % 101, "ABCD"[n % 4]) for n, i in enumerate(ids)]
    unknown = "987654321"
    _write_scores(warehouse, [*rows, (unknown, 5, "D")])

    mark = hubspot_sandbox.last_request_id()
    with pytest.raises(PreflightError, match="missing on contacts: leadloop_score, leadloop_grade"):
        run_sync(SPEC, warehouse, HubSpotDestination(hubspot))
    assert _batch_updates(hubspot_sandbox, mark) == []

    destination = HubSpotDestination(hubspot, create_properties=True, property_types=TYPES)
    result = run_sync(SPEC, warehouse, destination)
    calls = _batch_updates(hubspot_sandbox, mark)
    assert len(calls) == math.ceil((len(ids) + 1) / 100) == result.estimated_calls
    assert (result.succeeded, result.failed) == (len(ids), 1)
    assert result.error_codes == {"OBJECT_NOT_FOUND": 1}
    assert calls[-1]["status"] == 207
    stored = {c.id: c.properties for c in hubspot.crm.contacts.get_all(properties=["leadloop_score", "leadloop_grade"])}
    for contact_id, score, grade in rows:
        assert (stored[contact_id]["leadloop_score"], stored[contact_id]["leadloop_grade"]) == (str(score), grade)

    mark = hubspot_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, destination)
    assert (again.planned, again.planned_retry) == (1, 1)  # only the unknown id, kept as a rejection
    assert len(_batch_updates(hubspot_sandbox, mark)) == 1


def test_the_rate_limit_is_kept_at_over_90_percent_without_a_429(duckdb_warehouse, world_dir):
    limit, window = 10, 2.0
    with HubSpotSandbox(world_dir, requests_per_ten_seconds=limit, rate_window_seconds=window) as sandbox:
        from hubspot import HubSpot

        client = HubSpot(access_token=sandbox.token, host=sandbox.url)
        ids = [c.id for c in client.crm.contacts.basic_api.get_page(limit=40).results]
        time.sleep(window + 0.1)  # the read above used the budget too
        spec = SyncSpec(**{**SPEC.__dict__, "batch_size": 1})
        _write_scores(duckdb_warehouse, [(i, 50, "B") for i in ids])
        destination = HubSpotDestination(client, create_properties=True, property_types=TYPES)
        mark = sandbox.last_request_id()
        started = time.monotonic()
        result = run_sync(spec, duckdb_warehouse, destination)
        elapsed = time.monotonic() - started
        log = sandbox.request_log(mark)
    assert result.succeeded == 40
    assert [r for r in log if r["status"] == 429] == []
    # 40 updates + the preflight's read and 2 property creations: 43 calls over four windows and
    # a bit, at no less than 90 % of the portal's limit (planning and state writes included).
    assert len(log) == 43
    assert len(log) / elapsed >= 0.9 * limit / window
