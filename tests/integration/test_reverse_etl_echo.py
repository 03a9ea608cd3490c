"""No echo: what a sync writes does not come back as a source change. The sandbox stamps every
write with the caller's user (`LastModifiedById`), as an org does; the bronze load leaves out the
rows its own (integration) user changed last, and still reads what a rep or the world changed."""

from __future__ import annotations

from ingestion.crm_clients import salesforce_client
from ingestion.pipelines import make_pipeline
from ingestion.salesforce import own_user_id, salesforce_source
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import load_spec
from sandbox.salesforce.schema import sobject
from sandbox.salesforce.store import INTEGRATION_USER_ID, REP_USER_ID, WORLD_USER_ID
from tests.support import write_lead_scores

SPEC = load_spec("lead_scores_to_salesforce")


def _load(warehouse, sf) -> int:
    pipeline = make_pipeline("salesforce", warehouse)
    info = pipeline.run(
        salesforce_source(client_factory=lambda: sf, bulk_poll_seconds=0, objects=("Lead",), skip_own_writes=("Lead",))
    )
    info.raise_on_failed_jobs()
    return pipeline.last_trace.last_normalize_info.row_counts.get("lead", 0)


def test_a_sync_does_not_come_back_but_a_reps_and_the_worlds_edits_do(warehouse, sf, salesforce_sandbox):
    sandbox = salesforce_sandbox
    rep = salesforce_client(sandbox.instance_url, sandbox.rep_token, sandbox.ca_path)
    assert own_user_id(sf) == INTEGRATION_USER_ID and own_user_id(rep) == REP_USER_ID
    assert _load(warehouse, sf) == 200

    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT 60")["records"]]
    write_lead_scores(warehouse, [(i, 70, "A", "fit", 1) for i in ids])
    assert run_sync(SPEC, warehouse, SalesforceDestination(sf)).succeeded == 60
    assert {
        r["LastModifiedById"]
        for r in sf.query_all("SELECT LastModifiedById FROM Lead WHERE Lead_Grade__c = 'A'")["records"]
    } == {INTEGRATION_USER_ID}
    assert _load(warehouse, sf) == 0  # 60 leads written, none re-loaded

    rep.Lead.update(ids[0], {"Title": "VP Sales"})
    # The world moving on (`leadloop generate --days`) writes through the store as a person in the org.
    stamp = sandbox.store.now()
    sandbox.store.update(sobject("Lead"), ids[1], {"Title": "CFO", "SystemModstamp": stamp, "LastModifiedDate": stamp})
    assert _load(warehouse, sf) == 2
    rows = dict(
        warehouse.query("select id, last_modified_by_id from bronze_salesforce.lead where id in (?, ?)", ids[:2])
    )
    assert rows == {ids[0]: REP_USER_ID, ids[1]: WORLD_USER_ID}
    assert warehouse.query("select title from bronze_salesforce.lead where id = ?", [ids[0]]) == [("VP Sales",)]
