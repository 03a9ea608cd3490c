"""The org beyond Lead: contacts, accounts, opportunities, tasks and campaigns, through the real
simple-salesforce client, with the answers checked against the sandbox's own SQLite state."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

OBJECTS = ("Lead", "Contact", "Account", "Opportunity", "Task", "Campaign", "CampaignMember", "User")


def _count(world_dir, sql: str) -> int:
    conn = sqlite3.connect(world_dir / "salesforce.sqlite")
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_every_object_is_described_and_queryable(sf, world_dir):
    described = {o["name"] for o in sf.describe()["sobjects"]}
    assert set(OBJECTS) <= described
    for name in OBJECTS:
        fields = [f["name"] for f in getattr(sf, name).describe()["fields"]]
        assert {"Id", "SystemModstamp", "IsDeleted"} <= set(fields)
        rows = sf.query_all(f"SELECT {', '.join(fields)} FROM {name}")["records"]
        assert len(rows) == _count(world_dir, f'select count(*) from "{name}" where "IsDeleted" = 0') > 0


def test_date_literals_and_booleans_filter_opportunities(sf, world_dir):
    won = sf.query_all("SELECT Id, CloseDate, Amount, Probability FROM Opportunity WHERE IsWon = true")["records"]
    assert len(won) == _count(world_dir, 'select count(*) from "Opportunity" where "IsWon" = 1') > 0
    assert all(r["Probability"] == 100.0 and isinstance(r["Amount"], float) for r in won)
    cutoff = "2026-06-30"
    early = sf.query_all(f"SELECT Id FROM Opportunity WHERE CloseDate <= {cutoff}")["records"]
    assert len(early) == _count(world_dir, f'select count(*) from "Opportunity" where "CloseDate" <= \'{cutoff}\'')
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Id FROM Opportunity WHERE CloseDate <= '2026-06-30'")  # a date is not a string


def test_converted_leads_point_at_their_contact_account_and_opportunity(sf):
    leads = sf.query_all(
        "SELECT Id, ConvertedContactId, ConvertedAccountId, ConvertedOpportunityId, ConvertedDate"
        " FROM Lead WHERE IsConverted = true"
    )["records"]
    assert leads
    lead = next(r for r in leads if r["ConvertedOpportunityId"])
    contact = sf.Contact.get(lead["ConvertedContactId"])
    opportunity = sf.Opportunity.get(lead["ConvertedOpportunityId"])
    assert contact["AccountId"] == lead["ConvertedAccountId"] == opportunity["AccountId"]
    assert opportunity["ContactId"] == contact["Id"]
    assert sf.Account.get(contact["AccountId"])["Name"]


def test_task_upsert_by_external_key_is_idempotent_and_validated(sf):
    who = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    body = {
        "WhoId": who,
        "Subject": "Call back",
        "Status": "Not Started",
        "Priority": "High",
        "ActivityDate": "2026-11-25",
    }
    assert sf.Task.upsert("Leadloop_Task_Key__c/run-1:who-1", body) == 201
    # API v46+ answers an upsert that updated with 200 and `created: false` (204 before v46).
    assert sf.Task.upsert("Leadloop_Task_Key__c/run-1:who-1", {**body, "Priority": "Normal"}) == 200
    rows = sf.query_all("SELECT Id, Priority, ActivityDate FROM Task WHERE Leadloop_Task_Key__c = 'run-1:who-1'")
    assert [(r["Priority"], r["ActivityDate"]) for r in rows["records"]] == [("Normal", "2026-11-25")]
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Task"}, **body, "Leadloop_Task_Key__c": "run-1:who-1"},
                {"attributes": {"type": "Task"}, **body, "Status": "Someday"},
                {"attributes": {"type": "Task"}, **body, "ActivityDate": "25/11/2026"},
                {"attributes": {"type": "Opportunity"}, "Name": "No close date", "StageName": "Prospecting"},
            ],
        },
    )
    codes = [r["errors"][0]["statusCode"] for r in results]
    assert codes == [
        "DUPLICATE_VALUE",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "REQUIRED_FIELD_MISSING",
    ]


def test_bulk_query_reads_campaign_members_as_csv(sf, world_dir):
    pages = list(sf.bulk2.CampaignMember.query("SELECT Id, CampaignId, LeadId, HasResponded FROM CampaignMember"))
    rows = [r for page in pages for r in csv.DictReader(io.StringIO(page))]
    assert len(rows) == _count(world_dir, 'select count(*) from "CampaignMember"')
    assert {r["HasResponded"] for r in rows} == {"true", "false"}
    campaigns = {r["Id"] for r in sf.query_all("SELECT Id FROM Campaign")["records"]}
    assert {r["CampaignId"] for r in rows} <= campaigns


def test_deleted_contacts_arrive_only_through_query_all(sf):
    contact_id = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    sf.Contact.delete(contact_id)
    assert not sf.query(f"SELECT Id FROM Contact WHERE Id = '{contact_id}'")["records"]
    [row] = sf.query_all(f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{contact_id}'", include_deleted=True)[
        "records"
    ]
    assert row["IsDeleted"] is True
