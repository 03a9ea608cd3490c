"""What a sync would do, without doing it: counts, a few field-level diffs, the API calls it
would cost. For `leadloop sync --dry-run`, which RevOps runs before a mapping change goes live.

Nothing is written: no CRM call but the preflight's describe, no state row, no run row. Values
that look like email addresses are masked, because a plan is printed to terminals and CI logs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from reverse_etl import state
from reverse_etl.destinations import Destination
from reverse_etl.executor import estimate_calls
from reverse_etl.planner import plan_sync, summarize
from reverse_etl.spec import SyncSpec
from warehouse import Warehouse

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-])[A-Za-z0-9.-]*\.([A-Za-z]{2,})")


def mask(value: Any) -> Any:
    """`jane.doe@example.com` → `j***@e***.com`, anywhere inside a string; other values as they are."""
    if not isinstance(value, str):
        return value
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}***.{m.group(3)}", value)


@dataclass
class FieldDiff:
    key: str
    reason: str
    changes: dict[str, tuple[Any, Any]]  # destination field -> (last confirmed, planned), masked


@dataclass
class SyncPreview:
    spec: SyncSpec
    counts: dict[str, int]
    skipped: dict[str, int]
    estimated_calls: int
    sample: list[FieldDiff] = field(default_factory=list)

    def lines(self) -> list[str]:
        c = self.counts
        out = [
            f"{self.spec.name}: {self.spec.source_schema}.{self.spec.source_table} -> "
            f"{self.spec.destination} {self.spec.object} ({self.spec.operation})",
            f"  source rows {c['source_rows']}: update {c['planned'] - c['planned_clear']} (new {c['planned_new']}, "
            f"changed {c['planned_changed']}, retry {c['planned_retry']}), clear {c['planned_clear']}, unchanged "
            f"{c['unchanged']}, below change threshold {c['below_threshold']}, skipped "
            f"{c['skipped']}, conflicting keys {c['conflicting_keys']}, without key {c['null_keys']}",
        ]
        for reason, count in sorted(self.skipped.items()):
            out.append(f"  skipped {reason}: {count}")
        out.append(f"  API calls it would cost: {self.estimated_calls}")
        for diff in self.sample:
            fields = ", ".join(
                f"{name}: {json.dumps(old)} -> {json.dumps(new)}" for name, (old, new) in diff.changes.items()
            )
            out.append(f"  {diff.reason:<7} {mask(diff.key)}  {fields}")
        return out


def preview_sync(spec: SyncSpec, warehouse: Warehouse, destination: Destination, *, sample: int = 5) -> SyncPreview:
    """The plan as the next run would make it, and what it would cost; the destination's
    preflight runs too (a read), so a missing field shows up here rather than mid-run."""
    plan = plan_sync(spec, warehouse, create_state=False)
    if plan.changes:
        check = getattr(destination, "preflight", None)
        if check is not None:
            check(spec)
    keys = [c.key for c in plan.changes[:sample]]
    has_state = warehouse.table_exists(warehouse.schema(state.SCHEMA), "sync_state")
    previous = state.confirmed_payloads(warehouse, spec.name, keys) if has_state else {}
    diffs = []
    for change in plan.changes[:sample]:
        before, payload = previous.get(change.key, {}), change.payload
        changed = {  # in the spec's field order (the payload's JSON keeps its keys sorted)
            name: (mask(before.get(name)), mask(payload[name]))
            for name in spec.fields.values()
            if name in payload and (before.get(name) != payload[name] or change.key not in previous)
        }
        diffs.append(FieldDiff(change.key, change.reason, changed))
    return SyncPreview(
        spec=spec,
        counts=summarize(plan),
        skipped=dict(plan.skipped),
        estimated_calls=estimate_calls(spec, destination, plan),
        sample=diffs,
    )
