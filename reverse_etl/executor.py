"""Runs a sync: plan, send in batches, commit state only for what the destination confirmed.

State is committed after every batch, so a crash mid-run keeps what the CRM already confirmed and
the next run resumes with the rest instead of re-sending everything. A record is never marked
synced on the strength of having been sent; only a per-record success counts.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from reverse_etl import state
from reverse_etl.destinations import Destination, RecordResult
from reverse_etl.planner import RecordChange, SyncPlan, plan_sync, summarize
from reverse_etl.spec import SyncSpec
from warehouse import Warehouse

logger = logging.getLogger(__name__)


@dataclass
class SyncResult:
    run_id: str
    sync_name: str
    dry_run: bool
    planned: int
    sent: int
    succeeded: int
    failed: int
    unchanged: int
    source_rows: int
    planned_new: int = 0
    planned_changed: int = 0
    planned_retry: int = 0
    conflicting_keys: int = 0
    null_keys: int = 0
    # Error code -> records: the codes say what went wrong without quoting any value.
    error_codes: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.dry_run:
            return "dry_run"
        if self.failed and not self.succeeded:
            return "failed"
        return "partial" if self.failed or self.conflicting_keys else "success"

    def to_metadata(self) -> dict[str, Any]:
        """Dagster materialization metadata: counts, the status and error codes, never payloads."""
        metadata: dict[str, Any] = {k: v for k, v in asdict(self).items() if k != "error_codes"}
        metadata["status"] = self.status
        if self.error_codes:
            metadata["error_codes"] = dict(self.error_codes)
        return metadata


def run_sync(
    spec: SyncSpec,
    warehouse: Warehouse,
    destination: Destination,
    *,
    dry_run: bool = False,
    run_id: str | None = None,
) -> SyncResult:
    run_id = run_id or uuid.uuid4().hex
    state.ensure_tables(warehouse)
    state.start_run(warehouse, run_id, spec.name, state.now(), dry_run)
    plan: SyncPlan | None = None
    progress = {"sent": 0, "succeeded": 0, "failed": 0}
    codes: Counter[str] = Counter()
    try:
        plan = plan_sync(spec, warehouse)
        if not dry_run:
            _reject_conflicts(spec, warehouse, plan, codes)
            for start in range(0, len(plan.changes), spec.batch_size):
                batch = plan.changes[start : start + spec.batch_size]
                _send_batch(spec, warehouse, destination, batch, progress, codes)
    except BaseException:
        counts = {**(summarize(plan) if plan else {}), **progress}
        try:
            state.finish_run(warehouse, run_id, spec.name, "error", counts)
        except Exception:  # the original failure is the one worth raising
            logger.exception("%s: could not mark run %s as errored", spec.name, run_id)
        logger.error("%s: run %s stopped after %d confirmed record(s)", spec.name, run_id, progress["succeeded"])
        raise

    summary = summarize(plan)
    result = SyncResult(
        run_id=run_id,
        sync_name=spec.name,
        dry_run=dry_run,
        planned=summary["planned"],
        sent=progress["sent"],
        succeeded=progress["succeeded"],
        failed=progress["failed"],
        unchanged=summary["unchanged"],
        source_rows=summary["source_rows"],
        planned_new=summary["planned_new"],
        planned_changed=summary["planned_changed"],
        planned_retry=summary["planned_retry"],
        conflicting_keys=summary["conflicting_keys"],
        null_keys=summary["null_keys"],
        error_codes=dict(codes),
    )
    state.finish_run(warehouse, run_id, spec.name, result.status, {**summary, **progress})
    logger.info(
        "%s%s: %d source rows, %d planned (%d new, %d changed, %d retry), %d sent, %d confirmed, %d rejected, "
        "%d unchanged",
        spec.name,
        " (dry run)" if dry_run else "",
        result.source_rows,
        result.planned,
        result.planned_new,
        result.planned_changed,
        result.planned_retry,
        result.sent,
        result.succeeded,
        result.failed,
        result.unchanged,
    )
    if codes:
        logger.warning("%s: rejections by code: %s", spec.name, dict(codes))
    if plan.null_keys:
        logger.warning("%s: %d source row(s) without a %s were skipped", spec.name, plan.null_keys, spec.key)
    return result


def _send_batch(
    spec: SyncSpec,
    warehouse: Warehouse,
    destination: Destination,
    batch: list[RecordChange],
    progress: dict[str, int],
    codes: Counter[str],
) -> None:
    results = destination.write(spec, batch)
    progress["sent"] += len(batch)
    by_key: dict[str, RecordResult] = {r.key: r for r in results}
    confirmed: list[tuple[str, str, str]] = []
    rejected: list[tuple[str, str]] = []
    for change in batch:
        outcome = by_key.get(change.key)
        if outcome is not None and outcome.success:
            confirmed.append((change.key, change.payload_hash, change.payload_json))
        else:
            error = (outcome.error if outcome else None) or "NO_RESULT: the destination returned no result"
            rejected.append((change.key, error))
            codes[error.split(":", 1)[0]] += 1
    state.record_batch(warehouse, spec.name, confirmed, rejected)
    progress["succeeded"] += len(confirmed)
    progress["failed"] += len(rejected)


def _reject_conflicts(spec: SyncSpec, warehouse: Warehouse, plan: SyncPlan, codes: Counter[str]) -> None:
    """Keys with contradicting source rows are logged as rejections so they are visible in the
    warehouse next to the CRM's own rejections, and are not sent until the source agrees."""
    if not plan.conflicting_keys:
        return
    error = "DUPLICATE_SOURCE_KEY: several source rows with different values share this key; not sent"
    state.record_batch(warehouse, spec.name, [], [(key, error) for key in plan.conflicting_keys])
    codes["DUPLICATE_SOURCE_KEY"] += len(plan.conflicting_keys)
    logger.warning("%s: %d key(s) held by conflicting source rows, not sent", spec.name, len(plan.conflicting_keys))
