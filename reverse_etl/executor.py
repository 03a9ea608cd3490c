"""Runs a sync: plan, send, commit state only for what the destination confirmed.

State is written on one warehouse connection for the run, committed every few thousand records
or seconds (and at the end), so a crash keeps what the CRM confirmed up to the last commit and
the next run resumes with the rest instead of re-sending everything. A record is never marked
synced on the strength of having been sent; only a per-record success counts.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from reverse_etl import state
from reverse_etl.destinations import Destination, RecordResult
from reverse_etl.people_edits import hold_changes_by_people
from reverse_etl.planner import RecordChange, SyncPlan, plan_sync, summarize
from reverse_etl.spec import SyncSpec
from warehouse import Warehouse

logger = logging.getLogger(__name__)

# A clear that meets these has nothing left to clear: the CRM record was deleted (or merged away).
# Salesforce: ENTITY_IS_DELETED / INVALID_CROSS_REFERENCE_KEY; HubSpot: OBJECT_NOT_FOUND (archived).
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "OBJECT_NOT_FOUND"})


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
    planned_clear: int = 0
    cleared: int = 0
    conflicting_keys: int = 0
    null_keys: int = 0
    skipped: int = 0
    below_threshold: int = 0
    estimated_calls: int = 0
    abandoned_runs: int = 0
    state_transactions: int = 0
    # Requests the destination sent to the CRM during the run (preflight, batches, Bulk polls,
    # retries): what the run cost the org's API allowance. None: the destination does not count.
    api_calls: int | None = None
    # Error code -> records: the codes say what went wrong without quoting any value.
    error_codes: dict[str, int] = field(default_factory=dict)
    # Skip reason -> records held back by the spec's skip rules (e.g. converted_lead).
    skipped_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.dry_run:
            return "dry_run"
        if self.failed and not self.succeeded:
            return "failed"
        return "partial" if self.failed or self.conflicting_keys else "success"

    def to_metadata(self) -> dict[str, Any]:
        """Dagster materialization metadata: counts, the status and error codes, never payloads."""
        nested = {"error_codes", "skipped_reasons"}
        metadata: dict[str, Any] = {k: v for k, v in asdict(self).items() if k not in nested and v is not None}
        metadata["status"] = self.status
        if self.error_codes:
            metadata["error_codes"] = dict(self.error_codes)
        for reason, count in self.skipped_reasons.items():
            metadata[f"skipped_{reason}"] = count
        return metadata


def run_sync(
    spec: SyncSpec,
    warehouse: Warehouse,
    destination: Destination,
    *,
    dry_run: bool = False,
    run_id: str | None = None,
    flush_rows: int = 5_000,
    flush_seconds: float = 2.0,
) -> SyncResult:
    run_id = run_id or uuid.uuid4().hex
    state.ensure_tables(warehouse)
    abandoned = state.start_run(warehouse, run_id, spec.name, state.now(), dry_run)
    if abandoned:
        logger.warning("%s: closed %d earlier run(s) that died while running as abandoned", spec.name, abandoned)
    plan: SyncPlan | None = None
    summary: dict[str, int] | None = None
    calls = CallCounter(destination)
    progress: dict[str, Any] = {"sent": 0, "succeeded": 0, "failed": 0, "cleared": 0, "api_calls": None}
    codes: Counter[str] = Counter()
    writer = state.StateWriter(warehouse, run_id, spec.name, flush_rows=flush_rows, flush_seconds=flush_seconds)
    try:
        plan = plan_sync(spec, warehouse)
        hold_changes_by_people(spec, warehouse, destination, plan)
        for missing in plan.skip_unavailable:
            logger.warning("%s: skip rule not applied: %s", spec.name, missing)
        if plan.changes:
            # A dry run writes nothing, properties included: it reports what is missing instead.
            _preflight(replace(spec, create_properties=False) if dry_run else spec, destination)
        # Counted before sending: the plan's changes are let go batch by batch as they are sent.
        summary = summarize(plan)
        estimated_calls = estimate_calls(spec, destination, plan)
        with writer:
            try:
                if not dry_run:
                    _reject_conflicts(spec, writer, plan, codes, progress)
                    if plan.forgotten:  # `on_removal: keep`: nothing to send, the state rows go
                        writer.add([], [], {**summary, **progress}, cleared=plan.forgotten)
                    size = _write_size(spec, destination, len(plan.changes))
                    for batch in _taken_in_batches(plan, size):
                        _send_batch(spec, writer, destination, batch, progress, codes, summary, calls)
                progress["api_calls"] = calls.since_start()
                status = _status(dry_run, progress, summary)
                writer.flush({**summary, **progress}, status=status)
            except BaseException:
                # What the CRM confirmed before the failure is kept: it would be re-sent otherwise.
                with contextlib.suppress(Exception):
                    writer.flush({**summary, **progress}, status="error")
                raise
    except BaseException:
        counts = {**(summary or (summarize(plan) if plan else {})), **progress, "api_calls": calls.since_start()}
        try:
            state.finish_run(warehouse, run_id, spec.name, "error", counts)
        except Exception:  # the original failure is the one worth raising
            logger.exception("%s: could not mark run %s as errored", spec.name, run_id)
        logger.error("%s: run %s stopped after %d confirmed record(s)", spec.name, run_id, progress["succeeded"])
        raise

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
        planned_clear=summary["planned_clear"],
        cleared=progress["cleared"],
        conflicting_keys=summary["conflicting_keys"],
        null_keys=summary["null_keys"],
        skipped=summary["skipped"],
        below_threshold=summary["below_threshold"],
        estimated_calls=estimated_calls,
        abandoned_runs=abandoned,
        state_transactions=writer.transactions,
        api_calls=calls.since_start(),
        error_codes=dict(codes),
        skipped_reasons=dict(plan.skipped),
    )
    logger.info(
        "%s%s: %d source rows, %d planned (%d new, %d changed, %d retry), %d sent, %d confirmed, %d rejected, "
        "%d unchanged, %d skipped",
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
        result.skipped,
    )
    if codes:
        logger.warning("%s: rejections by code: %s", spec.name, dict(codes))
    if plan.null_keys:
        logger.warning("%s: %d source row(s) without a %s were skipped", spec.name, plan.null_keys, spec.key)
    return result


class CallCounter:
    """The CRM requests a run made: the destination's own running count (`api_calls`), read at
    the start and as the run goes. A destination that keeps none gives None, not a guess."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.start = self._read()

    def _read(self) -> int | None:
        value = getattr(self.destination, "api_calls", None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def since_start(self) -> int | None:
        now = self._read()
        return None if now is None or self.start is None else now - self.start


def _status(dry_run: bool, progress: dict[str, int], summary: dict[str, int]) -> str:
    if dry_run:
        return "dry_run"
    if progress["failed"] and not progress["succeeded"]:
        return "failed"
    return "partial" if progress["failed"] or summary["conflicting_keys"] else "success"


def _preflight(spec: SyncSpec, destination: Destination) -> None:
    """Destinations that can check the org's readiness do so once, before the first record."""
    check = getattr(destination, "preflight", None)
    if check is not None:
        check(spec)


def _write_size(spec: SyncSpec, destination: Destination, planned: int) -> int:
    sizer = getattr(destination, "write_size", None)
    return max(1, sizer(spec, planned)) if sizer is not None else spec.batch_size


def estimate_calls(spec: SyncSpec, destination: Destination, plan: SyncPlan) -> int:
    """What sending the plan costs in API calls, if nothing is retried (one per batch if the
    destination cannot say)."""
    estimator = getattr(destination, "estimate_calls", None)
    if estimator is not None:
        return int(estimator(spec, plan.changes))
    return -(-len(plan.changes) // spec.batch_size)


def _taken_in_batches(plan: SyncPlan, size: int) -> Iterator[list[RecordChange]]:
    """The plan's changes, `size` at a time, each batch dropped from the plan as it is handed
    over: a sync of 900k records at 1M leads no longer holds every sent change (its payload, its
    JSON) until the last batch is confirmed."""
    pending = plan.changes
    plan.changes = []
    pending.reverse()  # taken from the end: each batch costs its own length, not the list's
    while pending:
        batch = pending[-size:]
        del pending[-size:]
        batch.reverse()
        yield batch


def _send_batch(
    spec: SyncSpec,
    writer: state.StateWriter,
    destination: Destination,
    batch: list[RecordChange],
    progress: dict[str, Any],
    codes: Counter[str],
    summary: dict[str, int],
    calls: CallCounter,
) -> None:
    results = destination.write(spec, batch)
    progress["api_calls"] = calls.since_start()
    progress["sent"] += len(batch)
    by_key: dict[str, RecordResult] = {r.key: r for r in results}
    confirmed: list[tuple[str, str, str]] = []
    rejected: list[tuple[str, str]] = []
    cleared: list[str] = []
    for change in batch:
        outcome = by_key.get(change.key)
        error = None if outcome is not None and outcome.success else _error(outcome)
        if change.reason == "clear" and (error is None or _code(error) in GONE_CODES):
            cleared.append(change.key)  # cleared, or the record itself is gone: nothing left to clear
        elif error is None:
            confirmed.append((change.key, change.payload_hash, change.payload_json))
        else:
            rejected.append((change.key, error))
            codes[_code(error)] += 1
    progress["succeeded"] += len(confirmed) + len(cleared)
    progress["cleared"] += len(cleared)
    progress["failed"] += len(rejected)
    writer.add(confirmed, rejected, {**summary, **progress}, cleared=cleared)


def _error(outcome: RecordResult | None) -> str:
    return (outcome.error if outcome else None) or "NO_RESULT: the destination returned no result"


def _code(error: str) -> str:
    return error.split(":", 1)[0]


def _reject_conflicts(
    spec: SyncSpec, writer: state.StateWriter, plan: SyncPlan, codes: Counter[str], progress: dict[str, int]
) -> None:
    """Keys with contradicting source rows are logged as rejections so they are visible in the
    warehouse next to the CRM's own rejections, and are not sent until the source agrees."""
    if not plan.conflicting_keys:
        return
    error = "DUPLICATE_SOURCE_KEY: several source rows with different values share this key; not sent"
    writer.add([], [(key, error) for key in plan.conflicting_keys], {**summarize(plan), **progress})
    codes["DUPLICATE_SOURCE_KEY"] += len(plan.conflicting_keys)
    logger.warning("%s: %d key(s) held by conflicting source rows, not sent", spec.name, len(plan.conflicting_keys))
