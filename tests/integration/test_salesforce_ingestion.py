"""The Salesforce dlt source on each warehouse: Bulk 2.0 and REST agree, incremental reads only
what changed, deletions arrive as a soft-delete flag, a re-run is a no-op."""

from __future__ import annotations

import pytest

from ingestion.pipelines import make_pipeline
from ingestion.salesforce import salesforce_source

COLUMNS = "id, email, annual_revenue, number_of_employees, is_deleted, system_modstamp"


def _load(warehouse, sf, bulk_threshold):
    pipeline = make_pipeline("salesforce", warehouse)
    info = pipeline.run(
        salesforce_source(client_factory=lambda: sf, bulk_threshold=bulk_threshold, bulk_poll_seconds=0)
    )
    info.raise_on_failed_jobs()
    return pipeline.last_trace.last_normalize_info.row_counts.get("lead", 0)


def _bronze(warehouse):
    return warehouse.query(f"select {COLUMNS} from bronze_salesforce.lead order by id")


@pytest.mark.parametrize("path", ["bulk", "rest"])
def test_full_then_incremental_then_noop(warehouse, sf, salesforce_sandbox, path):
    threshold = 0 if path == "bulk" else 10**9
    assert _load(warehouse, sf, threshold) == 200
    log = salesforce_sandbox.request_log()
    bulk_jobs = [r for r in log if "/jobs/query" in r["path"] and r["method"] == "POST" and r["object"] == "Lead"]
    assert len(bulk_jobs) == (1 if path == "bulk" else 0)

    # Nothing changed: the boundary second is re-read, dlt's key dedup drops it.
    assert _load(warehouse, sf, threshold) == 0

    lead_id, deleted_id = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 2")["records"]]
    sf.Lead.update(lead_id, {"AnnualRevenue": 123456.0})
    sf.Lead.delete(deleted_id)
    assert _load(warehouse, sf, threshold) == 2
    rows = {r[0]: r for r in _bronze(warehouse)}
    assert len(rows) == 200
    assert rows[lead_id][2] == 123456.0
    assert rows[deleted_id][4] is True


def test_bulk_and_rest_load_identical_bronze(duckdb_warehouse, postgres_warehouse, sf):
    _load(duckdb_warehouse, sf, bulk_threshold=0)
    _load(postgres_warehouse, sf, bulk_threshold=10**9)
    bulk, rest = _bronze(duckdb_warehouse), _bronze(postgres_warehouse)
    assert len(bulk) == 200
    normalize = lambda rows: [(*r[:5], r[5].isoformat()) for r in rows]  # noqa: E731
    assert normalize(bulk) == normalize(rest)


def test_schema_drift_adds_new_fields_and_stops_on_retyped_or_removed_ones(warehouse, sf, world_dir, monkeypatch):
    """The org's admin changes Lead: a new field evolves bronze with a warning; a retyped or
    removed field stops the load with a message naming it, and bronze keeps its values."""
    import dataclasses
    import sqlite3

    from dlt.pipeline.exceptions import PipelineStepFailed

    from ingestion.schema_drift import added_columns, known_columns
    from sandbox.salesforce import schema as org

    lead = org.OBJECTS["lead"]
    _load(warehouse, sf, 10**9)
    pipeline = make_pipeline("salesforce", warehouse)
    before = known_columns(pipeline)

    conn = sqlite3.connect(world_dir / "salesforce.sqlite")
    conn.execute('alter table "Lead" add column "Buying_Stage__c" text')
    conn.execute(
        'update "Lead" set "Buying_Stage__c" = \'evaluating\', "SystemModstamp" = \'2030-01-01T00:00:00.000Z\''
    )
    conn.commit()
    grown = dataclasses.replace(lead, fields=(*lead.fields, org.Field("Buying_Stage__c", "string", 40, custom=True)))
    monkeypatch.setitem(org.OBJECTS, "lead", grown)
    assert _load(warehouse, sf, 10**9) == 200
    assert added_columns(before, known_columns(make_pipeline("salesforce", warehouse)))["lead"] == ["buying_stage__c"]
    assert warehouse.query("select count(*) from bronze_salesforce.lead where buying_stage__c = 'evaluating'") == [
        (200,)
    ]

    retyped = tuple(dataclasses.replace(f, type="double") if f.name == "PostalCode" else f for f in grown.fields)
    monkeypatch.setitem(org.OBJECTS, "lead", dataclasses.replace(grown, fields=retyped))
    # The org now sends numbers there (every value must parse as one, Canadian and British codes too).
    conn.execute('update "Lead" set "PostalCode" = \'94105\', "SystemModstamp" = \'2030-01-02T00:00:00.000Z\'')
    conn.commit()
    with pytest.raises(PipelineStepFailed, match="postal_code") as retype_error:
        _load(warehouse, sf, 10**9)
    assert "frozen" in str(retype_error.value)

    shrunk = tuple(f for f in grown.fields if f.name != "Title")
    monkeypatch.setitem(org.OBJECTS, "lead", dataclasses.replace(grown, fields=shrunk))
    with pytest.raises(PipelineStepFailed, match="no longer sends column.s. title"):
        _load(warehouse, sf, 10**9)
    assert warehouse.query("select count(*) from bronze_salesforce.lead where title is not null")[0][0] > 0
    conn.close()


