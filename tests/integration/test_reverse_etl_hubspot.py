"""The HubSpot destination against the HubSpot sandbox with the real hubspot-api-client: batch
updates of 100, per-input 207 errors kept as rejections, properties created only on opt-in, and
the portal's rate limit kept without meeting a 429."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import pytest

from reverse_etl.destinations.hubspot import HubSpotDestination
from reverse_etl.destinations.salesforce import PreflightError
from reverse_etl.executor import run_sync
from reverse_etl.spec import SpecError, load_spec
from sandbox.hubspot.server import HubSpotSandbox
from warehouse import Warehouse

SPEC = load_spec("contact_scores_to_hubspot")
# The shipped spec opts in to creating its properties; the preflight is first tried without.
NOT_OPTED_IN = dataclasses.replace(SPEC, create_properties=False)
TYPES = dict(SPEC.property_types)


def _write_scores(warehouse: Warehouse, rows: list[tuple[str, int, str]]) -> None:
    """gold.hubspot_contact_scores as dbt builds it, for the columns the spec maps."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.hubspot_contact_scores")
        cur.execute(
            "create table gold.hubspot_contact_scores "
            "(contact_id varchar, score integer, grade varchar, reasons varchar)"
        )
        cur.executemany(
            warehouse.adapt_sql("insert into gold.hubspot_contact_scores values (?, ?, ?, ?)"),
            [(key, score, grade, f"Visited pricing: +{score}") for key, score, grade in rows],
        )


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
    with pytest.raises(PreflightError, match="missing on contacts: leadloop_score, leadloop_grade, leadloop_reasons"):
        run_sync(NOT_OPTED_IN, warehouse, HubSpotDestination(hubspot))
    # A dry run of the opted-in spec creates nothing either: it names what is missing.
    with pytest.raises(PreflightError, match="leadloop_score"):
        run_sync(SPEC, warehouse, HubSpotDestination(hubspot), dry_run=True)
    assert [r for r in hubspot_sandbox.request_log(mark) if r["method"] != "GET"] == []

    destination = HubSpotDestination(hubspot)
    result = run_sync(SPEC, warehouse, destination)
    calls = _batch_updates(hubspot_sandbox, mark)
    assert len(calls) == math.ceil((len(ids) + 1) / 100) == result.estimated_calls
    assert (result.succeeded, result.failed) == (len(ids), 1)
    assert result.error_codes == {"OBJECT_NOT_FOUND": 1}
    assert calls[-1]["status"] == 207
    stored = {c.id: c.properties for c in hubspot.crm.contacts.get_all(properties=["leadloop_score", "leadloop_grade"])}
    for contact_id, score, grade in rows:
        assert (stored[contact_id]["leadloop_score"], stored[contact_id]["leadloop_grade"]) == (str(score), grade)
    types = {p.name: p.type for p in hubspot.crm.properties.core_api.get_all("contacts").results}
    assert (types["leadloop_score"], types["leadloop_reasons"]) == ("number", "string")

    mark = hubspot_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, destination)
    assert (again.planned, again.planned_retry) == (1, 1)  # only the unknown id, kept as a rejection
    assert len(_batch_updates(hubspot_sandbox, mark)) == 1


def test_a_contact_archived_in_the_portal_is_cleared_once_not_retried(warehouse, hubspot, hubspot_sandbox):
    """A contact that leaves gold is cleared; one already archived in the portal answers
    OBJECT_NOT_FOUND, which means nothing is left to clear: no rejection, no retry next run."""
    kept, archived, erased = _contact_ids(hubspot)[:3]
    _write_scores(warehouse, [(kept, 40, "C"), (archived, 80, "A"), (erased, 60, "B")])
    destination = HubSpotDestination(hubspot)
    assert run_sync(SPEC, warehouse, destination).succeeded == 3

    hubspot.crm.contacts.basic_api.archive(archived)
    _write_scores(warehouse, [(kept, 40, "C")])
    result = run_sync(SPEC, warehouse, destination)
    assert (result.planned_clear, result.cleared, result.failed) == (2, 2, 0)
    assert hubspot.crm.contacts.basic_api.get_by_id(erased, properties=["leadloop_score"]).properties[
        "leadloop_score"
    ] in (None, "")

    mark = hubspot_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, destination)
    assert (again.planned, again.sent) == (0, 0)
    assert _batch_updates(hubspot_sandbox, mark) == []


