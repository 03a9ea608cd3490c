"""Bronze assets: one Dagster asset per dlt resource, keyed `bronze_<source>/<table>`.

The keys match what the dbt translator gives the dbt sources, so lineage runs unbroken from
the CRM to the sync.
"""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.cursor_window import CURSOR_STATE
from ingestion.pipelines import bronze_dataset, make_pipeline
from ingestion.salesforce import CURSOR_FIELD, salesforce_source
from ingestion.schema_drift import added_columns, drift_metadata, known_columns
from orchestration.resources import SalesforceResource
from orchestration.warehouse import Warehouse


class BronzeTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData):  # type: ignore[override]
        resource = data.resource
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=AssetKey([bronze_dataset(resource.source_name), resource.name]),
            deps=[],
            group_name="bronze",
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
        before = known_columns(pipeline)
        for result in dlt.run(context=context, dlt_source=source):
            yield _with_run_metadata(context, result, pipeline, before)

    return salesforce_bronze


def _with_run_metadata(context: AssetExecutionContext, result: Any, pipeline: Any, before: dict[str, set[str]]) -> Any:
    """Adds the resource's incremental cursor and any schema drift to its materialization."""
    if not isinstance(result, MaterializeResult) or result.asset_key is None:
        return result
    table = result.asset_key.path[-1]
    source = result.asset_key.path[0].removeprefix("bronze_")
    resources = pipeline.state.get("sources", {}).get(source, {}).get("resources", {})
    cursor = resources.get(table, {}).get(CURSOR_STATE)
    metadata = dict(result.metadata or {})
    metadata.setdefault("rows_loaded", 0)
    if cursor is not None:
        metadata["incremental_cursor"] = f"{CURSOR_FIELD} = {cursor}"
    added = added_columns(before, known_columns(pipeline)).get(table, [])
    if added:
        context.log.warning(f"{'.'.join(result.asset_key.path)}: source added column(s) {', '.join(added)}")
    metadata.update(drift_metadata(added))
    return MaterializeResult(asset_key=result.asset_key, metadata=metadata)