def test_every_object_lands_in_its_bronze_table_with_deletions_flagged(warehouse, sf, world_dir):
    import sqlite3

    from ingestion.salesforce import DEFAULT_OBJECTS, resource_name

    pipeline = make_pipeline("salesforce", warehouse)
    pipeline.run(salesforce_source(client_factory=lambda: sf, bulk_threshold=100)).raise_on_failed_jobs()
    conn = sqlite3.connect(world_dir / "salesforce.sqlite")
    for sobject in DEFAULT_OBJECTS:
        (expected,) = conn.execute(f'select count(*) from "{sobject}"').fetchone()
        table = resource_name(sobject)
        assert warehouse.query(f"select count(*) from bronze_salesforce.{table}") == [(expected,)], sobject
    contact_id = sf.query("SELECT Id FROM Contact ORDER BY Id LIMIT 1")["records"][0]["Id"]
    sf.Contact.delete(contact_id)
    pipeline.run(salesforce_source(client_factory=lambda: sf, bulk_threshold=100)).raise_on_failed_jobs()
    assert pipeline.last_trace.last_normalize_info.row_counts.get("contact") == 1
    assert warehouse.query("select is_deleted from bronze_salesforce.contact where id = ?", [contact_id]) == [(True,)]


@pytest.mark.parametrize("path", ["bulk", "rest"])
def test_rows_that_break_the_contract_are_quarantined_and_counts_reconcile(warehouse, sf, world_dir, path):
    """A value that is not its field's type (here: text in a number field, as a broken
    integration could leave it) quarantines that row with the reason; the rest of the page loads."""
    import json
    import sqlite3

    from ingestion.quarantine import RUN_COUNTS_STATE

    conn = sqlite3.connect(world_dir / "salesforce.sqlite")
    bad_id = conn.execute('select "Id" from "Lead" order by "Id" limit 1 offset 5').fetchone()[0]
    conn.execute('update "Lead" set "NumberOfEmployees" = \'lots\' where "Id" = ?', [bad_id])
    conn.commit()
    conn.close()

    assert _load(warehouse, sf, 0 if path == "bulk" else 10**9) == 199
    counts = make_pipeline("salesforce", warehouse).state["sources"]["salesforce"]["resources"]["lead"][
        RUN_COUNTS_STATE
    ]
    assert counts == {"read": 200, "loaded": 199, "quarantined": 1}
    [(source, reason, payload)] = warehouse.query(
        "select source, reason, raw_payload from bronze_salesforce.lead_quarantine"
    )
    assert source.startswith(f"salesforce/Lead/{bad_id}@")
    assert reason.startswith("unparseable int64 in NumberOfEmployees: 'lots'")
    assert json.loads(payload)["NumberOfEmployees"] == "lots"
    assert warehouse.query("select count(*) from bronze_salesforce.lead where id = ?", [bad_id]) == [(0,)]
    # A re-run neither reloads nor re-quarantines it twice.
    _load(warehouse, sf, 0 if path == "bulk" else 10**9)
    assert warehouse.query("select count(*) from bronze_salesforce.lead_quarantine") == [(1,)]
