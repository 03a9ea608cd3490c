"""HubSpot upsert by `idProperty` (email) against the HubSpot sandbox with the real
hubspot-api-client: contacts bronze never saw are written, a missing contact is created only
where the spec's `create_when` column allows it, clears never create, 207 per-input errors stay
rejections (masked), a retried upsert never makes a second contact, and each run's API calls
land in reverse_etl.sync_runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hubspot import HubSpot

from reverse_etl import state
from reverse_etl.destinations.hubspot import HubSpotDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import SpecError, load_spec
from sandbox.faults import Faults
from sandbox.hubspot.server import HubSpotSandbox
from warehouse import Warehouse

# The shipped contact spec, keyed by email and upserting: what a spec with
# `operation: upsert`, `id_property: email`, `create_when: may_create` loads as.
SPEC = dataclasses.replace(
    load_spec("contact_scores_to_hubspot"),
    name="person_scores_to_hubspot",
    source_table="hubspot_person_scores",
    key="email",
    operation="upsert",
    id_property="email",
    create_when="may_create",
)


def _write_people(warehouse: Warehouse, rows: list[tuple[str, int, bool]]) -> None:
    """A gold table of people by email: score, grade, reasons and whether they may be created."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.hubspot_person_scores")
        cur.execute(
            "create table gold.hubspot_person_scores "
            "(email varchar, score integer, grade varchar, reasons varchar, may_create boolean)"
        )
        cur.executemany(
            warehouse.adapt_sql("insert into gold.hubspot_person_scores values (?, ?, ?, ?, ?)"),
            [(email, score, "ABCD"[score % 4], f"Visited pricing: +{score}", ok) for email, score, ok in rows],
        )


def _by_email(client: HubSpot) -> dict[str, list[dict]]:
    contacts = client.crm.contacts.get_all(properties=["email", "leadloop_score", "leadloop_grade"])
    found: dict[str, list[dict]] = {}
    for contact in contacts:
        email = (contact.properties.get("email") or "").lower()
        found.setdefault(email, []).append(contact.properties)  # a list: a second contact would show
    return found


def test_upsert_by_email_writes_unseen_contacts_and_creates_only_with_consent(warehouse, hubspot, hubspot_sandbox):
    existing = sorted(e for e in _by_email(hubspot) if e)
    assert len(existing) > 100
    consented = [f"new{n}@upsert.example" for n in range(3)]
    opted_out = [f"optout{n}@upsert.example" for n in range(2)]
    # Every existing contact by email (none of them through bronze), a few of them opted out:
    # those may be updated, never created; three new people may be created, two may not.
    rows = [(email, n % 101, n % 7 != 0) for n, email in enumerate(existing[:100])]
    rows += [(email, 90, True) for email in consented] + [(email, 10, False) for email in opted_out]
    _write_people(warehouse, rows)
    before = len(hubspot.crm.contacts.get_all())

    destination = HubSpotDestination(hubspot)
    mark = hubspot_sandbox.last_request_id()
    first = run_sync(SPEC, warehouse, destination)
    log = hubspot_sandbox.request_log(mark)
    writes = [(r["path"].rsplit("/", 1)[-1], r["records"]) for r in log if "/batch/" in r["path"]]
    # Upserts first, then updates by email, 100 inputs a call: only the batch where the creatable
    # rows end takes two calls.
    creatable = sum(ok for _, _, ok in rows)
    assert 0 < creatable < 100 < len(rows)
    assert writes == [("upsert", creatable), ("update", 100 - creatable), ("update", len(rows) - 100)]
    assert first.estimated_calls == len(writes)
    assert (first.succeeded, first.failed) == (len(rows) - 2, 2)
    assert first.error_codes == {"OBJECT_NOT_FOUND": 2}
    assert first.api_calls == len(log)  # the preflight's read, 3 property creations, the batches
    assert warehouse.query("select api_calls from reverse_etl.sync_runs where run_id = ?", [first.run_id]) == [
        (len(log),)
    ]

    after = _by_email(hubspot)
    assert len(hubspot.crm.contacts.get_all()) == before + len(consented)
    assert all(email not in after for email in opted_out)
    for email, score, _ in rows:
        if email not in opted_out:
            assert [c["leadloop_score"] for c in after[email]] == [str(score)]
    # A rejection names its code; the address HubSpot's message quoted is masked.
    errors = [e for (e,) in warehouse.query("select error from reverse_etl.sync_rejections")]
    assert len(errors) == 2 and all(e.startswith("OBJECT_NOT_FOUND") and "optout" not in e for e in errors)

    mark = hubspot_sandbox.last_request_id()
    again = run_sync(SPEC, warehouse, destination)
    assert (again.planned, again.planned_retry, again.succeeded) == (2, 2, 0)  # only the two never created
    assert [r["path"].rsplit("/", 1)[-1] for r in hubspot_sandbox.request_log(mark) if "/batch/" in r["path"]] == [
        "update"
    ]

    # An erased person and one who left for another reason: cleared by email, never (re)created,
    # including the erased person's contact the upsert created.
    erased, removed = consented[0], existing[1]
    _write_people(warehouse, [r for r in rows if r[0] not in {erased, removed}])
    hubspot.crm.contacts.basic_api.archive(after[removed][0]["hs_object_id"])
    cleared = run_sync(SPEC, warehouse, destination)
    assert (cleared.planned_clear, cleared.cleared) == (2, 2)
    final = _by_email(hubspot)
    assert [c["leadloop_score"] for c in final[erased]] in ([None], [""])
    assert removed not in final
    assert len(hubspot.crm.contacts.get_all()) == before + len(consented) - 1
    assert warehouse.query(
        "select count(*) from reverse_etl.sync_state where sync_name = ? and record_key in (?, ?)",
        [SPEC.name, erased, removed],
    ) == [(0,)]


