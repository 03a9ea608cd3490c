"""The README's first command: the whole lead loop once, in-process, against the local sandbox.

The demo is what a newcomer sees first, so its summary answers what they would ask: what was
loaded from each source (and held back), how many people the records are, did the contracts
hold, how are scores spread and why the best ones score, what reached each CRM and at what API
cost. Its runs go to the Dagster home the UI opens, so they are there to inspect afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance

from orchestration.assets.dbt import prepare_manifest
from orchestration.build import LEAD_LOOP_JOB, build_definitions
from orchestration.change_gate import FULL_RUN_TAG
from orchestration.paths import dagster_home, ensure_dagster_home
from orchestration.resources import (
    HubSpotResource,
    LandingZoneResource,
    ProductDbResource,
    SalesforceResource,
    WarehouseResource,
)
from warehouse import Warehouse

SCORE_BANDS = ((75, "75-100"), (50, "50-74"), (25, "25-49"), (0, "0-24"))


class LoopFailedError(RuntimeError):
    """A step of the lead loop failed; the message names the step and the first error line."""


@dataclass
class SourceRows:
    rows: int = 0
    quarantined: int = 0


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
    sources: dict[str, SourceRows] = field(default_factory=dict)
    records_resolved: int = 0
    people_resolved: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    # Checks the job defines that gave no result: a check that never runs guards nothing.
    checks_missing: list[str] = field(default_factory=list)
    score_bands: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    run_id: str = ""
    # Steps Dagster skipped because nothing they are built from changed (orchestration/change_gate.py).
    skipped_steps: list[str] = field(default_factory=list)

    @property
    def merge_rate(self) -> float:
        """Share of records that turned out to be someone already seen."""
        return 1 - self.people_resolved / self.records_resolved if self.records_resolved else 0.0

    def lines(self) -> list[str]:
        grades = ", ".join(f"{g}={n}" for g, n in sorted(self.grades.items())) or "none"
        out = [f"warehouse        {self.warehouse}"]
        for source, rows in sorted(self.sources.items()):
            out.append(f"loaded           {source}: {rows.rows} rows, {rows.quarantined} quarantined")
        out += [
            f"leads loaded     {self.leads_in_bronze} in bronze_salesforce.lead",
            f"people resolved  {self.records_resolved} records into {self.people_resolved} people "
            f"(merge rate {self.merge_rate:.1%})",
            f"checks           {self.checks_passed} passed, {self.checks_failed} failed"
            + (f", {len(self.checks_missing)} without a result" if self.checks_missing else ""),
            f"people scored    {self.people_scored} in gold.lead_scores ({self.mqls} MQLs)",
            "score spread     " + (", ".join(f"{band}: {n}" for band, n in self.score_bands.items()) or "none"),
            f"leads scored     {self.leads_scored} in gold.salesforce_lead_scores (grades: {grades})",
        ]
        if self.top_people:
            out.append("top people       score grade  who: reasons")
            out.extend(f"  {score:>3} {grade}  {who}: {reasons}" for who, score, grade, reasons in self.top_people)
        for name, meta in self.syncs.items():
            out.append(
                f"synced           {name}: {meta.get('sent', 0)} sent, {meta.get('succeeded', 0)} confirmed, "
                f"{meta.get('failed', 0)} rejected, {meta.get('unchanged', 0)} unchanged, "
                f"{meta.get('api_calls', meta.get('estimated_calls', 0))} API calls"
            )
        if self.skipped_steps:
            out.append(
                f"skipped          {len(self.skipped_steps)} steps: nothing new since they last succeeded "
                "(`leadloop demo --full` runs them anyway)"
            )
        if self.run_id:
            out.append(f"dagster run      {self.run_id} (open `leadloop dev` to inspect it)")
        out.append(f"total time       {self.seconds:.1f} s")
        return out


Progress = Callable[[str, int, int], None]
"""progress(what is running, steps done, steps in all)"""


def run_lead_loop(
    warehouse: Warehouse,
    salesforce: SalesforceResource,
    *,
    hubspot: HubSpotResource | None = None,
    product_db: ProductDbResource | None = None,
    landing: LandingZoneResource | None = None,
    warehouse_resource: WarehouseResource | None = None,
    instance: DagsterInstance | None = None,
    progress: Progress | None = None,
    console_log_level: str = "WARNING",
    full: bool = False,
) -> LoopSummary:
    """Materializes every asset and check of the lead loop job once; raises LoopFailedError,
    or KeyboardInterrupt when the run was interrupted (Ctrl-C).

    With nothing new since the last loop, only the loads run (orchestration/change_gate.py);
    `full` runs every step regardless."""
    started = time.monotonic()
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
    instance = instance or DagsterInstance.ephemeral()
    with _watching_steps(instance, progress) as run_id:
        run_config = {"loggers": {"console": {"config": {"log_level": console_log_level}}}}
        tags = {FULL_RUN_TAG: "true"} if full else None
        result = job.execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False, run_id=run_id, tags=tags
        )
    if not result.success:
        if _interrupted(result):
            raise KeyboardInterrupt
        raise LoopFailedError(_first_failure(result))
    syncs: dict[str, dict[str, Any]] = {}
    identity: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        if materialization.asset_key.path[0] == "reverse_etl":
            syncs[materialization.asset_key.path[-1]] = metadata
        elif "people" in metadata and "records" in metadata:
            identity = metadata
    evaluations = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == DagsterEventType.ASSET_CHECK_EVALUATION.value
    ]
    summary = summarize(warehouse, syncs)
    summary.records_resolved = int(identity.get("records", 0))
    summary.people_resolved = int(identity.get("people", 0))
    summary.checks_passed = sum(1 for e in evaluations if e.passed)
    summary.checks_failed = sum(1 for e in evaluations if not e.passed)
    summary.skipped_steps = sorted(
        e.step_key
        for e in result.all_events
        if e.event_type_value == DagsterEventType.STEP_SKIPPED.value and e.step_key
    )
    evaluated = {e.asset_check_key for e in evaluations}
    # A skipped step's checks have nothing new to check; counted only when every step ran.
    summary.checks_missing = (
        []
        if summary.skipped_steps
        else sorted(
            key.to_user_string() for key in job.asset_layer.asset_graph.asset_check_keys if key not in evaluated
        )
    )
    summary.run_id = result.run_id if not instance.is_ephemeral else ""
    summary.seconds = time.monotonic() - started
    return summary


@contextmanager
def _watching_steps(instance: DagsterInstance, progress: Progress | None) -> Iterator[str]:
    """A run id to execute under; meanwhile a thread reports each step as it starts and ends,
    from the instance's event log, so a minute-long loop shows where it is."""
    from dagster._core.utils import make_new_run_id

    run_id = make_new_run_id()
    if progress is None:
        yield run_id
        return
    stop = threading.Event()

    def watch() -> None:
        # Only the step and run events, from where the last read ended: re-reading the whole log
        # twice a second cost a core by the end of a loop (~1,700 events).
        wanted = {
            DagsterEventType.PIPELINE_START,
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
        }
        cursor, started, done, total = None, "starting", 0, 0
        while not stop.wait(0.5):
            page = instance.get_records_for_run(run_id, cursor=cursor, of_type=wanted)
            cursor = page.cursor
            for record in page.records:
                event = record.event_log_entry.dagster_event
                if event is None:
                    continue
                if event.event_type == DagsterEventType.PIPELINE_START and not total:
                    plan = instance.get_execution_plan_snapshot(
                        instance.get_run_by_id(run_id).execution_plan_snapshot_id
                    )
                    total = len(plan.steps)
                elif event.event_type == DagsterEventType.STEP_START:
                    started = event.step_key or started
                elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                    done += 1
            progress(started, done, total)

    thread = threading.Thread(target=watch, name="leadloop-progress", daemon=True)
    thread.start()
    try:
        yield run_id
    finally:
        stop.set()
        thread.join(timeout=5)


