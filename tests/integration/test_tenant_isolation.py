"""Tenants from one tenants file, here sharing one warehouse (one Postgres database, one DuckDB
file) by schema prefix: each loads through its own Dagster definitions into its own schemas and
reads only its own partner configs; its erasures, sync state and reports stay its own. A tenant
whose load fails leaves nothing behind and stops no one else, and no tenant's environment
outlives its block. (Tenants with a warehouse each are kept apart by construction: a database or
file of their own.)"""

import json
import os
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from dagster import AssetKey, materialize

from orchestration.tenants import load_tenants, tenant_definitions, tenant_environment
from reporting.readonly import for_reading
from reporting.sql_guard import RefusedQuery
from reverse_etl import state
from silver.erasure import anonymize_bronze, register, registered_hashes

REPO = Path(__file__).resolve().parents[2]
EVENTS = AssetKey(["bronze_web_events", "events"])
PARTNERS = AssetKey(["bronze_partners", "mailed_records"])
ERASED = "jane.doe@example.com"


def events_landing(folder: Path, tenant: str) -> Path:
    """Two page views of the tenant's own visitors; the second one by an address both tenants know."""
    day = folder / "web_events" / "2026-11-30"
    day.mkdir(parents=True)
    lines = [
        {
            "schema_version": 2,
            "event_id": f"{tenant}-{i}",
            "event_type": "page_view",
            "occurred_at": f"2026-11-30T10:00:0{i}.000Z",
            "email": ERASED if i else None,
            "anonymous_id": f"{tenant}-visitor",
            "properties": {"path": "/pricing"},
            "context": {"user_agent": "test", "ip": "203.0.113.1"},
        }
        for i in range(2)
    ]
    (day / "events-0001.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


def partner_folder(folder: Path, partner: str) -> Path:
    """A partner config of the tenant's own: the shipped Eastprint dialect under another name."""
    shipped = yaml.safe_load((REPO / "ingestion/partner_files/partners/eastprint.yaml").read_text())
    folder.mkdir()
    config = {**shipped, "partner": partner, "files": f"{partner}/{partner}_{{kind}}_*.csv"}
    (folder / f"{partner}.yaml").write_text(yaml.safe_dump(config))
    return folder


def partner_drops(folder: Path, partners: dict[str, str]) -> Path:
    """One mailed record per partner (partner -> tracking code), all in one drop folder."""
    for partner, tracking in partners.items():
        (folder / partner).mkdir(parents=True)
        (folder / partner / f"{partner}_mailed_20261101.csv").write_text(
            "first_name,last_name,street,city,state,postal_code,loan_amount,rate,mailer_version,mailed_on,"
            "imb_tracking,imb_routing\n"
            f"Ann,Lee,1 Main St,Austin,TX,78701,100000.00,5.000,A,2026-11-01,{tracking},78701\n"
        )
    return folder


def materialized(tenant, keys: list[AssetKey]) -> str:
    """Materializes the tenant's assets `keys` with its own definitions and resources: "ok", or
    the first failure's message."""
    with tenant_environment(tenant):
        defs = tenant_definitions(tenant)
        assets = list({id(a): a for a in (defs.resolve_assets_def(k) for k in keys)}.values())
        resources = {
            key: defs.resources[key]
            for asset in assets
            for key in asset.required_resource_keys
            if key not in asset.resource_defs
        }
        result = materialize(assets, selection=keys, resources=resources, raise_on_error=False)
        failures = [e.step_failure_data.error.to_string() for e in result.all_events if e.is_step_failure]
        return "ok" if result.success else failures[0]


def test_tenants_sharing_one_warehouse_keep_to_their_own_schemas(warehouse, tmp_path, monkeypatch):
    before = dict(os.environ)
    monkeypatch.setenv("SHARED_WAREHOUSE_URL", warehouse.url)
    drops = partner_drops(tmp_path / "drops", {"alpha": "00300234567399210000", "beta": "00300234567399210001"})
    shared = {"warehouse_url_env": "SHARED_WAREHOUSE_URL"}
    spec = [
        {
            "name": "acme",
            "schema_prefix": "acme",
            **shared,
            "partner_configs": str(partner_folder(tmp_path / "acme-partners", "alpha")),
            "landing": {"events_url": str(events_landing(tmp_path / "acme", "acme")), "partner_drops_url": str(drops)},
        },
        {
            "name": "globex",
            "schema_prefix": "globex",
            **shared,
            "partner_configs": str(partner_folder(tmp_path / "globex-partners", "beta")),
            "landing": {
                "events_url": str(events_landing(tmp_path / "globex", "globex")),
                "partner_drops_url": str(drops),
            },
        },
        {"name": "broken", "schema_prefix": "broken", **shared, "landing": {"events_url": "nosuchscheme://events"}},
    ]
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": spec}))
    acme, globex, broken = load_tenants(path, root=tmp_path)

    failure = materialized(broken, [EVENTS])
    assert "Protocol not known: nosuchscheme" in failure  # its landing, not anything of the others
    assert materialized(acme, [EVENTS, PARTNERS]) == "ok"
    assert materialized(globex, [EVENTS, PARTNERS]) == "ok"

    def rows(sql: str) -> list:
        return [row[0] for row in warehouse.query(sql)]

    schemas = set(rows("select distinct table_schema from information_schema.tables"))
    assert {"acme_bronze_web_events", "globex_bronze_web_events", "acme_bronze_partners"} <= schemas
    assert not {s for s in schemas if s.startswith(("bronze_", "broken_"))}  # no one wrote unprefixed
    assert rows("select event_id from acme_bronze_web_events.events order by 1") == ["acme-0", "acme-1"]
    assert rows("select event_id from globex_bronze_web_events.events order by 1") == ["globex-0", "globex-1"]
    # One drop folder holds both partners' files: each tenant loads the partner it configured.
    assert rows("select partner from acme_bronze_partners.mailed_records") == ["alpha"]
    assert rows("select partner from globex_bronze_partners.mailed_records") == ["beta"]

    # An erasure acme receives deletes acme's copy of the address, never globex's.
    mine, theirs = acme.warehouse(), globex.warehouse()
    register(mine, [ERASED], requested_by="test")
    no_records = pa.table({"source": pa.array([], pa.string()), "source_id": pa.array([], pa.string())})
    assert anonymize_bronze(mine, no_records, registered_hashes(mine)) == {"acme_bronze_web_events.events": 1}
    assert registered_hashes(theirs) == set()
    assert rows("select event_id from acme_bronze_web_events.events") == ["acme-0"]
    assert rows("select event_id from globex_bronze_web_events.events order by 1") == ["globex-0", "globex-1"]

    # Sync state: what acme's CRM confirmed is not globex's.
    for tenant_warehouse in (mine, theirs):
        state.ensure_tables(tenant_warehouse)
    state.record_batch(mine, "lead_scores_to_salesforce", [("00Q1", "h1", "{}")], [])
    assert state.confirmed_hashes(mine, "lead_scores_to_salesforce") == {"00Q1": "h1"}
    assert state.confirmed_hashes(theirs, "lead_scores_to_salesforce") == {}

    # Reports: each reader sees its own gold; another tenant's is refused by the guard and, on
    # Postgres, by the reader role's grants too.
    for tenant_warehouse, person in ((mine, "acme-p"), (theirs, "globex-p")):
        scores = pa.table({"person_id": [person], "score": [70]})
        tenant_warehouse.replace_table(tenant_warehouse.schema("gold"), "lead_scores", scores)
    reader = for_reading(mine, timeout_seconds=5)
    assert reader.run("select person_id from lead_scores").rows == [("acme-p",)]
    assert reader.run("select person_id from gold.lead_scores").rows == [("acme-p",)]
    with pytest.raises(RefusedQuery, match="Only the gold schema"):
        reader.run("select person_id from globex_gold.lead_scores")
    if not warehouse.is_duckdb:
        with pytest.raises(RefusedQuery, match="permission denied"):
            reader.execute("select person_id from globex_gold.lead_scores")
        assert for_reading(theirs).run("select person_id from lead_scores").rows == [("globex-p",)]

    managed = set(acme.environment()) | set(globex.environment())
    assert {k: os.environ.get(k) for k in managed} == {k: before.get(k) for k in managed}
