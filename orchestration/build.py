"""Assembles the Dagster definitions for one warehouse.

`definitions.py` calls this with the warehouse from the environment; tests call it with a
throwaway warehouse and a sandbox-backed Salesforce resource.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)
from dagster_dlt import DagsterDltResource

from orchestration.assets.bronze import build_all_bronze_assets
from orchestration.assets.dbt import build_dbt_assets, dbt_resource
from orchestration.assets.enrichment import person_enrichment
from orchestration.assets.identity import identity_resolution
from orchestration.assets.propensity import lead_propensity
from orchestration.assets.routing import routing_classifications
from orchestration.assets.syncs import build_sync_assets
from orchestration.automation import automation_sensor, with_operating_policies
from orchestration.checks.contracts import build_contract_checks
from orchestration.resources import (
    EnrichmentResource,
    HubSpotResource,
    LandingZoneResource,
    ProductDbResource,
    SalesforceResource,
    WarehouseResource,
)
from orchestration.sensors import build_sensors
from orchestration.step_memory import HOOKS as STEP_MEMORY_HOOKS
from warehouse import Warehouse

LEAD_LOOP_JOB = "lead_loop"


def build_definitions(
    warehouse: Warehouse,
    *,
    warehouse_resource: WarehouseResource | None = None,
    salesforce: SalesforceResource | None = None,
    hubspot: HubSpotResource | None = None,
    product_db: ProductDbResource | None = None,
    landing: LandingZoneResource | None = None,
    enrichment: EnrichmentResource | None = None,
) -> Definitions:
    lead_loop = define_asset_job(
        LEAD_LOOP_JOB,
        selection=AssetSelection.all(),
        description="Load every source, build silver and gold, check the contracts, sync the CRMs.",
        hooks=STEP_MEMORY_HOOKS,
    )
    assets = [
        *build_all_bronze_assets(warehouse),
        *build_dbt_assets(),
        identity_resolution,
        person_enrichment,
        routing_classifications,
        lead_propensity,
        *build_sync_assets(),
    ]
    return Definitions(
        # Owners, tags and automation conditions: orchestration/automation.py.
        assets=with_operating_policies(assets),
        asset_checks=build_contract_checks(key for a in assets for key in a.keys),
        jobs=[lead_loop],
        schedules=[ScheduleDefinition(job=lead_loop, cron_schedule="0 6 * * *", name="lead_loop_daily")],
        sensors=[automation_sensor(), *build_sensors()],
        resources={
            "warehouse": warehouse_resource or WarehouseResource(url=warehouse.url),
            "salesforce": salesforce or SalesforceResource.from_env(),
            "hubspot": hubspot or HubSpotResource.from_env(),
            "product_db": product_db or ProductDbResource.from_env(),
            "landing": landing or LandingZoneResource.from_env(),
            "enrichment": enrichment or EnrichmentResource.from_env(),
            "dlt": DagsterDltResource(),
            "dbt": dbt_resource(),
        },
        # DuckDB allows one writing process per file: run every step in one process there.
        executor=in_process_executor if warehouse.is_duckdb else multiprocess_executor,
    )
