"""Bronze assets: one Dagster asset per dlt resource, keyed `bronze_<source>/<table>` and
grouped by source.

The keys match what the dbt translator gives the dbt sources, so lineage runs unbroken from
the CRM to the sync. Each materialization carries the rows loaded, the incremental cursor,
quarantine counts where the source has them, and a warning when the source added columns.
"""

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.cursor_window import CURSOR_STATE
from ingestion.hubspot import hubspot_source
from ingestion.partner_files import partner_files_source
from ingestion.pipelines import bronze_dataset, load_pipeline, make_pipeline
from ingestion.product_db import product_db_source
from ingestion.quarantine import FILE_COUNTS_STATE, RUN_COUNTS_STATE
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
from warehouse import Warehouse


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


@dataclass(frozen=True)
class BronzeSource:
    """One row of the bronze table: which dlt source, which resource feeds it, and its cursor.

    `placeholder` builds the source with nothing to connect to, only so dagster-dlt can read its
    resources' names at definition time; `connect` builds the one a run loads, from the resource.
    """

    name: str
    resource_key: str
    resource_type: type
    placeholder: Callable[[], Any]
    connect: Callable[[Any], Any]
    cursor_field: str


BRONZE_SOURCES: tuple[BronzeSource, ...] = (
    BronzeSource(
        "salesforce",
        "salesforce",
        SalesforceResource,
        placeholder=salesforce_source,
        connect=lambda sf: salesforce_source(
            client_factory=sf.client,
            where=sf.origin,
            bulk_poll_seconds=sf.bulk_poll_seconds,
            skip_own_writes=("Lead",),  # what the syncs write (reverse_etl/specs)
        ),
        cursor_field=SALESFORCE_CURSOR,
    ),
    BronzeSource(
        "hubspot",
        "hubspot",
        HubSpotResource,
        placeholder=hubspot_source,
        connect=lambda hs: hubspot_source(client_factory=hs.client, where=hs.origin),
        cursor_field="lastmodifieddate",
    ),
    BronzeSource(
        "product",
        "product_db",
        ProductDbResource,
        placeholder=lambda: product_db_source("sqlite:///:memory:"),
        connect=lambda db: product_db_source(db.resolved_url()),
        cursor_field="updated_at",
    ),
    BronzeSource(
        "web_events",
        "landing",
        LandingZoneResource,
        placeholder=lambda: web_events_source("memory://landing"),
        connect=lambda landing: web_events_source(landing.events()),
        cursor_field="file",
    ),
    BronzeSource(
        "partners",
        "landing",
        LandingZoneResource,
        placeholder=lambda: partner_files_source("memory://partners"),
        connect=lambda landing: partner_files_source(landing.partner_drops(), landing.partner_configs()),
        cursor_field="file",
    ),
)


def build_bronze_assets(warehouse: Warehouse, source: BronzeSource) -> AssetsDefinition:
    """The Dagster assets of one bronze source.

    Dagster learns which resource an asset needs from its function's parameters, so the one body
    all sources share is given each source's resource parameter through `__signature__` (which
    Dagster reads, type hints included) instead of five copies that differ in one argument.
    """

    def load(context: AssetExecutionContext, dlt: DagsterDltResource, **resources: Any) -> Iterator[Any]:
        dlt_source = source.connect(resources[source.resource_key])
        yield from _run(context, dlt, dlt_source, source.name, warehouse, cursor_field=source.cursor_field)

    load.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=AssetExecutionContext),
            inspect.Parameter("dlt", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=DagsterDltResource),
            inspect.Parameter(source.resource_key, inspect.Parameter.KEYWORD_ONLY, annotation=source.resource_type),
        ]
    )
    load.__name__ = f"{source.name}_bronze"
    return dlt_assets(
        dlt_source=source.placeholder(),
        dlt_pipeline=make_pipeline(source.name, warehouse),
        name=f"{source.name}_bronze",
        dagster_dlt_translator=BronzeTranslator(),
        pool="warehouse",
    )(load)


def build_all_bronze_assets(warehouse: Warehouse) -> list[AssetsDefinition]:
    return [build_bronze_assets(warehouse, source) for source in BRONZE_SOURCES]


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
    """Adds the resource's incremental cursor, its read/loaded/quarantined counts (per landed file
    too, for a file source) and any schema drift."""
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
    if state.get(FILE_COUNTS_STATE):  # a file source: the same counts per landed file
        metadata["rows_per_file"] = MetadataValue.json(state[FILE_COUNTS_STATE])
    added = added_columns(before, known_columns(pipeline)).get(table, [])
    if added:
        context.log.warning(f"{'.'.join(result.asset_key.path)}: source added column(s) {', '.join(added)}")
    metadata.update(drift_metadata(added))
    return MaterializeResult(asset_key=result.asset_key, metadata=metadata)