def test_a_retried_upsert_never_makes_a_second_contact(duckdb_warehouse, world_dir):
    """Answers cut off after the portal wrote, and 503s: every batch is sent again, and the
    repeat finds by email the contact the first attempt created."""
    newcomers = [f"retry{n}@upsert.example" for n in range(150)]
    _write_people(duckdb_warehouse, [(email, n % 101, True) for n, email in enumerate(newcomers)])
    faults = Faults(seed=5, drop_connection_rate=0.25, server_error_rate=0.25)
    with HubSpotSandbox(world_dir, faults=faults, requests_per_ten_seconds=10**6) as sandbox:
        client = HubSpot(access_token=sandbox.token, host=sandbox.url)
        destination = HubSpotDestination(client, backoff=0.01, max_wait=0.05, attempts=10)
        mark = sandbox.last_request_id()
        result = run_sync(SPEC, duckdb_warehouse, destination)
        upserts = [r for r in sandbox.request_log(mark) if r["path"].endswith("/batch/upsert")]
        faults.drop_connection_rate = faults.server_error_rate = 0.0  # the check reads on a good day
        created = _by_email(client)
    assert (result.succeeded, result.failed) == (150, 0)
    assert len(upserts) > 2  # at least one batch was sent again
    assert all(len(created[email]) == 1 for email in newcomers)


def test_sync_runs_gains_api_calls_in_place(warehouse):
    """A sync_runs table from before the column: migrated in place, rows kept, twice harmless."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute(state.DDL[0].format(schema=state.SCHEMA))
        cur.execute(state.DDL[2].format(schema=state.SCHEMA))  # sync_runs as first released
        cur.execute(
            warehouse.adapt_sql(
                f"insert into {state.SCHEMA}.sync_runs (run_id, sync_name, started_at, dry_run, sent, status) "
                "values ('old', 'lead_scores_to_salesforce', ?, false, 7, 'success')"
            ),
            [state.now()],
        )
    state.ensure_tables(warehouse)
    state.ensure_tables(warehouse)
    assert warehouse.query(f"select run_id, sent, api_calls from {state.SCHEMA}.sync_runs") == [("old", 7, None)]


def test_hubspot_upsert_must_say_who_may_be_created(tmp_path):
    shipped = (Path(__file__).parents[2] / "reverse_etl" / "specs" / "contact_scores_to_hubspot.yaml").read_text()
    spec = tmp_path / "upsert.yaml"
    spec.write_text(shipped.replace("  operation: update\n", "  operation: upsert\n"))
    with pytest.raises(SpecError, match="needs destination.create_when"):
        load_spec(spec)
    spec.write_text(shipped.replace("  operation: update\n", "  operation: upsert\n  create_when: can_contact_email\n"))
    loaded = load_spec(spec)
    assert (loaded.hubspot_id_property, loaded.create_when) == ("email", "can_contact_email")
    salesforce = (Path(__file__).parents[2] / "reverse_etl" / "specs" / "contact_scores_to_salesforce.yaml").read_text()
    spec.write_text(salesforce.replace("  operation: update\n", "  operation: update\n  id_property: email\n"))
    with pytest.raises(SpecError, match="id_property and create_when are for HubSpot"):
        load_spec(spec)
