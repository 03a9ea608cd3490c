"""Predictive propensity, as an asset: a thin call into `scoring.propensity.run_propensity`."""

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, asset

from orchestration import change_gate
from orchestration.resources import WarehouseResource
from scoring.propensity import SCHEMA, TABLE, run_propensity
from scoring.propensity_model import GuardConfig


class PropensityConfig(Config):
    min_positives: int = GuardConfig.min_positives
    """Converted people the training split needs before a model may be published."""
    auc_floor: float = GuardConfig.auc_floor
    """Holdout ROC-AUC below which a new model is refused and the last good one stays."""


@asset(
    key=AssetKey([SCHEMA, TABLE]),
    deps=[
        AssetKey([SCHEMA, "lead_scores"]),
        AssetKey(["silver", "int_person_fit_matches"]),
        AssetKey(["silver", "int_person_engagement_matches"]),
    ],
    group_name=SCHEMA,
    kinds={"python", "scikit-learn"},
    pool="warehouse",
    description=(
        "Each person's probability to convert (1-99 propensity, top 3 factors, model version) from a "
        "model trained on converted leads and won opportunities; a model under the AUC floor or with "
        "too few outcomes is refused and the last good one (gold.propensity_models) keeps scoring."
    ),
)
def lead_propensity(
    context: AssetExecutionContext, config: PropensityConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    run = run_propensity(warehouse.get(), GuardConfig(min_positives=config.min_positives, auc_floor=config.auc_floor))
    if not run.published:
        context.log.warning("propensity: no new model published (%s)", run.reason)
    change_gate.record_success(warehouse.get(), "propensity", context.run.run_id)
    return MaterializeResult(metadata=run.to_metadata())
