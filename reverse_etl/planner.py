"""The diff: which source records differ from what the destination last confirmed.

Comparing hashes of the *mapped* payload (not of the source row) means a change to a column the
sync does not send never causes a write, and a mapping change re-sends everything once.
"""

from __future__ import annotations

import hashlib
import json
import math
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from reverse_etl import state
from reverse_etl.spec import SyncSpec
from warehouse import Warehouse

Reason = Literal["new", "changed", "retry", "clear"]


class RecordChange:
    """One record to send, kept as the JSON of its payload and nothing more: a full sync at 1M
    leads plans 900k of these, and as dataclasses holding the payload dict beside its JSON (and
    the planner's dicts of every payload and text) planning 900k Lead scores took 1,064 MB; now
    644 MB. `payload` is read back from the JSON, which `to_destination_value` made JSON-native,
    so it round-trips exactly."""

    __slots__ = ("key", "payload_json", "payload_hash", "reason", "may_create")

    def __init__(
        self,
        key: str,
        payload: dict[str, Any],
        payload_hash: str,
        reason: Reason,
        may_create: bool = False,
        *,
        canonical: str | None = None,
    ) -> None:
        self.key = key
        # `canonical_json(payload)`, given when whoever made the change already has it.
        self.payload_json = canonical if canonical is not None else canonical_json(payload)
        self.payload_hash = payload_hash
        self.reason: Reason = reason
        # HubSpot upsert: the source row says a record the portal lacks may be created (the
        # spec's `create_when` column). False: the write may only update a record the portal has.
        self.may_create = may_create

    @property
    def payload(self) -> dict[str, Any]:
        """Destination field -> JSON-native value."""
        return json.loads(self.payload_json)

    def __repr__(self) -> str:  # never the payload: it holds personal data
        return f"RecordChange({self.key!r}, {self.reason!r}, may_create={self.may_create})"


@dataclass
class SyncPlan:
    spec: SyncSpec
    changes: list[RecordChange] = field(default_factory=list)
    unchanged: int = 0
    source_rows: int = 0
    # Keys held by several source rows with different values: sending either would be a guess.
    conflicting_keys: list[str] = field(default_factory=list)
    null_keys: int = 0
    # Reason -> source keys the spec's skip rules held back (e.g. converted leads).
    skipped: dict[str, int] = field(default_factory=dict)
    # Skip rules whose lookup table does not exist yet (a warehouse before its first dbt build).
    skip_unavailable: list[str] = field(default_factory=list)

    # Changed records whose every difference is under the spec's change threshold: not sent.
    below_threshold: int = 0
    # Keys that left the source with `on_removal: keep`: their state rows go, nothing is sent.
    forgotten: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {"new": 0, "changed": 0, "retry": 0, "clear": 0}
        for change in self.changes:
            counts[change.reason] += 1
        return counts


