"""Reverse ETL: one Dagster asset per sync spec in `reverse_etl/specs/`, downstream of its gold model."""

from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Config, Failure, MaterializeResult, asset

from orchestration import change_gate
from orchestration.automation import CRM_RETRY_POLICY
from orchestration.checks.sync_gate import gate
from orchestration.resources import HubSpotResource, SalesforceResource, WarehouseResource
from reverse_etl.destinations import Destination
from reverse_etl.destinations.hubspot import HubSpotDestination
from reverse_etl.destinations.salesforce import PreflightError, QuotaGuardError, SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.spec import SyncSpec, all_specs
from warehouse import Warehouse


class SyncConfig(Config):
    dry_run: bool = False
    """Plan only: count what would be sent, send nothing, keep the sync state as it is."""
    create_properties: bool = False
    """HubSpot only: create missing properties through the properties API (opt-in)."""


def _asset_args(spec: SyncSpec) -> dict[str, Any]:
    return {
        "key": AssetKey(["reverse_etl", spec.name]),
        "deps": [AssetKey([spec.source_schema, spec.source_table])],
        "group_name": "reverse_etl",
        "kinds": {spec.destination},
        "retry_policy": CRM_RETRY_POLICY,  # idempotent: a retried sync sends only what is unconfirmed
        "description": (
            f"Pushes {spec.source_schema}.{spec.source_table} into {spec.destination} {spec.object} "
            f"({', '.join(spec.fields.values())}): only records changed since the last confirmed "
            "sync, in batches (Bulk API 2.0 for large Salesforce ones), rejected records kept and retried, "
            f"records that leave the source {'cleared' if spec.on_removal == 'clear' else 'forgotten'}."
        ),
    }


def _materialize(
    context: AssetExecutionContext, config: SyncConfig, spec: SyncSpec, warehouse: Warehouse, destination: Destination
) -> MaterializeResult:
    if not config.dry_run:
        decision = gate(context.instance, warehouse, spec.name, spec.source_schema, spec.source_table)
        if not decision.allowed:
            context.log.error(decision.line)
            raise Failure(  # a refusal stands until the data is fixed: retrying it only waits
                description=decision.line,
                metadata={"refused": True, "contracts_evaluated": list(decision.evaluated_here)},
                allow_retries=False,
            )
        context.log.info(decision.line)
    try:
        result = run_sync(spec, warehouse, destination, dry_run=config.dry_run, run_id=context.run.run_id)
    except (PreflightError, QuotaGuardError) as exc:  # missing fields, the day's API budget: no retry helps
        raise Failure(description=str(exc), allow_retries=False) from None
    if not config.dry_run:
        # Rejected records are retried by the next run, so only a clean sync lets it skip this one.
        step = change_gate.sync_step(spec.name)
        if result.failed:
            change_gate.forget(warehouse, step)
        else:
            change_gate.record_success(warehouse, step, context.run.run_id)
    if result.failed:
        context.log.warning(
            "%s: %d record(s) rejected by %s; kept in reverse_etl.sync_rejections and retried next run",
            spec.name,
            result.failed,
            spec.destination,
        )
    context.log.info(
        "%s: %d planned, %d sent, %d confirmed, %d unchanged, %d skipped",
        spec.name,
        result.planned,
        result.sent,
        result.succeeded,
        result.unchanged,
        result.skipped,
    )
    return MaterializeResult(metadata=result.to_metadata())


def build_sync_asset(spec: SyncSpec) -> AssetsDefinition:
    if spec.destination == "hubspot":

        @asset(**_asset_args(spec))
        def _hubspot_sync(
            context: AssetExecutionContext, config: SyncConfig, warehouse: WarehouseResource, hubspot: HubSpotResource
        ) -> MaterializeResult:
            destination = HubSpotDestination(hubspot.client(), create_properties=config.create_properties)
            return _materialize(context, config, spec, warehouse.get(), destination)

        return _hubspot_sync

    @asset(**_asset_args(spec))
    def _sync(
        context: AssetExecutionContext, config: SyncConfig, warehouse: WarehouseResource, salesforce: SalesforceResource
    ) -> MaterializeResult:
        destination = SalesforceDestination(salesforce.client(), bulk_poll_wait=salesforce.bulk_poll_seconds)
        return _materialize(context, config, spec, warehouse.get(), destination)

    return _sync


def build_sync_assets() -> list[AssetsDefinition]:
    return [build_sync_asset(spec) for spec in all_specs()]
