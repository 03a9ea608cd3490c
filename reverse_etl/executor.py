"""Runs a sync: plan, send in batches, commit state only for what the destination confirmed."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from orchestration.warehouse import Warehouse
from reverse_etl import state
from reverse_etl.destinations import Destination
from reverse_etl.planner import plan_sync
from reverse_etl.spec import SyncSpec

logger = logging.getLogger(__name__)

# State is committed after every chunk, so a crash mid-run keeps what the CRM already confirmed.
COMMIT_EVERY = 2000


@dataclass(frozen=True)
class SyncResult:
    run_id: str
    sync_name: str
    dry_run: bool
    source_rows: int
    planned: int
    sent: int
    succeeded: int
    failed: int
    unchanged: int
    planned_new: int = 0
    planned_changed: int = 0
    planned_retry: int = 0
    first_error: str | None = None

    def to_metadata(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def run_sync(
    spec: SyncSpec,
    warehouse: Warehouse,
    destination: Destination,
    *,
    dry_run: bool = False,
    run_id: str | None = None,
) -> SyncResult:
    run_id = run_id or uuid.uuid4().hex
    started_at = state.now()
    plan = plan_sync(spec, warehouse)
    counts = plan.counts()
    succeeded = failed = sent = 0
    first_error: str | None = None
    if not dry_run:
        for start in range(0, len(plan.changes), COMMIT_EVERY):
            chunk = plan.changes[start : start + COMMIT_EVERY]
            results = destination.write(spec, chunk)
            sent += len(chunk)
            by_key = {change.key: change for change in chunk}
            confirmed = [(r.key, by_key[r.key].payload_hash, by_key[r.key].payload_json) for r in results if r.success]
            rejected = [(r.key, r.error or "unknown error") for r in results if not r.success]
            state.record_confirmed(warehouse, spec.name, confirmed)
            state.record_rejected(warehouse, spec.name, rejected)
            succeeded += len(confirmed)
            failed += len(rejected)
            first_error = first_error or (rejected[0][1] if rejected else None)
    result = SyncResult(
        run_id=run_id,
        sync_name=spec.name,
        dry_run=dry_run,
        source_rows=plan.source_rows,
        planned=len(plan.changes),
        sent=sent,
        succeeded=succeeded,
        failed=failed,
        unchanged=plan.unchanged,
        planned_new=counts["new"],
        planned_changed=counts["changed"],
        planned_retry=counts["retry"],
        first_error=first_error,
    )
    state.record_run(
        warehouse,
        {
            "run_id": run_id,
            "sync_name": spec.name,
            "started_at": started_at,
            "finished_at": state.now(),
            "dry_run": dry_run,
            "source_rows": result.source_rows,
            "planned": result.planned,
            "sent": sent,
            "succeeded": succeeded,
            "failed": failed,
            "unchanged": result.unchanged,
            "status": "dry_run" if dry_run else ("partial" if failed else "success"),
        },
    )
    logger.info(
        "%s: %d planned (%d new, %d changed, %d retry), %d sent, %d confirmed, %d rejected, %d unchanged",
        spec.name,
        result.planned,
        counts["new"],
        counts["changed"],
        counts["retry"],
        sent,
        succeeded,
        failed,
        result.unchanged,
    )
    return result