def canonical_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def to_destination_value(value: Any) -> Any:
    """JSON-native values, so the hash of an unchanged row is the same on DuckDB and Postgres.

    Numbers become floats: CRM number fields are doubles, and 70 vs 70.0 must not look like
    a change. NaN has no JSON form and no CRM meaning, so it is sent as null.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def plan_sync(spec: SyncSpec, warehouse: Warehouse, *, create_state: bool = True) -> SyncPlan:
    """Reads the state once and walks the source once, diffing as it goes.

    A record with an open rejection is always planned (as `retry`), even if its value went back
    to the last confirmed one: the rejection row only clears when the destination confirms it.
    `create_state=False` reads without creating the state tables (a dry run writes nothing).

    Only what the plan needs is kept: the changes, and one hash per source key (for keys held by
    several rows, and for the keys that left the source). The source rows are fetched in batches
    and each payload's JSON is made once and kept on its change.
    """
    if create_state:
        state.ensure_tables(warehouse)
    columns = ", ".join(f'"{c}"' for c in [spec.key, *spec.fields, *([spec.create_when] if spec.create_when else [])])
    # A preview must not even create the state tables: without them, nothing was ever synced.
    has_state = create_state or warehouse.table_exists(warehouse.schema(state.SCHEMA), "sync_state")
    confirmed = state.confirmed_hashes(warehouse, spec.name) if has_state else {}
    rejected = state.rejected_keys(warehouse, spec.name) if has_state else set()
    plan = SyncPlan(spec=spec)
    skipped = _skipped_keys(spec, warehouse, plan)
    previous_payloads = state.confirmed_payloads_all(warehouse, spec.name) if spec.thresholds and has_state else {}
    thresholds = {spec.fields[column]: minimum for column, minimum in spec.thresholds}
    destination_fields = list(spec.fields.values())

    hashes: dict[str, str] = {}  # key -> the hash of its first row
    conflicting: set[str] = set()
    width = 1 + len(destination_fields)
    rows = warehouse.iter_rows(
        f'select {columns} from "{warehouse.schema(spec.source_schema)}"."{spec.source_table}" order by 1'
    )
    with closing(rows):  # its connection closes here, not whenever a failed plan is collected
        for row in rows:
            plan.source_rows += 1
            if row[0] is None or str(row[0]).strip() == "":
                plan.null_keys += 1
                continue
            key = str(row[0]).strip()
            values = row[1:width]
            payload = {
                name: to_destination_value(value) for name, value in zip(destination_fields, values, strict=True)
            }
            text = canonical_json(payload)
            digest = hashlib.sha256(text.encode()).hexdigest()  # = payload_hash(payload), JSON made once
            first = hashes.get(key)
            if first is not None:
                if first != digest:
                    conflicting.add(key)
                continue  # an exact duplicate row is the same record: send it once
            previous = confirmed.get(key)
            hashes[key] = previous if previous == digest else digest  # one string where they agree
            if (held_back := skipped.get(key)) is not None:
                plan.skipped[held_back] = plan.skipped.get(held_back, 0) + 1
                continue
            if key in rejected:
                reason: Reason = "retry"
            elif previous is None:
                reason = "new"
            elif previous == digest or spec.operation == "insert_once":
                # insert_once: created once, then the CRM's; a rep's edits are never overwritten.
                plan.unchanged += 1
                continue
            elif thresholds and _below_threshold(previous_payloads.get(key), payload, thresholds):
                plan.below_threshold += 1
                continue
            else:
                reason = "changed"
            may_create = bool(spec.create_when) and _is_true(row[width])
            plan.changes.append(RecordChange(key, payload, digest, reason, may_create, canonical=text))
    if conflicting:
        _leave_out_conflicting(spec, plan, conflicting, hashes, confirmed, skipped)
    plan.conflicting_keys = sorted(conflicting)
    _plan_removals(spec, plan, confirmed, hashes, destination_fields)
    if any(change.may_create for change in plan.changes):
        # Upserts first, then updates (clears among them): each batch goes through one endpoint,
        # so the whole plan costs at most one call more than ceil(changes / batch size).
        plan.changes.sort(key=lambda change: not change.may_create)
    return plan


def _leave_out_conflicting(
    spec: SyncSpec,
    plan: SyncPlan,
    conflicting: set[str],
    hashes: dict[str, str],
    confirmed: dict[str, str],
    skipped: dict[str, str],
) -> None:
    """Sending either of a key's contradicting rows would be a guess: what its first row decided
    as the source was walked (a change, or a count) is taken back."""
    planned = {change.key for change in plan.changes if change.key in conflicting}
    plan.changes = [change for change in plan.changes if change.key not in conflicting]
    for key in conflicting - planned:
        if (held_back := skipped.get(key)) is not None:
            plan.skipped[held_back] -= 1
            if not plan.skipped[held_back]:
                del plan.skipped[held_back]
        elif confirmed.get(key) == hashes[key] or spec.operation == "insert_once":
            plan.unchanged -= 1
        else:  # changed, not planned: every difference was under its threshold
            plan.below_threshold -= 1


def _is_true(value: Any) -> bool:
    """A boolean column as either warehouse returns it; null (unknown consent) is not true."""
    return value is True or (isinstance(value, int) and not isinstance(value, bool) and value == 1)


def _below_threshold(before: dict[str, Any] | None, after: dict[str, Any], thresholds: dict[str, float]) -> bool:
    """True when the only differences are numeric ones smaller than their field's threshold."""
    if before is None:
        return False
    for name, value in after.items():
        old = before.get(name)
        if old == value:
            continue
        minimum = thresholds.get(name)
        if minimum is None or not isinstance(old, int | float) or not isinstance(value, int | float):
            return False
        if abs(value - old) >= minimum:
            return False
    return True


def _plan_removals(
    spec: SyncSpec, plan: SyncPlan, confirmed: dict[str, str], present: dict[str, str], destination_fields: list[str]
) -> None:
    """A key the destination confirmed that the source no longer has was erased, deleted or
    merged away: its fields are cleared (nulls), once. The state row only goes when the CRM
    confirms, so a failed clear is planned again; a key that comes back is simply `new`."""
    gone = sorted(key for key in confirmed if key not in present)
    if spec.on_removal == "keep":
        plan.forgotten = gone
        return
    cleared = {name: None for name in destination_fields}
    digest = payload_hash(cleared)
    plan.changes.extend(RecordChange(key, dict(cleared), digest, "clear") for key in gone)


def _skipped_keys(spec: SyncSpec, warehouse: Warehouse, plan: SyncPlan) -> dict[str, str]:
    """Key -> reason for every source record a skip rule holds back (the first rule wins)."""
    skipped: dict[str, str] = {}
    for rule in spec.skip:
        if not warehouse.table_exists(warehouse.schema(rule.schema), rule.table):
            plan.skip_unavailable.append(f"{rule.reason} ({rule.schema}.{rule.table} does not exist)")
            continue
        rows = warehouse.query(
            f'select distinct cast("{rule.key}" as varchar) from "{warehouse.schema(rule.schema)}"."{rule.table}" '
            f'where coalesce("{rule.when}", false)'
        )
        for (key,) in rows:
            if key is not None:
                skipped.setdefault(str(key).strip(), rule.reason)
    return skipped


def summarize(plan: SyncPlan) -> dict[str, int]:
    """Counts only: plans are logged and shown in Dagster, and payloads may hold personal data."""
    counts = plan.counts()
    return {
        "source_rows": plan.source_rows,
        "planned": len(plan.changes),
        "planned_new": counts["new"],
        "planned_changed": counts["changed"],
        "planned_retry": counts["retry"],
        "planned_clear": counts["clear"],
        "unchanged": plan.unchanged,
        "conflicting_keys": len(plan.conflicting_keys),
        "null_keys": plan.null_keys,
        "skipped": sum(plan.skipped.values()),
        "below_threshold": plan.below_threshold,
    }