def summarize(warehouse: Warehouse, syncs: dict[str, dict[str, Any]]) -> LoopSummary:
    bronze = warehouse.query(warehouse.qualify("select count(*) from {bronze_salesforce}.lead"))[0][0]
    grades = dict(
        warehouse.query(warehouse.qualify("select grade, count(*) from {gold}.salesforce_lead_scores group by grade"))
    )
    people, mqls = warehouse.query(
        warehouse.qualify(
            "select count(*), coalesce(sum(case when is_mql then 1 else 0 end), 0) from {gold}.lead_scores"
        )
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
        sources=source_rows(warehouse),
        score_bands=score_bands(warehouse),
    )


def source_rows(warehouse: Warehouse) -> dict[str, SourceRows]:
    """Rows in every bronze table per source, and how many each source's quarantine holds."""
    # This tenant's bronze schemas only (another tenant sharing the warehouse has its own prefix).
    bronze = warehouse.schema("bronze_").replace("_", "\\_")
    tables = warehouse.query(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema like '{bronze}%' escape '\\' and table_schema not like '%\\_staging' escape '\\' "
        "and table_name not like '\\_dlt\\_%' escape '\\' order by 1, 2"
    )
    if not tables:
        return {}
    counts = warehouse.query(" union all ".join(f"select '{s}', '{t}', count(*) from {s}.\"{t}\"" for s, t in tables))
    sources: dict[str, SourceRows] = {}
    for schema, table, count in counts:
        rows = sources.setdefault(warehouse.logical_schema(str(schema)).removeprefix("bronze_"), SourceRows())
        if str(table).endswith("_quarantine"):
            rows.quarantined += int(count)
        else:
            rows.rows += int(count)
    return sources


