"""The whole lead loop, materialized in-process on each warehouse against the HTTPS sandbox,
checked through the real simple-salesforce client."""

from __future__ import annotations

import pytest

from orchestration.demo import LoopFailedError, run_lead_loop
from tests.e2e.consent_checks import crm_consent_violations, utc_text
from tests.e2e.report_checks import assert_reports_reconcile

pytestmark = pytest.mark.e2e

SYNC = "lead_scores_to_salesforce"
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def gold_scores(warehouse) -> dict[str, tuple]:
    """Each lead's score as the sync reads it: its person's score (gold.salesforce_lead_scores)."""
    rows = warehouse.query("select lead_id, score, grade, reasons, rules_matched from gold.salesforce_lead_scores")
    return {row[0]: tuple(row[1:]) for row in rows}


def crm_scores(sf) -> dict[str, tuple]:
    records = sf.query_all("SELECT Id, Lead_Score__c, Lead_Grade__c, Lead_Score_Reasons__c FROM Lead")["records"]
    return {r["Id"]: (r["Lead_Score__c"], r["Lead_Grade__c"], r["Lead_Score_Reasons__c"]) for r in records}


def writes_since(sandbox, request_id: int) -> list[dict]:
    return [r for r in sandbox.request_log(since_id=request_id) if r["method"] in WRITE_METHODS]


