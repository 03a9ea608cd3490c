"""What the report marts must say after a real lead loop, reconciled with the CRM and the
warehouse; called from the lead-loop e2e (no loop of its own: the test budget)."""

from __future__ import annotations

from typing import Any

from warehouse import Warehouse


def assert_reports_reconcile(warehouse: Warehouse, sf: Any, first_sync: dict[str, Any], sync_name: str) -> None:
    """After the second loop: the funnel counts every live lead once per campaign (once if in
    none) and every converted one as an SQL; sync health has the first loop's run and its API
    calls (dbt builds before the sync); identity health counts every identity record; sources are fresh."""
    leads = {r["Id"]: r["IsConverted"] for r in sf.query_all("SELECT Id, IsConverted FROM Lead")["records"]}
    names = {r["Id"]: r["Name"] or r["Id"] for r in sf.query_all("SELECT Id, Name FROM Campaign")["records"]}
    members = sf.query_all("SELECT LeadId, CampaignId FROM CampaignMember")["records"]
    pairs = {(m["LeadId"], names.get(m["CampaignId"], m["CampaignId"])) for m in members if m["LeadId"] in leads}
    in_campaign = {lead for lead, _ in pairs}
    rows = len(pairs) + len(set(leads) - in_campaign)
    sqls = sum(1 for lead, _ in pairs if leads[lead]) + sum(1 for lead in set(leads) - in_campaign if leads[lead])
    assert warehouse.query("select sum(leads), sum(sqls) from gold.funnel_by_source_and_campaign") == [(rows, sqls)]

    health = warehouse.query(
        "select runs, records_sent, records_rejected, api_calls, last_run_api_calls from gold.pipeline_sync_health "
        "where sync_name = ?",
        [sync_name],
    )
    calls = first_sync["api_calls"]  # as the sync asset's materialization metadata has it
    assert health == [(1, first_sync["sent"], first_sync["failed"], calls, calls)]

    (records,) = warehouse.query("select count(*) from silver.identity_records")[0]
    assert warehouse.query("select sum(records) from gold.pipeline_identity_health") == [(records,)]

    (bronze_leads,) = warehouse.query("select count(*) from bronze_salesforce.lead")[0]
    source = warehouse.query(
        "select loaded_rows >= ?, last_loaded_at is not null from gold.pipeline_source_health where source = ?",
        [bronze_leads, "salesforce"],
    )
    assert source == [(True, True)]
