"""The owner sync against the sandboxes with the real clients: routing's owner lands on Lead.OwnerId
(and a HubSpot contact's hubspot_owner_id) once; a record a person reassigned after Leadloop wrote
it keeps the person's choice, on this run and the next, while Leadloop's own assignments still
follow routing (the no-echo rule: on Salesforce, LastModifiedById against the integration user)."""

from __future__ import annotations

from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

from ingestion.crm_clients import salesforce_client
from reverse_etl.destinations.hubspot import HubSpotDestination
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import load_spec
from sandbox.salesforce.store import INTEGRATION_USER_ID, REP_USER_ID
from warehouse import Warehouse

LEADS = load_spec("lead_owners_to_salesforce")
CONTACTS = load_spec("contact_owners_to_hubspot")


def _write_owners(warehouse: Warehouse, table: str, columns: tuple[str, str], rows: list[tuple[str, str]]) -> None:
    """gold.<table> as dbt builds it (the mart's rules are dbt unit tests): what routing decided."""
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute(f"drop table if exists gold.{table}")
        cur.execute(f"create table gold.{table} ({columns[0]} varchar, {columns[1]} varchar)")
        cur.executemany(warehouse.adapt_sql(f"insert into gold.{table} values (?, ?)"), rows)


def test_routing_owners_land_once_and_a_reps_reassignment_stands(warehouse, sf, salesforce_sandbox):
    rep = salesforce_client(salesforce_sandbox.instance_url, salesforce_sandbox.rep_token, salesforce_sandbox.ca_path)
    users = [r["Id"] for r in sf.query("SELECT Id FROM User ORDER BY Id")["records"]]
    ann, bob, cid = users[:3]
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT 3")["records"]]

    def write(owners: list[tuple[str, str]]) -> None:
        _write_owners(warehouse, "salesforce_lead_owners", ("lead_id", "owner_id"), owners)

    write([(i, ann) for i in ids])
    first = run_sync(LEADS, warehouse, SalesforceDestination(sf))
    assert (first.sent, first.succeeded) == (3, 3)
    owners = {r["Id"]: r for r in sf.query_all("SELECT Id, OwnerId, LastModifiedById FROM Lead")["records"]}
    assert {(owners[i]["OwnerId"], owners[i]["LastModifiedById"]) for i in ids} == {(ann, INTEGRATION_USER_ID)}
    assert run_sync(LEADS, warehouse, SalesforceDestination(sf)).sent == 0  # nothing changed: nothing sent

    # A rep hands the first lead to bob; then routing moves the first two to cid (ann left, say).
    rep.Lead.update(ids[0], {"OwnerId": bob})
    write([(ids[0], cid), (ids[1], cid), (ids[2], ann)])
    second = run_sync(LEADS, warehouse, SalesforceDestination(sf))
    assert (second.sent, second.succeeded, second.skipped_reasons) == (1, 1, {"changed_by_person": 1})
    owners = {r["Id"]: r for r in sf.query_all("SELECT Id, OwnerId, LastModifiedById FROM Lead")["records"]}
    assert (owners[ids[0]]["OwnerId"], owners[ids[0]]["LastModifiedById"]) == (bob, REP_USER_ID)
    assert owners[ids[1]]["OwnerId"] == cid and owners[ids[2]]["OwnerId"] == ann
    # The rep's choice stands on the next run too, and nothing else is sent.
    third = run_sync(LEADS, warehouse, SalesforceDestination(sf))
    assert (third.sent, third.skipped_reasons) == (0, {"changed_by_person": 1})
    assert sf.Lead.get(ids[0])["OwnerId"] == bob


def test_hubspot_owners_land_once_and_a_changed_owner_stands(duckdb_warehouse, hubspot, hubspot_sandbox):
    # One warehouse: the state code is the same for both, and the Salesforce test covers both.
    warehouse = duckdb_warehouse
    ids = sorted((c.id for c in hubspot.crm.contacts.get_all()), key=int)[:2]

    def write(owners: list[tuple[str, str]]) -> None:
        _write_owners(warehouse, "hubspot_contact_owners", ("contact_id", "hubspot_owner_id"), owners)

    write([(i, "100") for i in ids])
    assert run_sync(CONTACTS, warehouse, HubSpotDestination(hubspot)).succeeded == 2
    assert run_sync(CONTACTS, warehouse, HubSpotDestination(hubspot)).sent == 0

    # Someone in the portal gives the first contact to owner 101; routing then moves both to 102.
    change = SimplePublicObjectBatchInput(id=ids[0], properties={"hubspot_owner_id": "101"})
    hubspot.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=[change]))
    write([(i, "102") for i in ids])
    result = run_sync(CONTACTS, warehouse, HubSpotDestination(hubspot))
    assert (result.sent, result.succeeded, result.skipped_reasons) == (1, 1, {"changed_by_person": 1})
    current = {
        c.id: c.properties["hubspot_owner_id"]
        for c in hubspot.crm.contacts.get_all(properties=["hubspot_owner_id"])
        if c.id in ids
    }
    assert current == {ids[0]: "101", ids[1]: "102"}