def score_bands(warehouse: Warehouse) -> dict[str, int]:
    """People per score band, highest first; one set-based query on either warehouse."""
    case = " ".join(f"when score >= {floor} then '{band}'" for floor, band in SCORE_BANDS)
    counted = dict(
        warehouse.query(f"select case {case} end, count(*) from {warehouse.schema('gold')}.lead_scores group by 1")
    )
    return {band: int(counted.get(band, 0)) for _, band in SCORE_BANDS}


def top_people(warehouse: Warehouse, limit: int = 10) -> list[tuple[str, int, str, str]]:
    """The highest scores with who they are and why, so the demo shows what RevOps would see;
    ties break on person_id so the list is the same on every run."""
    rows = warehouse.query(
        "select coalesce(nullif(trim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')), ''), "
        "s.person_id) || coalesce(' (' || p.company || ')', ''), s.score, s.grade, s.reasons "
        f"from {warehouse.schema('gold')}.lead_scores s left join {warehouse.schema('silver')}.int_people p "
        "on p.person_id = s.person_id "
        f"order by s.score desc, s.person_id limit {int(limit)}"
    )
    return [(str(who), int(score), str(grade), str(reasons)) for who, score, grade, reasons in rows]


def _interrupted(result: Any) -> bool:
    """Dagster turns Ctrl-C into a failed step; the user asked for it, so it is no failure to report."""
    return any(
        event.is_step_failure and event.step_failure_data.error.cls_name == "DagsterExecutionInterruptedError"
        for event in result.all_events
    )


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


def run_demo(
    data_dir: Path, leads: int, seed: int, fresh: bool = False, log_path: Path | None = None, full: bool = False
) -> LoopSummary:
    """Generates the world if needed, serves it from the sandbox, and runs the loop against it,
    recording the run in `DAGSTER_HOME`, else in the data dir's Dagster home."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sandbox.generator import generate_world
    from sandbox.hubspot.server import HubSpotSandbox
    from sandbox.salesforce.server import SalesforceSandbox

    warehouse = Warehouse.from_env()
    world = data_dir / "world"
    bar = Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        # Rich would route stdout through the bar; dbt's node-by-node output belongs in the log.
        redirect_stdout=False,
        redirect_stderr=False,
    )
    log_path = log_path or data_dir / "logs" / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The data dir's Dagster home unless DAGSTER_HOME says otherwise (a tenant's run: its own).
    home = ensure_dagster_home(dagster_home(data_dir))
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    # dbt streams every node's progress to stdout; keep it in the log and show the bar instead.
    with log, redirect_stdout(log), bar:
        if fresh or not (world / "salesforce.sqlite").exists():
            task = bar.add_task(f"generating {leads} leads", total=None)
            generate_world(world, leads=leads, seed=seed)
            bar.remove_task(task)
        task = bar.add_task("lead loop", total=None)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step[:40], completed=done, total=total or None)

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
                instance=DagsterInstance.from_config(str(home)),
                progress=progress,
                # The summary, or the one-line error, is what the user reads; the run's full log
                # is in the Dagster home (and dbt's in the demo log).
                console_log_level="CRITICAL",
                full=full,
            )
