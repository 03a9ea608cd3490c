"""How the lead loop runs itself, the way Dagster's best users run theirs: every asset has an
owner and tags, sources load on a cron, everything downstream follows as soon as its upstreams
have updated, and nothing runs past a failed blocking check, so a broken source pauses the
syncs instead of pushing wrong scores to the CRMs.

The assets' own modules say what an asset is; this one says who answers for it and when it
runs, in one place, so a team can change either without touching the assets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    Backoff,
    DefaultSensorStatus,
    FreshnessPolicy,
    Jitter,
    RetryPolicy,
)

SOURCES_CRON_ENV = "LEADLOOP_SOURCES_CRON"
DEFAULT_SOURCES_CRON = "0 6 * * *"  # daily, before the sales team starts
CRON_TIMEZONE_ENV = "LEADLOOP_CRON_TIMEZONE"

# Owners by layer (Dagster accepts emails or `team:<name>`): who is asked when an asset fails.
OWNERS = {
    "bronze": "team:data-engineering",
    "silver": "team:data-engineering",
    "gold": "team:revops-analytics",
    "reverse_etl": "team:revops",
}

# A source or sync older than this is flagged stale in the UI (a warning an hour before): the
# daily cron plus slack for a slow or retried run. Shorten it with a more frequent cron.
FRESHNESS_HOURS_ENV = "LEADLOOP_FRESHNESS_HOURS"
DEFAULT_FRESHNESS_HOURS = 26

# CRM calls fail for a minute at a time (maintenance, limits): a step that loads from or writes
# to a CRM is tried again after a pause. Both are idempotent (merge loads, exactly-once syncs).
CRM_RETRY_POLICY = RetryPolicy(max_retries=3, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
CRM_SOURCES = frozenset({"salesforce", "hubspot"})


def layer(key: AssetKey) -> str:
    """bronze_<source>/… is bronze; silver/…, gold/…, reverse_etl/… are named by their first part."""
    first = key.path[0]
    return "bronze" if first.startswith("bronze_") else first


def sources_cron() -> str:
    return os.environ.get(SOURCES_CRON_ENV) or DEFAULT_SOURCES_CRON


def freshness_policy() -> FreshnessPolicy:
    hours = float(os.environ.get(FRESHNESS_HOURS_ENV) or DEFAULT_FRESHNESS_HOURS)
    return FreshnessPolicy.time_window(
        fail_window=timedelta(hours=hours), warn_window=timedelta(hours=max(hours - 1, hours / 2))
    )


def downstream_condition() -> AutomationCondition:
    """Eager (when any upstream updated and none is missing or running) and never past a failed
    blocking check on an upstream."""
    return (AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()).with_label(
        "eager, after upstream blocking checks pass"
    )


def with_operating_policies(assets: Sequence[AssetsDefinition], cron: str | None = None) -> list[AssetsDefinition]:
    """`assets` with owners, tags, automation conditions and freshness policies: assets with no
    upstream in the graph (the loads, the dbt seeds) on the sources cron, every other one
    downstream-eager; loads stale after LEADLOOP_FRESHNESS_HOURS."""
    cron = cron or sources_cron()
    timezone = os.environ.get(CRON_TIMEZONE_ENV) or "UTC"
    defined = {key for assets_def in assets for key in assets_def.keys}
    freshness = freshness_policy()

    def policy(spec: AssetSpec) -> AssetSpec:
        kind = layer(spec.key)
        tags = {**spec.tags, "layer": kind}
        if kind == "bronze":
            tags["source"] = spec.key.path[0].removeprefix("bronze_")
        if kind == "reverse_etl":
            tags["destination"] = next(iter(spec.kinds), "crm")
        upstream = {dep.asset_key for dep in spec.deps} & defined
        condition = AutomationCondition.on_cron(cron, timezone) if not upstream else downstream_condition()
        # Freshness where staleness hurts: the loads, which ask their source every run. Later
        # steps (the syncs too) rerun only when something changed (orchestration/change_gate.py),
        # so an old sync means nothing new to send, not a stalled loop.
        fresh = freshness if kind == "bronze" else spec.freshness_policy
        return spec.replace_attributes(
            owners=[OWNERS.get(kind, OWNERS["silver"])],
            tags=tags,
            automation_condition=condition,
            freshness_policy=fresh,
        )

    return [assets_def.map_asset_specs(policy) for assets_def in assets]


def automation_sensor() -> AutomationConditionSensorDefinition:
    """Evaluates the conditions above; running by default, so `make dev` keeps the loop going."""
    return AutomationConditionSensorDefinition(
        "leadloop_automation",
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        description="Loads the sources on LEADLOOP_SOURCES_CRON and brings everything downstream up to date, "
        "stopping before any asset whose upstream failed a blocking check.",
    )
