"""Reverse ETL: one Dagster asset per sync spec in `reverse_etl/specs/`, downstream of its gold model."""

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Config, MaterializeResult, asset

from orchestration.resources import SalesforceResource, WarehouseResource
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import SyncSpec, all_specs


class SyncConfig(Config):
    dry_run: bool = False
    """Plan only: count what would be sent, send nothing, keep the sync state as it is."""


def build_sync_asset(spec: SyncSpec) -> AssetsDefinition:
    @asset(
        key=AssetKey(["reverse_etl", spec.name]),
        deps=[AssetKey([spec.source_schema, spec.source_table])],
        group_name="reverse_etl",
        kinds={spec.destination},
        description=(
            f"Pushes {spec.source_schema}.{spec.source_table} into {spec.destination} {spec.object} "
            f"({', '.join(spec.fields.values())}): only records changed since the last confirmed "
            "sync, in batches, rejected records kept and retried."
        ),
    )
    def _sync(
        context: AssetExecutionContext,
        config: SyncConfig,
        warehouse: WarehouseResource,
        salesforce: SalesforceResource,
    ) -> MaterializeResult:
        destination = SalesforceDestination(salesforce.client(), bulk_poll_wait=salesforce.bulk_poll_seconds)
        result = run_sync(spec, warehouse.get(), destination, dry_run=config.dry_run, run_id=context.run.run_id)
        if result.failed:
            context.log.warning(
                "%s: %d record(s) rejected by %s; kept in reverse_etl.sync_rejections and retried next run",
                spec.name,
                result.failed,
                spec.destination,
            )
        context.log.info(
            "%s: %d planned, %d sent, %d confirmed, %d unchanged",
            spec.name,
            result.planned,
            result.sent,
            result.succeeded,
            result.unchanged,
        )
        return MaterializeResult(metadata=result.to_metadata())

    return _sync


def build_sync_assets() -> list[AssetsDefinition]:
    return [build_sync_asset(spec) for spec in all_specs() if spec.destination == "salesforce"]
