"""The HubSpot dlt source on each warehouse, through the real hubspot-api-client: full load with
associations, incremental by search, archived records, quarantine with reconciled counts, and
rate limits waited out."""

from __future__ import annotations

import json
import sqlite3

from ingestion.crm_clients import hubspot_client
from ingestion.hubspot import hubspot_source
from ingestion.pipelines import make_pipeline
from ingestion.quarantine import RUN_COUNTS_STATE


def _load(warehouse, sandbox) -> dict[str, int]:
    client = hubspot_client(sandbox.url, sandbox.token)
    pipeline = make_pipeline("hubspot", warehouse)
    pipeline.run(hubspot_source(client_factory=lambda: client)).raise_on_failed_jobs()
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


def _run_counts(warehouse, table: str) -> dict[str, int]:
    state = make_pipeline("hubspot", warehouse).state["sources"]["hubspot"]["resources"][table]
    return state[RUN_COUNTS_STATE]


def _world(world_dir, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(world_dir / "hubspot.sqlite")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_full_load_then_rerun_is_a_noop(warehouse, hubspot_sandbox, world_dir):
    loaded = _load(warehouse, hubspot_sandbox)
    expected = dict(_world(world_dir, "select object_type, count(*) from objects group by 1"))
    assert {k: loaded[k] for k in expected} == expected
    assert loaded["owners"] == _world(world_dir, "select count(*) from owners")[0][0]
    for table in expected:
        assert _run_counts(warehouse, table) == {"read": expected[table], "loaded": expected[table], "quarantined": 0}
    # Deal associations arrive with the deal, as `;`-joined ids, and match the portal's.
    pairs = _world(
        world_dir, "select from_id, to_id from associations where from_type = 'deals' and to_type = 'contacts'"
    )
    bronze = dict(warehouse.query("select id, associated_contacts from bronze_hubspot.deals"))
    assert pairs and all(bronze[deal] == contact for deal, contact in pairs)
    companies = dict(warehouse.query("select id, associated_companies from bronze_hubspot.contacts"))
    assert all(companies[c] for c in companies)  # every contact has its employer

    again = _load(warehouse, hubspot_sandbox)
    assert {k: again.get(k, 0) for k in expected} == dict.fromkeys(expected, 0)
    assert warehouse.query("select count(*) from bronze_hubspot.contacts")[0][0] == expected["contacts"]


def test_pages_handed_on_many_at_once_lose_and_repeat_no_record(
    duckdb_warehouse, hubspot_sandbox, world_dir, monkeypatch
):
    import ingestion.hubspot

    monkeypatch.setattr(ingestion.hubspot, "ITEM_ROWS", 25)  # several full items and a remainder per table
    expected = dict(_world(world_dir, "select object_type, count(*) from objects group by 1"))
    assert max(expected.values()) > 3 * 25 and any(n % 25 for n in expected.values())
    loaded = _load(duckdb_warehouse, hubspot_sandbox)
    assert {k: loaded[k] for k in expected} == expected
    for table, count in expected.items():
        ids = duckdb_warehouse.query(f"select count(*), count(distinct id) from bronze_hubspot.{table}")[0]
        assert ids == (count, count)


def test_incremental_load_reads_changed_and_archived_records(warehouse, hubspot_sandbox, hubspot, world_dir):
    from sandbox.advance import advance_world

    _load(warehouse, hubspot_sandbox)
    total_before = warehouse.query("select count(*) from bronze_hubspot.contacts")[0][0]
    changes = advance_world(world_dir, days=1)
    contact_id = warehouse.query("select min(id) from bronze_hubspot.contacts")[0][0]
    hubspot.crm.contacts.basic_api.archive(contact_id)

    loaded = _load(warehouse, hubspot_sandbox)
    new_contacts = len(_world(world_dir, "select id from objects where object_type = 'contacts'")) - total_before
    # Edited contacts may include the archived one or a new one; the count is exact otherwise.
    assert changes["changed_contacts"] <= loaded["contacts"] <= changes["changed_contacts"] + new_contacts + 1
    archived = warehouse.query("select archived from bronze_hubspot.contacts where id = ?", [contact_id])
    assert archived == [(True,)]
    assert warehouse.query("select count(*) from bronze_hubspot.contacts")[0][0] == total_before + new_contacts


def test_unparseable_values_are_quarantined_and_counts_reconcile(warehouse, hubspot_sandbox, world_dir):
    company_id, props = _world(world_dir, "select id, properties from objects where object_type = 'companies' limit 1")[
        0
    ]
    broken = {**json.loads(props), "numberofemployees": "about forty"}
    conn = sqlite3.connect(world_dir / "hubspot.sqlite")
    conn.execute(
        "update objects set properties = ? where object_type = 'companies' and id = ?", [json.dumps(broken), company_id]
    )
    conn.commit()
    conn.close()

    loaded = _load(warehouse, hubspot_sandbox)
    counts = _run_counts(warehouse, "companies")
    assert counts["read"] == counts["loaded"] + counts["quarantined"]
    assert counts["quarantined"] == 1 and loaded["companies"] == counts["loaded"]
    [(source, reason, payload)] = warehouse.query(
        "select source, reason, raw_payload from bronze_hubspot.companies_quarantine"
    )
    assert source.startswith(f"hubspot/companies/{company_id}@")
    assert reason == "unparseable number in numberofemployees: 'about forty'"
    assert json.loads(payload)["properties"]["numberofemployees"] == "about forty"
    assert warehouse.query("select count(*) from bronze_hubspot.companies where id = ?", [company_id]) == [(0,)]


def test_rate_limits_are_waited_out(duckdb_warehouse, world_dir):
    from sandbox.hubspot.server import HubSpotSandbox

    with HubSpotSandbox(world_dir, requests_per_ten_seconds=4, rate_window_seconds=0.3) as sandbox:
        loaded = _load(duckdb_warehouse, sandbox)
        statuses = [r["status"] for r in sandbox.request_log()]
    assert 429 in statuses
    assert loaded["contacts"] == _world(world_dir, "select count(*) from objects where object_type = 'contacts'")[0][0]
