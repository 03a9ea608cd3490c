"""Follow-up tasks exactly once: upserted on the external-ID field that holds each action's
idempotency key, so a repeated or interrupted run updates the one task and never adds a second.
Against the Salesforce sandbox with the real client; SIGKILL trials kill a sync process at
random moments and check that every action ends with exactly one task."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import SyncSpec
from sandbox.faults import Faults
from sandbox.salesforce.server import SalesforceSandbox
from warehouse import Warehouse

SPEC = SyncSpec(
    name="lead_tasks_to_salesforce",
    source_schema="gold",
    source_table="lead_tasks",
    key="action_key",
    destination="salesforce",
    object="Task",
    operation="upsert",
    external_id="Leadloop_Task_Key__c",
    fields={"who_id": "WhoId", "subject": "Subject", "status": "Status", "priority": "Priority"},
    batch_size=10,
    on_removal="keep",
)
REPO = Path(__file__).parents[2]


def _write_tasks(warehouse: Warehouse, rows: list[tuple[str, str, str, str, str]]) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists gold")
        cur.execute("drop table if exists gold.lead_tasks")
        cur.execute(
            "create table gold.lead_tasks (action_key varchar, who_id varchar, subject varchar, status varchar, "
            "priority varchar)"
        )
        cur.executemany(warehouse.adapt_sql("insert into gold.lead_tasks values (?, ?, ?, ?, ?)"), rows)


def _actions(sf, n: int) -> list[tuple[str, str, str, str, str]]:
    leads = [r["Id"] for r in sf.query(f"SELECT Id FROM Lead ORDER BY Id LIMIT {n}")["records"]]
    return [(f"mql-a:{lead}", lead, "Call this new A-grade MQL", "Not Started", "High") for lead in leads]


def _task_counts(sf) -> Counter[str]:
    records = sf.query_all("SELECT Leadloop_Task_Key__c FROM Task WHERE Leadloop_Task_Key__c != null")["records"]
    return Counter(r["Leadloop_Task_Key__c"] for r in records)


def test_tasks_are_created_once_and_updated_in_place(warehouse, sf, salesforce_sandbox):
    rows = _actions(sf, 25)
    _write_tasks(warehouse, rows)
    first = run_sync(SPEC, warehouse, SalesforceDestination(sf))
    assert (first.succeeded, first.failed) == (25, 0)
    assert _task_counts(sf) == Counter({row[0]: 1 for row in rows})
    calls = [
        r
        for r in salesforce_sandbox.request_log()
        if r["path"].endswith("/composite/sobjects/Task/Leadloop_Task_Key__c")
    ]
    assert [c["records"] for c in calls] == [10, 10, 5]

    rows[0] = (*rows[0][:3], "Completed", rows[0][4])
    _write_tasks(warehouse, rows)
    assert run_sync(SPEC, warehouse, SalesforceDestination(sf)).succeeded == 1
    # Bulk upsert of everything again (state forgotten): still one task per action.
    warehouse.query("delete from reverse_etl.sync_state")
    again = run_sync(SPEC, warehouse, SalesforceDestination(sf, bulk_threshold=20, bulk_poll_wait=0))
    assert (again.succeeded, again.failed) == (25, 0)
    assert _task_counts(sf) == Counter({row[0]: 1 for row in rows})
    done = sf.query(f"SELECT Status FROM Task WHERE Leadloop_Task_Key__c = '{rows[0][0]}'")["records"]
    assert [r["Status"] for r in done] == ["Completed"]


CHILD = """
import sys
from ingestion.crm_clients import salesforce_client
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from warehouse import Warehouse
sys.path.insert(0, {tests!r})
from test_reverse_etl_tasks import SPEC
sf = salesforce_client({url!r}, {token!r}, {ca!r})
print("imported", flush=True)  # the parent's clock starts here: a kill during imports tests nothing
run_sync(SPEC, Warehouse.from_url({warehouse!r}), SalesforceDestination(sf, backoff=0.01), flush_seconds=0.05)
"""


def test_sigkill_at_random_moments_leaves_exactly_one_task_per_action(warehouse, world_dir):
    rng = random.Random(19)
    # Latency stretches a run over many moments worth killing it at.
    with SalesforceSandbox(world_dir, faults=Faults(latency_ms=100)) as sandbox:
        from ingestion.crm_clients import salesforce_client

        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        rows = _actions(sf, 200)
        _write_tasks(warehouse, rows)
        script = CHILD.format(
            tests=str(Path(__file__).parent),
            url=sandbox.instance_url,
            token=sandbox.token,
            ca=str(sandbox.ca_path),
            warehouse=warehouse.url,
        )
        killed = 0
        for trial in range(6):
            # Each trial has every task to write again (a new subject), so each can die mid-run.
            rows = [
                (key, lead, f"Call this new A-grade MQL ({trial})", status, prio) for key, lead, _, status, prio in rows
            ]
            _write_tasks(warehouse, rows)
            child = subprocess.Popen(
                [sys.executable, "-c", script], cwd=REPO, env={**os.environ}, stdout=subprocess.PIPE, text=True
            )
            assert child.stdout is not None and child.stdout.readline() == "imported\n"
            time.sleep(rng.uniform(0.05, 1.0))  # however long the imports took on a busy machine
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                killed += 1
            child.wait()
            child.stdout.close()
        assert killed >= 3, "most trials should have died mid-run"
        final = run_sync(SPEC, warehouse, SalesforceDestination(sf))
        assert final.failed == 0
        assert _task_counts(sf) == Counter({row[0]: 1 for row in rows})
        subjects = {
            r["Subject"] for r in sf.query_all("SELECT Subject FROM Task WHERE Leadloop_Task_Key__c != null")["records"]
        }
        assert subjects == {"Call this new A-grade MQL (5)"}
        assert run_sync(SPEC, warehouse, SalesforceDestination(sf)).sent == 0
    runs = Counter(status for (status,) in warehouse.query("select status from reverse_etl.sync_runs"))
    assert runs["running"] == 0 and runs["abandoned"] >= killed - 1


def test_insert_once_creates_the_task_and_then_leaves_it_to_the_rep(warehouse, sf, salesforce_sandbox):
    spec = SyncSpec(**{**SPEC.__dict__, "operation": "insert_once"})
    rows = _actions(sf, 3)
    _write_tasks(warehouse, rows)
    assert run_sync(spec, warehouse, SalesforceDestination(sf)).succeeded == 3
    rows[0] = (rows[0][0], rows[0][1], "A new subject Leadloop would have written", "Not Started", "Low")
    _write_tasks(warehouse, rows)
    mark = salesforce_sandbox.last_request_id()
    again = run_sync(spec, warehouse, SalesforceDestination(sf))
    assert (again.planned, again.unchanged) == (0, 3)
    assert [r for r in salesforce_sandbox.request_log(mark) if r["method"] != "GET"] == []
    assert _task_counts(sf) == Counter({row[0]: 1 for row in rows})
