"""The routing fallback classifier as an asset: a thin call into `silver.routing.classify`."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration import change_gate
from orchestration.resources import WarehouseResource
from silver.routing.classify import SCHEMA, TABLE, classify_missing_industry, default_classifier


@asset(
    key=AssetKey([SCHEMA, TABLE]),
    deps=[AssetKey([SCHEMA, "int_people"])],
    group_name=SCHEMA,
    kinds={"python"},
    pool="warehouse",
    description=(
        "The industry of each person whose records name none, inferred from company, domain and "
        "title, with its confidence and model version (routing uses it above routing_min_confidence)."
    ),
)
def routing_classifications(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    run = classify_missing_industry(warehouse.get(), default_classifier())
    change_gate.record_success(warehouse.get(), "routing", context.run.run_id)
    context.log.info("routing: classified %d people with %s", run.people, run.model_version)
    return MaterializeResult(
        metadata={
            "people": run.people,
            "labelled": run.labelled,
            "by_label": run.by_label,
            "model_version": run.model_version,
            "confidence_quartiles": run.confidence_quartiles,
        }
    )
