"""The world moves on: `--days` changes about 1% a day, deterministically, with truth kept."""

from __future__ import annotations

import csv
import shutil
import sqlite3

import pytest

from sandbox.advance import advance_world
from sandbox.generator import generate_world


def _leads(world):
    conn = sqlite3.connect(world / "salesforce.sqlite")
    rows = conn.execute('select "Id", "Title", "IsDeleted", "HasOptedOutOfEmail" from "Lead" order by "Id"').fetchall()
    conn.close()
    return rows


def test_a_day_changes_about_one_percent_deterministically(tmp_path):
    generate_world(tmp_path / "a", leads=2000, seed=4)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    before = _leads(tmp_path / "a")
    changes = advance_world(tmp_path / "a", days=1)
    advance_world(tmp_path / "b", days=1)
    after = _leads(tmp_path / "a")
    assert after == _leads(tmp_path / "b")
    assert changes["new_leads"] == len(after) - len(before) > 0
    differing = sum(1 for old, new in zip(before, after, strict=False) if old != new)
    assert 0.005 * len(before) < differing < 0.03 * len(before)
    assert changes["deleted_leads"] == sum(r[2] for r in after) - sum(r[2] for r in before)
    with open(tmp_path / "a" / "truth" / "leads.csv") as handle:
        lead_truth = list(csv.DictReader(handle))
    assert {row["lead_id"] for row in lead_truth} == {r[0] for r in after}
    # A new person's intent is in the truth too, as the first day's people's is: their website
    # visits follow it (sandbox/intent.py), and the benches split the AUC gap with it.
    with open(tmp_path / "a" / "truth" / "intent.csv") as handle:
        intent = {row["person_key"]: row for row in csv.DictReader(handle)}
    assert set(intent) == {row["person_key"] for row in lead_truth}
    propensity = {row["person_key"]: row["propensity"] for row in lead_truth}
    assert all(intent[key]["propensity"] == propensity[key] for key in intent)
    # The web history before the first day, the first day and the new one: every event id once.
    with open(tmp_path / "a" / "truth" / "web_events.csv") as handle:
        web = [row for row in csv.DictReader(handle) if not row["defect"]]
    days = sorted({row["day"] for row in web})
    assert days[0] < "2026-11-01" < days[-1] == "2026-11-02"
    assert len({row["event_id"] for row in web}) == len(web)


def test_a_new_lead_is_made_by_the_org_not_by_whoever_last_wrote_its_template(tmp_path):
    """Incremental loads leave out what the integration user changed last (no echo): a new lead
    that copied its template's LastModifiedById after a sync had written the template was never
    loaded."""
    from sandbox.salesforce.store import WORLD_USER_ID

    generate_world(tmp_path, leads=300, seed=5)
    with sqlite3.connect(tmp_path / "salesforce.sqlite") as conn:
        conn.execute('update "Lead" set "LastModifiedById" = ?', ["005000000000INTEGR"])
    changes = advance_world(tmp_path, days=1)
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    authors = conn.execute(
        'select "LastModifiedById" from "Lead" where "Id" not in (select "Id" from "Lead" order by "Id" limit 300)'
    ).fetchall()
    conn.close()
    assert len(authors) == changes["new_leads"] > 0
    assert set(authors) == {(WORLD_USER_ID,)}


def test_open_opportunities_close_as_days_pass_and_the_truth_follows(tmp_path):
    generate_world(tmp_path, leads=3000, seed=7)
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    open_before = conn.execute('select count(*) from "Opportunity" where "IsClosed" = 0').fetchone()[0]
    changes = advance_world(tmp_path, days=30)
    stages = dict(conn.execute('select "Id", "StageName" from "Opportunity"').fetchall())
    open_after = sum(1 for stage in stages.values() if not stage.startswith("Closed"))
    assert changes["closed_opportunities"] == open_before - open_after > 0
    with open(tmp_path / "truth" / "outcomes.csv") as handle:
        outcomes = [row for row in csv.DictReader(handle) if row["opportunity_id"]]
    assert all(stages[row["opportunity_id"]] == row["stage"] for row in outcomes)
    won = conn.execute('select count(*) from "Opportunity" where "IsWon" = 1').fetchone()[0]
    assert won == sum(row["won"] == "1" for row in outcomes)


def test_incremental_load_after_a_day_reads_only_what_changed(duckdb_warehouse, world_dir):
    from ingestion.crm_clients import salesforce_client
    from ingestion.pipelines import make_pipeline
    from ingestion.salesforce import salesforce_source
    from sandbox.salesforce.server import SalesforceSandbox

    def load(sf):
        pipeline = make_pipeline("salesforce", duckdb_warehouse)
        pipeline.run(salesforce_source(client_factory=lambda: sf, bulk_poll_seconds=0)).raise_on_failed_jobs()
        return pipeline.last_trace.last_normalize_info.row_counts.get("lead", 0)

    with SalesforceSandbox(world_dir) as sandbox:
        full = load(salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path))
    changes = advance_world(world_dir, days=1)
    with SalesforceSandbox(world_dir) as sandbox:
        incremental = load(salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path))
    touched = changes["new_leads"] + changes["changed_leads"] + changes["deleted_leads"] + changes["opted_out"]
    assert full == 200
    assert incremental == touched
    assert duckdb_warehouse.query("select count(*) from bronze_salesforce.lead")[0][0] == 200 + changes["new_leads"]


def test_a_store_transaction_commits_as_one_and_a_failed_one_leaves_nothing(tmp_path):
    from sandbox.salesforce.schema import LEAD
    from sandbox.salesforce.store import Store

    generate_world(tmp_path, leads=50, seed=3)
    store = Store(tmp_path / "salesforce.sqlite")
    first, second = [r["Id"] for r in store.select('select "Id" from "Lead" order by "Id" limit 2', [])]
    try:
        with store.transaction():
            store.update(LEAD, first, {"Title": "Chief Tester"})
            store.insert_many(LEAD, [{**store.get(LEAD, second), "Id": "00Q0000000NEW01"}])  # nests a savepoint
            reader = sqlite3.connect(tmp_path / "salesforce.sqlite")
            assert reader.execute('select count(*) from "Lead" where "Title" = ?', ["Chief Tester"]).fetchone()[0] == 0
        assert reader.execute('select count(*) from "Lead" where "Title" = ?', ["Chief Tester"]).fetchone()[0] == 1
        with pytest.raises(RuntimeError), store.transaction():
            store.update(LEAD, second, {"Title": "Never Saved"})
            raise RuntimeError("the day failed")
        assert store.get(LEAD, second)["Title"] != "Never Saved"
        assert store.get(LEAD, "00Q0000000NEW01") is not None
        reader.close()
    finally:
        store.close()
