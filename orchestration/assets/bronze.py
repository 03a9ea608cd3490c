"""Bronze assets: one Dagster asset per dlt resource, keyed `bronze_<source>/<table>`.

The keys match what the dbt translator gives the dbt sources, so lineage runs unbroken from
the CRM to the sync.
"""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.pipelines import bronze_dataset, make_pipeline
from ingestion.salesforce import CURSOR_FIELD, salesforce_source
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
        for result in dlt.run(context=context, dlt_source=source):
            yield _with_cursor(result, pipeline)

    return salesforce_bronze


def _with_cursor(result: Any, pipeline: Any) -> Any:
    """Adds the resource's incremental cursor to its materialization metadata."""
    if not isinstance(result, MaterializeResult) or result.asset_key is None:
        return result
    table = result.asset_key.path[-1]
    resources = pipeline.state.get("sources", {}).get("salesforce", {}).get("resources", {})
    cursor = resources.get(table, {}).get("incremental", {}).get(CURSOR_FIELD, {}).get("last_value")
    metadata = dict(result.metadata or {})
    metadata.setdefault("rows_loaded", 0)
    if cursor is not None:
        metadata["incremental_cursor"] = f"{CURSOR_FIELD} = {cursor}"
    return MaterializeResult(asset_key=result.asset_key, metadata=metadata)
