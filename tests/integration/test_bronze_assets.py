"""Bronze in Dagster: one asset per table, grouped by source, and materializations that tell a
data engineer what happened: rows loaded, the incremental cursor, reconciled counts, drift."""

from __future__ import annotations

from dagster import AssetKey, DagsterInstance, materialize

from orchestration.assets.bronze import build_all_bronze_assets
from orchestration.resources import HubSpotResource, LandingZoneResource, ProductDbResource, SalesforceResource


def _materializations(result) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        m = event.materialization
        out["/".join(m.asset_key.path)] = {k: getattr(v, "value", v) for k, v in m.metadata.items()}
    return out


def test_bronze_assets_carry_counts_cursor_and_groups(duckdb_warehouse, salesforce_sandbox, hubspot_sandbox, world_dir):
    from dagster_dlt import DagsterDltResource

    every = build_all_bronze_assets(duckdb_warehouse)
    required = {assets.op.name: assets.required_resource_keys - {"io_manager"} for assets in every}
    assert required == {
        "salesforce_bronze": {"dlt", "salesforce"},
        "hubspot_bronze": {"dlt", "hubspot"},
        "product_bronze": {"dlt", "product_db"},
        "web_events_bronze": {"dlt", "landing"},
        "partners_bronze": {"dlt", "landing"},
    }
    keys = {k.to_user_string() for assets in every for k in assets.keys}
    assert {
        "bronze_salesforce/lead",
        "bronze_salesforce/campaign_member",
        "bronze_hubspot/deals",
        "bronze_product/usage_events",
    } <= keys
    groups = {g for assets in every for g in assets.group_names_by_key.values()}
    assert groups == {"bronze_salesforce", "bronze_hubspot", "bronze_product", "bronze_web_events", "bronze_partners"}

    resources = {
        "dlt": DagsterDltResource(),
        "salesforce": SalesforceResource(
            instance_url=salesforce_sandbox.instance_url,
            access_token=salesforce_sandbox.token,
            ca_bundle=str(salesforce_sandbox.ca_path),
            bulk_poll_seconds=0.0,
        ),
        "hubspot": HubSpotResource(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url),
        "product_db": ProductDbResource(data_dir=str(world_dir.parent)),
        "landing": LandingZoneResource(data_dir=str(world_dir.parent)),
    }
    result = materialize(every, resources=resources, instance=DagsterInstance.ephemeral())
    assert result.success
    meta = _materializations(result)
    lead = meta["bronze_salesforce/lead"]
    assert lead["rows_loaded"] == 200
    assert lead["incremental_cursor"].startswith("SystemModstamp = 20")
    contacts = meta["bronze_hubspot/contacts"]
    assert contacts["rows_read"] == contacts["rows_loaded"] + contacts["rows_quarantined"] > 0
    assert contacts["incremental_cursor"].startswith("lastmodifieddate = 20")
    assert AssetKey(["bronze_hubspot", "owners"]).to_user_string() in meta
    events = meta["bronze_web_events/events"]
    assert events["rows_read"] == events["rows_loaded"] + events["rows_quarantined"] and events["rows_quarantined"] > 0
    mailed = meta["bronze_partners/mailed_records"]
    assert mailed["rows_read"] == mailed["rows_loaded"] + mailed["rows_quarantined"] + mailed["rows_duplicates"] > 0
    usage = meta["bronze_product/usage_events"]
    assert usage["rows_loaded"] > 0 and usage["incremental_cursor"].startswith("updated_at = 20")
