"""Two tenants from one tenants file, each loading its own web events through its own Dagster
definitions: one tenant's failure does not stop or touch the other, and each warehouse holds
only its own tenant's rows."""

import json
import os
from pathlib import Path

import yaml
from dagster import AssetKey, materialize

from orchestration.tenants import load_tenants, tenant_definitions, tenant_environment

EVENTS = AssetKey(["bronze_web_events", "events"])


def landing_with_events(folder: Path, prefix: str, count: int) -> Path:
    day = folder / "web_events" / "2026-11-30"
    day.mkdir(parents=True)
    lines = [
        {
            "schema_version": 2,
            "event_id": f"{prefix}-{i}",
            "event_type": "page_view",
            "occurred_at": f"2026-11-30T10:00:0{i}.000Z",
            "email": None,
            "anonymous_id": f"{prefix}-visitor",
            "properties": {"path": "/pricing"},
            "context": {"user_agent": "test", "ip": "203.0.113.1"},
        }
        for i in range(count)
    ]
    (day / "events-0001.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


def load_events(tenant, runs: int = 1) -> list[bool]:
    """Materializes the tenant's web-event bronze asset `runs` times with its own resources."""
    with tenant_environment(tenant):
        defs = tenant_definitions(tenant)
        asset = defs.resolve_assets_def(EVENTS)
        bound = set(asset.resource_defs)
        resources = {key: defs.resources[key] for key in asset.required_resource_keys if key not in bound}
        return [
            materialize([asset], selection=[EVENTS], resources=resources, raise_on_error=False).success
            for _ in range(runs)
        ]


def test_one_tenants_failure_and_data_never_reach_another(warehouse, tmp_path, monkeypatch):
    before = dict(os.environ)
    broken_url = "postgresql://postgres@127.0.0.1:1/no_such_warehouse"  # nothing listens on port 1
    good_url = warehouse.url if not warehouse.is_duckdb else None
    spec = [
        {
            "name": "broken",
            "warehouse_url": broken_url,
            "landing": {"events_url": str(landing_with_events(tmp_path / "broken-landing", "broken", 3))},
        },
        {
            "name": "healthy",
            "landing": {"events_url": str(landing_with_events(tmp_path / "healthy-landing", "healthy", 2))},
            **({"warehouse_url_env": "HEALTHY_WAREHOUSE_URL"} if good_url else {}),
        },
    ]
    if good_url:
        monkeypatch.setenv("HEALTHY_WAREHOUSE_URL", good_url)
    if warehouse.is_duckdb:
        spec[1]["warehouse_url"] = warehouse.url
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": spec}))
    broken, healthy = load_tenants(path, root=tmp_path)

    assert load_events(broken) == [False]
    assert load_events(healthy, runs=2) == [True, True]  # the second run: nothing new, nothing doubled

    ids = [row[0] for row in warehouse.query("select event_id from bronze_web_events.events order by event_id")]
    assert ids == ["healthy-0", "healthy-1"]
    assert not (tmp_path / "tenants" / "healthy" / "tenants").exists()
    assert not list((tmp_path / "broken-landing").rglob("*.duckdb"))
    managed = set(broken.environment()) | set(healthy.environment())
    assert {k: os.environ.get(k) for k in managed} == {k: before.get(k) for k in managed}  # nothing left behind