def test_the_rate_limit_is_kept_at_over_90_percent_without_a_429(duckdb_warehouse, world_dir):
    limit, window = 10, 2.0
    with HubSpotSandbox(world_dir, requests_per_ten_seconds=limit, rate_window_seconds=window) as sandbox:
        from hubspot import HubSpot

        client = HubSpot(access_token=sandbox.token, host=sandbox.url)
        ids = [c.id for c in client.crm.contacts.basic_api.get_page(limit=40).results]
        time.sleep(window + 0.1)  # the read above used the budget too
        spec = dataclasses.replace(SPEC, batch_size=1)
        _write_scores(duckdb_warehouse, [(i, 50, "B") for i in ids])
        destination = HubSpotDestination(client)
        mark = sandbox.last_request_id()
        started = time.monotonic()
        result = run_sync(spec, duckdb_warehouse, destination)
        elapsed = time.monotonic() - started
        log = sandbox.request_log(mark)
    assert result.succeeded == 40
    assert [r for r in log if r["status"] == 429] == []
    # 40 updates + the preflight's read and 3 property creations: 44 calls over four windows and
    # a bit, at no less than 90 % of the portal's limit (planning and state writes included).
    assert len(log) == 44
    assert len(log) / elapsed >= 0.9 * limit / window


def test_property_creation_is_a_hubspot_spec_opt_in(tmp_path):
    """The shipped spec says which properties it may create and how they are typed; a Salesforce
    spec that asks for it, or a type HubSpot properties do not take, is refused on load."""
    assert (SPEC.create_properties, TYPES) == (True, {"leadloop_score": "number"})
    shipped = (Path(__file__).parents[2] / "reverse_etl" / "specs" / "contact_scores_to_salesforce.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(shipped.replace("  operation: update\n", "  operation: update\n  create_properties: true\n"))
    with pytest.raises(SpecError, match="for HubSpot properties only"):
        load_spec(bad)
    hubspot_yaml = (Path(__file__).parents[2] / "reverse_etl" / "specs" / "contact_scores_to_hubspot.yaml").read_text()
    bad.write_text(hubspot_yaml.replace("leadloop_score: number", "leadloop_score: money"))
    with pytest.raises(SpecError, match="property_types 'leadloop_score'"):
        load_spec(bad)


def test_a_429_on_a_batch_is_waited_out_and_the_batch_sent_again(duckdb_warehouse, world_dir):
    """A portal that answers every third request 429 (another app used its budget): each
    refused batch waits and is sent again, and every record is confirmed from the answers."""
    from hubspot import HubSpot

    from sandbox.faults import Faults

    with HubSpotSandbox(world_dir, faults=Faults(seed=1, throttle_every=3, throttle_burst=1)) as sandbox:
        client = HubSpot(access_token=sandbox.token, host=sandbox.url)
        ids = [c.id for c in client.crm.contacts.basic_api.get_page(limit=8).results]
        _write_scores(duckdb_warehouse, [(i, 60, "B") for i in ids])
        mark = sandbox.last_request_id()
        spec = dataclasses.replace(SPEC, batch_size=1)
        result = run_sync(spec, duckdb_warehouse, HubSpotDestination(client, backoff=0.01, max_wait=0.1))
        statuses = [r["status"] for r in _batch_updates(sandbox, mark)]
    assert 429 in statuses, "no batch met a 429: the test did not test the retry"
    assert statuses.count(200) == len(ids)
    assert (result.succeeded, result.failed) == (len(ids), 0)
