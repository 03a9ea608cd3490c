"""The README's first command: the whole lead loop once, in-process, against the local sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from orchestration.assets.dbt import prepare_manifest
from orchestration.build import LEAD_LOOP_JOB, build_definitions
from orchestration.resources import (
    HubSpotResource,
    LandingZoneResource,
    ProductDbResource,
    SalesforceResource,
    WarehouseResource,
)
from warehouse import Warehouse

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class LoopFailedError(RuntimeError):
    """A step of the lead loop failed; the message names the step and the first error line."""


@dataclass
class LoopSummary:
    warehouse: str
    leads_in_bronze: int
    leads_scored: int
    grades: dict[str, int]
    people_scored: int = 0
    mqls: int = 0
    top_people: list[tuple[str, int, str, str]] = field(default_factory=list)  # (who, score, grade, reasons)
    syncs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        grades = ", ".join(f"{g}={n}" for g, n in sorted(self.grades.items())) or "none"
        out = [
            f"warehouse        {self.warehouse}",
            f"leads loaded     {self.leads_in_bronze} in bronze_salesforce.lead",
            f"people scored    {self.people_scored} in gold.lead_scores ({self.mqls} MQLs)",
            f"leads scored     {self.leads_scored} in gold.salesforce_lead_scores (grades: {grades})",
        ]
        if self.top_people:
            out.append("top people       score grade  who: reasons")
            out.extend(f"  {score:>3} {grade}  {who}: {reasons}" for who, score, grade, reasons in self.top_people)
        for name, meta in self.syncs.items():
            out.append(
                f"synced           {name}: {meta.get('sent', 0)} sent, {meta.get('succeeded', 0)} confirmed, "
                f"{meta.get('failed', 0)} rejected, {meta.get('unchanged', 0)} unchanged"
            )
        return out


def run_lead_loop(
    warehouse: Warehouse,
    salesforce: SalesforceResource,
    *,
    hubspot: HubSpotResource | None = None,
    product_db: ProductDbResource | None = None,
    landing: LandingZoneResource | None = None,
    warehouse_resource: WarehouseResource | None = None,
    instance: DagsterInstance | None = None,
) -> LoopSummary:
    """Materializes every asset and check of the lead loop job once; raises LoopFailedError."""
    prepare_manifest()
    defs = build_definitions(
        warehouse,
        warehouse_resource=warehouse_resource,
        salesforce=salesforce,
        hubspot=hubspot,
        product_db=product_db,
        landing=landing,
    )
    job = defs.resolve_job_def(LEAD_LOOP_JOB)
    result = job.execute_in_process(
        run_config=QUIET_RUN_CONFIG, instance=instance or DagsterInstance.ephemeral(), raise_on_error=False
    )
    if not result.success:
        raise LoopFailedError(_first_failure(result))
    syncs: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key.path[0] == "reverse_etl":
            syncs[materialization.asset_key.path[-1]] = {
                k: getattr(v, "value", v) for k, v in materialization.metadata.items()
            }
    return summarize(warehouse, syncs)


def summarize(warehouse: Warehouse, syncs: dict[str, dict[str, Any]]) -> LoopSummary:
    bronze = warehouse.query("select count(*) from bronze_salesforce.lead")[0][0]
    grades = dict(warehouse.query("select grade, count(*) from gold.salesforce_lead_scores group by grade"))
    people, mqls = warehouse.query(
        "select count(*), coalesce(sum(case when is_mql then 1 else 0 end), 0) from gold.lead_scores"
    )[0]
    return LoopSummary(
        warehouse=warehouse.display,
        leads_in_bronze=int(bronze),
        leads_scored=int(sum(grades.values())),
        grades={str(k): int(v) for k, v in grades.items()},
        people_scored=int(people),
        mqls=int(mqls),
        top_people=top_people(warehouse),
        syncs=syncs,
    )


def top_people(warehouse: Warehouse, limit: int = 10) -> list[tuple[str, int, str, str]]:
    """The highest scores with who they are and why, so the demo shows what RevOps would see;
    ties break on person_id so the list is the same on every run."""
    rows = warehouse.query(
        "select coalesce(nullif(trim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')), ''), "
        "s.person_id) || coalesce(' (' || p.company || ')', ''), s.score, s.grade, s.reasons "
        "from gold.lead_scores s left join silver.int_people p on p.person_id = s.person_id "
        f"order by s.score desc, s.person_id limit {int(limit)}"
    )
    return [(str(who), int(score), str(grade), str(reasons)) for who, score, grade, reasons in rows]


def _first_failure(result: Any) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            return f"step {event.step_key} failed: {_root_message(event.step_failure_data.error)}"
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.asset_check_evaluation_data
            if not evaluation.passed:
                return f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed"
    return "the run failed"


# Errors whose message is already written for a person; dlt and Dagster wrap them in layers.
_ACTIONABLE = {"SourceUnavailableError", "WarehouseConfigError", "DagsterAssetCheckFailedError"}


def _root_message(error: Any) -> str:
    """The most useful single line of a step's error chain."""
    chain, node = [], error
    while node is not None and len(chain) < 20:
        chain.append(node)
        node = node.cause or node.context
    chosen = next((e for e in chain if e.cls_name in _ACTIONABLE), chain[-1] if chain else None)
    if chosen is None:
        return "unknown error"
    lines = [line.strip() for line in chosen.message.strip().splitlines() if line.strip()]
    text = lines[0] if lines else chosen.cls_name
    prefix = f"{chosen.cls_name}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def run_demo(data_dir: Path, leads: int, seed: int, fresh: bool = False) -> LoopSummary:
    """Generates the world if needed, serves it from the sandbox, and runs the loop against it."""
    from sandbox.generator import generate_world
    from sandbox.hubspot.server import HubSpotSandbox
    from sandbox.salesforce.server import SalesforceSandbox

    warehouse = Warehouse.from_env()
    world = data_dir / "world"
    if fresh or not (world / "salesforce.sqlite").exists():
        generate_world(world, leads=leads, seed=seed)
    with SalesforceSandbox(world) as sandbox, HubSpotSandbox(world) as hubspot_sandbox:
        salesforce = SalesforceResource(
            instance_url=sandbox.instance_url,
            access_token=sandbox.token,
            ca_bundle=str(sandbox.ca_path),
            bulk_poll_seconds=0.0,
        )
        hubspot = HubSpotResource(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url)
        return run_lead_loop(
            warehouse,
            salesforce,
            hubspot=hubspot,
            product_db=ProductDbResource.from_env(data_dir=str(data_dir)),
            landing=LandingZoneResource.from_env(data_dir=str(data_dir)),
            warehouse_resource=WarehouseResource.from_env(),
        )
