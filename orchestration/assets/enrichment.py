"""Firmographic enrichment per person, as an asset: a thin call into `silver.enrichment.people`."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration import change_gate
from orchestration.resources import EnrichmentResource, WarehouseResource
from silver.enrichment.people import SCHEMA, TABLE, enrich_people


@asset(
    key=AssetKey([SCHEMA, TABLE]),
    deps=[AssetKey([SCHEMA, "int_people"])],
    group_name=SCHEMA,
    kinds={"python"},
    pool="warehouse",
    description="Each person's firmographics by company domain, with an enrichment status.",
)
def person_enrichment(
    context: AssetExecutionContext, warehouse: WarehouseResource, enrichment: EnrichmentResource
) -> MaterializeResult:
    provider = enrichment.provider()
    run = enrich_people(
        warehouse.get(),
        provider,
        timeout_seconds=enrichment.timeout_seconds,
        failure_threshold=enrichment.failure_threshold,
    )
    if run.circuit_opened:
        context.log.warning("enrichment: provider %s kept failing; circuit opened, retried next run", provider.name)
    if run.circuit_opened or run.by_status.get("provider_error"):
        change_gate.forget(warehouse.get(), "enrichment")  # the next run asks the provider again
    else:
        change_gate.record_success(warehouse.get(), "enrichment", context.run.run_id)
    return MaterializeResult(
        metadata={
            "people": run.people,
            "by_status": run.by_status,
            "provider_calls": run.provider_calls,
            "cache_hits": run.cache_hits,
            "circuit_opened": run.circuit_opened,
        }
    )