def test_every_lead_scored_synced_then_only_changes_flow_through(looped):
    warehouse, salesforce_sandbox, sf, first = looped.warehouse, looped.salesforce_sandbox, looped.sf, looped.first
    # The loop leaves leads where they are: it writes scores, never creates or deletes one.
    live_leads = {r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]}
    converted = {r["Id"] for r in sf.query_all("SELECT Id FROM Lead WHERE IsConverted = true")["records"]}
    assert converted

    gold = gold_scores(warehouse)
    assert set(gold) == live_leads
    assert first.leads_scored == len(live_leads)
    # A converted lead is read-only in the org: skipped with its reason, never sent.
    assert first.syncs[SYNC]["succeeded"] == len(live_leads - converted)
    assert first.syncs[SYNC]["skipped_converted_lead"] == len(converted)
    assert first.syncs[SYNC]["failed"] == 0
    crm = crm_scores(sf)
    for lead_id, (score, grade, reasons, _) in gold.items():
        expected = (None, None, None) if lead_id in converted else (float(score), grade, reasons)
        assert crm[lead_id] == expected, lead_id
    # Scores spread over the grades: the rules discriminate rather than give everyone one value.
    assert len(first.grades) >= 3
    # Every Contact carries its person's score too (a converted lead's score lands there).
    contacts = dict(warehouse.query("select contact_id, score from gold.salesforce_contact_scores"))
    assert contacts and first.syncs["contact_scores_to_salesforce"]["succeeded"] == len(contacts)
    crm_contacts = {
        r["Id"]: r["Lead_Score__c"] for r in sf.query_all("SELECT Id, Lead_Score__c FROM Contact")["records"]
    }
    assert {k: crm_contacts[k] for k in contacts} == {k: float(v) for k, v in contacts.items()}
    hubspot_contacts = warehouse.query("select count(*) from gold.hubspot_contact_scores")[0][0]
    assert hubspot_contacts and first.syncs["contact_scores_to_hubspot"]["succeeded"] == hubspot_contacts
    assert first.syncs["contact_scores_to_hubspot"]["failed"] == 0
    # The demo's summary: every source counted, records resolved into fewer people, the checks
    # all passed, the score bands add up to the people scored, the sync's API calls counted.
    assert {"salesforce", "hubspot", "partners", "web_events", "product"} <= set(first.sources)
    assert first.sources["salesforce"].rows >= len(live_leads)
    assert 0 < first.people_resolved < first.records_resolved and 0 < first.merge_rate < 1
    assert first.checks_passed > 0 and first.checks_failed == 0 and first.checks_missing == []
    assert sum(first.score_bands.values()) == first.people_scored
    assert first.syncs[SYNC]["estimated_calls"] >= 1
    # The calls it made: what it planned to cost, the preflight's describe and any retry.
    assert first.syncs[SYNC]["api_calls"] >= first.syncs[SYNC]["estimated_calls"] + 1
    assert len(first.top_people) == 10 and first.seconds > 0
    assert any(line.startswith("people resolved") and "merge rate" in line for line in first.lines())

    mark = salesforce_sandbox.last_request_id()
    second = looped.run()

    assert writes_since(salesforce_sandbox, mark) == []
    assert {name: sync["sent"] for name, sync in second.syncs.items()} == dict.fromkeys(first.syncs, 0)
    assert gold_scores(warehouse) == gold
    assert_reports_reconcile(warehouse, sf, first.syncs[SYNC], SYNC)

    # The second run read back what the first one's syncs wrote (Contact and HubSpot modification
    # stamps feed consent and survivorship), so it rebuilt. A third finds nothing new at all: the
    # loads ask the sources, and nothing after them runs (orchestration/change_gate.py): no
    # rebuild, no re-test, no sync, no write to either CRM.
    hubspot_sandbox = looped.hubspot_sandbox
    marks = salesforce_sandbox.last_request_id(), hubspot_sandbox.last_request_id()
    third = looped.run()
    sync_steps = {f"reverse_etl__{name}" for name in first.syncs}
    assert {"identity_resolution", "dbt_people", "dbt_scoring", *sync_steps} <= set(third.skipped_steps)
    assert "gold__salesforce_lead_scores_gx_salesforce_lead_scores_contract" in third.skipped_steps
    assert third.syncs == {} and third.records_resolved == 0
    assert writes_since(salesforce_sandbox, marks[0]) == []
    # HubSpot reads through POST too: the search API and the associations' batch read.
    hubspot_requests = hubspot_sandbox.request_log(since_id=marks[1])
    assert hubspot_requests, "the loads asked HubSpot for changes"
    reads = ("/search", "/batch/read")
    assert [r for r in hubspot_requests if r["method"] in WRITE_METHODS and not r["path"].endswith(reads)] == []
    assert gold_scores(warehouse) == gold
    assert any(line.startswith("skipped") for line in third.lines())

    # A rep's change to two leads, loaded incrementally: only what changed moves, and the CRM
    # gets exactly that (the same world and warehouse: the loops above are this scenario's start).
    before = gold_scores(warehouse)
    # Scores are per person: a lead's edit moves the score of every lead of its person. Two
    # leads that are the only record of their person keep the effect to exactly those leads.
    alone_sql = (
        "select source_id from silver.identity_records where source = 'salesforce_lead' and person_id in "
        "(select person_id from silver.identity_records group by person_id having count(*) = 1)"
    )
    alone = [lead_id for (lead_id,) in warehouse.query(alone_sql + " order by source_id")]
    # No points from the title yet, so a C-level title can only add (a "VP Sales" would trade its
    # sales-function points for the C-level ones).
    untitled = warehouse.query(
        alone_sql + " and person_id not in (select m.person_id from silver.int_person_fit_matches m "
        "join silver.fit_rules r on r.rule_id = m.rule_id where r.attribute = 'title') order by source_id"
    )
    # Converted leads are the Contact's now: the sync skips them, so the edit goes to open ones.
    open_leads = {r["Id"] for r in sf.query_all("SELECT Id FROM Lead WHERE IsConverted = false")["records"]}
    emailable = {r["Id"] for r in sf.query_all("SELECT Id FROM Lead WHERE HasOptedOutOfEmail = false")["records"]}
    promoted, unsubscribed = [i for (i,) in untitled if before[i][0] < 100 and i in open_leads & emailable][:2]
    deleted = next(i for i in alone if i not in (promoted, unsubscribed) and i in open_leads)
    # A rep's edits (through their own session: the integration user's writes are not source changes).
    rep = looped.rep
    # A promotion to CEO at a large tech company must raise the score.
    promotion = {"Title": "Chief Executive Officer", "NumberOfEmployees": 20000, "Industry": "Technology"}
    rep.Lead.update(promoted, promotion)
    # The same jump for a lead that opts out of email in the same edit: its score moves, but the
    # owner notification (an email-channel action) must not reach it (issue 25, consent).
    rep.Lead.update(unsubscribed, {**promotion, "HasOptedOutOfEmail": True})
    rep.Lead.delete(deleted)
    bronze_rows = warehouse.query("select count(*) from bronze_salesforce.lead")[0][0]
    mark = salesforce_sandbox.last_request_id()

    summary = looped.run()

    after = gold_scores(warehouse)
    assert deleted not in after
    assert after[promoted][0] > before[promoted][0]
    assert after[unsubscribed][0] > before[unsubscribed][0]
    assert {k: v for k, v in after.items() if k not in (promoted, unsubscribed)} == {
        k: v for k, v in before.items() if k not in (promoted, unsubscribed, deleted)
    }
    # The deletion is a soft-delete flag in bronze: no row lost, none added.
    assert warehouse.query("select count(*) from bronze_salesforce.lead")[0][0] == bronze_rows
    assert warehouse.query("select is_deleted from bronze_salesforce.lead where id = ?", [deleted]) == [(True,)]
    # The two promoted leads' new scores, and a clear for the deleted one (it left gold); the CRM
    # answers ENTITY_IS_DELETED for that, which counts as cleared: nothing of it is left there.
    assert summary.syncs[SYNC]["sent"] == 3
    assert summary.syncs[SYNC]["cleared"] == 1
    writes = writes_since(salesforce_sandbox, mark)
    assert [(w["method"], w["records"]) for w in writes if "/Task/" not in w["path"]] == [("PATCH", 3)]
    assert crm_scores(sf)[promoted][0] == float(after[promoted][0])
    # The promotion is a score jump: one owner notification, a Task on the lead keyed by its
    # action (gold.lead_actions), upserted once on the key; nothing else had a trigger, and the
    # lead that opted out of email got none.
    actions = warehouse.query("select action_key, who_id from gold.salesforce_action_tasks")
    assert [(key.split(":")[0], who) for key, who in actions] == [("owner_notification", promoted)]
    assert [(w["method"], w["records"]) for w in writes if "/Task/" in w["path"]] == [("PATCH", 1)]
    tasks = sf.query(f"SELECT WhoId, Subject FROM Task WHERE Leadloop_Task_Key__c = '{actions[0][0]}'")["records"]
    assert [(t["WhoId"], t["Subject"]) for t in tasks] == [(promoted, "Score jumped: review this lead")]
    # The opt-out is dated by the lead's field history (when the flag changed), not by the
    # lead's modification time, which every later edit moves.
    (changed_at,) = [
        r["CreatedDate"]
        for r in sf.query_all(f"SELECT Field, CreatedDate FROM LeadHistory WHERE LeadId = '{unsubscribed}'")["records"]
        if r["Field"] == "HasOptedOutOfEmail"
    ]
    events = warehouse.query(
        "select occurred_at, dated_by from silver.int_consent_events where evidence_id = ? and channel = 'email'",
        [unsubscribed],
    )
    assert [(utc_text(at), by) for at, by in events] == [(changed_at[:19], "field_history")]
    # What the CRMs hold breaks no consent: no task on a channel its person opted out of.
    assert crm_consent_violations(warehouse, sf, looped.world_dir) == []


def test_failed_contract_blocks_the_sync(duckdb_warehouse, salesforce_sandbox, sf, salesforce, hubspot):
    """No live lead → an empty gold table: dbt's tests pass but the GX contract (≥ 1 row) fails,
    and the blocking check must stop the lead sync before it sends anything. The syncs of other
    gold tables (Contacts, HubSpot contacts), whose contracts pass, are not held back by it."""
    for record in sf.query_all("SELECT Id FROM Lead")["records"]:
        sf.Lead.delete(record["Id"])
    mark = salesforce_sandbox.last_request_id()

    with pytest.raises(LoopFailedError, match="gx_salesforce_lead_scores_contract"):
        run_lead_loop(duckdb_warehouse, salesforce, hubspot=hubspot)

    assert [w for w in writes_since(salesforce_sandbox, mark) if w["object"] == "Lead"] == []
    assert {w["object"] for w in writes_since(salesforce_sandbox, mark)} <= {"Contact"}
    assert (
        not duckdb_warehouse.table_exists("reverse_etl", "sync_state")
        or not duckdb_warehouse.query("select count(*) from reverse_etl.sync_state where sync_name = ?", [SYNC])[0][0]
    )
