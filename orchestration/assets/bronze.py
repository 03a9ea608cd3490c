"""Bronze assets: one Dagster asset per dlt resource, keyed `bronze_<source>/<table>` and
grouped by source.

The keys match what the dbt translator gives the dbt sources, so lineage runs unbroken from
the CRM to the sync. Each materialization carries the rows loaded, the incremental cursor,
quarantine counts where the source has them, and a warning when the source added columns.
"""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.cursor_window import CURSOR_STATE
from ingestion.hubspot import hubspot_source
from ingestion.partner_files import partner_files_source
from ingestion.pipelines import bronze_dataset, load_pipeline, make_pipeline
from ingestion.product_db import product_db_source
from ingestion.quarantine import RUN_COUNTS_STATE
from ingestion.salesforce import CURSOR_FIELD as SALESFORCE_CURSOR
from ingestion.salesforce import salesforce_source
from ingestion.schema_drift import added_columns, drift_metadata, known_columns
from ingestion.web_events import web_events_source
from orchestration.resources import (
    HubSpotResource,
    LandingZoneResource,
    ProductDbResource,
    SalesforceResource,
)
from orchestration.warehouse import Warehouse


class BronzeTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData):  # type: ignore[override]
        resource = data.resource
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=AssetKey([bronze_dataset(resource.source_name), resource.name]),
            deps=[],
            group_name=bronze_dataset(resource.source_name),
            kinds={"dlt", resource.source_name},
            description=(
                f"{resource.source_name.title()} `{resource.name}` loaded by dlt into "
                f"{bronze_dataset(resource.source_name)}.{resource.name}: merged on the primary key, "
                "incremental on the source's modification cursor."
            ),
        )


def build_salesforce_assets(warehouse: Warehouse) -> AssetsDefinition:
    pipeline = make_pipeline("salesforce", warehouse)

    @dlt_assets(
        dlt_source=salesforce_source(),
        dlt_pipeline=pipeline,
        name="salesforce_bronze",
        dagster_dlt_translator=BronzeTranslator(),
        pool="warehouse",
    )
    def salesforce_bronze(
        context: AssetExecutionContext, dlt: DagsterDltResource, salesforce: SalesforceResource
    ) -> Iterator[Any]:
        source = salesforce_source(
            client_factory=salesforce.client, where=salesforce.origin, bulk_poll_seconds=salesforce.bulk_poll_seconds
        )
        yield from _run(context, dlt, source, "salesforce", warehouse, cursor_field=SALESFORCE_CURSOR)

    return salesforce_bronze


def build_hubspot_assets(warehouse: Warehouse) -> AssetsDefinition:
    pipeline = make_pipeline("hubspot", warehouse)

    @dlt_assets(
        dlt_source=hubspot_source(),
        dlt_pipeline=pipeline,
        name="hubspot_bronze",
        dagster_dlt_translator=BronzeTranslator(),
        pool="warehouse",
    )
    def hubspot_bronze(
        context: AssetExecutionContext, dlt: DagsterDltResource, hubspot: HubSpotResource
    ) -> Iterator[Any]:
        source = hubspot_source(client_factory=hubspot.client, where=hubspot.origin)
        yield from _run(context, dlt, source, "hubspot", warehouse, cursor_field="lastmodifieddate")

    return hubspot_bronze


def build_product_assets(warehouse: Warehouse) -> AssetsDefinition:
    pipeline = make_pipeline("product", warehouse)

    @dlt_assets(
        dlt_source=product_db_source("sqlite:///:memory:"),
        dlt_pipeline=pipeline,
        name="product_bronze",
        dagster_dlt_translator=BronzeTranslator(),
        pool="warehouse",
    )
    def product_bronze(
        context: AssetExecutionContext, dlt: DagsterDltResource, product_db: ProductDbResource
    ) -> Iterator[Any]:
        source = product_db_source(product_db.resolved_url())
        yield from _run(context, dlt, source, "product", warehouse, cursor_field="updated_at")

    return product_bronze


def build_web_events_assets(warehouse: Warehouse) -> AssetsDefinition:
    pipeline = make_pipeline("web_events", warehouse)

    @dlt_assets(
        dlt_source=web_events_source("memory://landing"),
        dlt_pipeline=pipeline,
        name="web_events_bronze",
        dagster_dlt_translator=BronzeTranslator(),
        pool="warehouse",
    )
    def web_events_bronze(
        context: AssetExecutionContext, dlt: DagsterDltResource, landing: LandingZoneResource
    ) -> Iterator[Any]:
        yield from _run(context, dlt, web_events_source(landing.events()), "web_events", warehouse, cursor_field="file")

    return web_events_bronze


def build_partner_assets(warehouse: Warehouse) -> AssetsDefinition:
    pipeline = make_pipeline("partners", warehouse)

    @dlt_assets(
        dlt_source=partner_files_source("memory://partners"),
        dlt_pipeline=pipeline,
        name="partners_bronze",
        dagster_dlt_translator=BronzeTranslator(),
        pool="warehouse",
    )
    def partners_bronze(
        context: AssetExecutionContext, dlt: DagsterDltResource, landing: LandingZoneResource
    ) -> Iterator[Any]:
        source = partner_files_source(landing.partner_drops())
        yield from _run(context, dlt, source, "partners", warehouse, cursor_field="file")

    return partners_bronze


def _run(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    source: Any,
    source_name: str,
    warehouse: Warehouse,
    cursor_field: str,
) -> Iterator[Any]:
    """Loads `source` through a pipeline made for this run: the one the assets were defined with
    only names them, while the run's own holds the warehouse connection for just this load."""
    with load_pipeline(source_name, warehouse) as pipeline:
        before = known_columns(pipeline)
        for result in dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline):
            yield _with_run_metadata(context, result, pipeline, before, cursor_field)


def _with_run_metadata(
    context: AssetExecutionContext, result: Any, pipeline: Any, before: dict[str, set[str]], cursor_field: str
) -> Any:
    """Adds the resource's incremental cursor, its read/loaded/quarantined counts and any schema drift."""
    if not isinstance(result, MaterializeResult) or result.asset_key is None:
        return result
    table = result.asset_key.path[-1]
    source = result.asset_key.path[0].removeprefix("bronze_")
    resources = pipeline.state.get("sources", {}).get(source, {}).get("resources", {})
    state = resources.get(table, {})
    metadata = dict(result.metadata or {})
    metadata.setdefault("rows_loaded", 0)
    # Our API sources keep their window in CURSOR_STATE; dlt's own incremental keeps last_value.
    cursor = state.get(CURSOR_STATE) or (state.get("incremental", {}).get(cursor_field) or {}).get("last_value")
    if cursor is not None:
        metadata["incremental_cursor"] = f"{cursor_field} = {cursor}"
    for key, value in (state.get(RUN_COUNTS_STATE) or {}).items():
        metadata[f"rows_{key}"] = value
    added = added_columns(before, known_columns(pipeline)).get(table, [])
    if added:
        context.log.warning(f"{'.'.join(result.asset_key.path)}: source added column(s) {', '.join(added)}")
    metadata.update(drift_metadata(added))
    return MaterializeResult(asset_key=result.asset_key, metadata=metadata)
