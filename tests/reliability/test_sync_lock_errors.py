"""A record the org could not lock (`UNABLE_TO_LOCK_ROW`) is sent again within the same run, so
an org that locks one record in ten still gets every record in ONE run, each once (issue 25).

The sandbox injects the lock errors (seeded); the syncs are the shipped specs with the
destination the sync asset builds (its default retries), over the real client.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ingestion.crm_clients import salesforce_client
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import load_spec
from sandbox.faults import Faults
from sandbox.salesforce.server import SalesforceSandbox
from tests.support import write_lead_scores
from warehouse import Warehouse

LOCKED = Faults(seed=25, record_rejection_rate=0.1)


def _writes(sandbox: SalesforceSandbox, mark: int) -> list[int]:
    return [r["records"] for r in sandbox.request_log(mark) if r["method"] == "PATCH"]


def test_one_locked_record_in_ten_every_lead_lands_in_one_run_once(duckdb_warehouse: Warehouse, world_dir: Path):
    with SalesforceSandbox(world_dir, faults=LOCKED) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id")["records"]]
        rows = [(lead, 40 + i % 50, "ABCD"[i % 4], f"reason {i}", 1) for i, lead in enumerate(ids)]
        write_lead_scores(duckdb_warehouse, rows)
        mark = sandbox.last_request_id()
        destination = SalesforceDestination(sf, bulk_poll_wait=0)  # as the sync asset builds it
        result = run_sync(load_spec("lead_scores_to_salesforce"), duckdb_warehouse, destination)
        writes = _writes(sandbox, mark)
        crm = {r["Id"]: r for r in sf.query_all("SELECT Id, Lead_Score__c, Lead_Grade__c FROM Lead")["records"]}
        again = run_sync(load_spec("lead_scores_to_salesforce"), duckdb_warehouse, destination)

    assert len(ids) > 150 and (result.succeeded, result.failed) == (len(ids), 0)
    # The lock errors bit, and only the locked records went again, in calls after the first.
    assert writes[0] == min(len(ids), 200) and len(writes) > -(-len(ids) // 200)
    assert sum(writes) - len(ids) < 0.25 * len(ids)
    assert all(
        (crm[lead]["Lead_Score__c"], crm[lead]["Lead_Grade__c"]) == (score, grade) for lead, score, grade, *_ in rows
    )
    assert duckdb_warehouse.query("select count(*) from reverse_etl.sync_rejections") == [(0,)]
    assert (again.planned, again.sent) == (0, 0)


def test_one_locked_task_in_ten_every_task_is_created_in_one_run_once(duckdb_warehouse: Warehouse, world_dir: Path):
    with SalesforceSandbox(world_dir, faults=LOCKED) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        owner = sf.query("SELECT Id FROM User ORDER BY Id LIMIT 1")["records"][0]["Id"]
        leads = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 120")["records"]]
        actions = [
            (f"call:{lead}", lead, owner, "Call this MQL", "Not Started", "High", "2026-12-07") for lead in leads
        ]
        with duckdb_warehouse.connect() as conn:
            conn.execute("create schema gold")
            conn.execute(
                "create table gold.salesforce_action_tasks (action_key varchar, who_id varchar, owner_id varchar, "
                "subject varchar, status varchar, priority varchar, activity_date date)"
            )
            conn.executemany("insert into gold.salesforce_action_tasks values (?, ?, ?, ?, ?, ?, ?)", actions)
        mark = sandbox.last_request_id()
        spec = load_spec("lead_actions_to_salesforce")
        result = run_sync(spec, duckdb_warehouse, SalesforceDestination(sf, bulk_poll_wait=0))
        writes = _writes(sandbox, mark)
        tasks = sf.query_all("SELECT Leadloop_Task_Key__c FROM Task WHERE Leadloop_Task_Key__c != null")["records"]

    assert (result.succeeded, result.failed) == (len(actions), 0)
    assert len(writes) > 1, "the lock errors should have bitten"
    assert Counter(t["Leadloop_Task_Key__c"] for t in tasks) == Counter({key: 1 for key, *_ in actions})
