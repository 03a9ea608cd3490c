"""The diff: which source records differ from what the destination last confirmed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from orchestration.warehouse import Warehouse
from reverse_etl import state
from reverse_etl.spec import SyncSpec

Reason = Literal["new", "changed", "retry"]


@dataclass(frozen=True)
class RecordChange:
    key: str
    payload: dict[str, Any]
    payload_hash: str
    reason: Reason

    @property
    def payload_json(self) -> str:
        return canonical_json(self.payload)


@dataclass
class SyncPlan:
    spec: SyncSpec
    changes: list[RecordChange] = field(default_factory=list)
    unchanged: int = 0
    source_rows: int = 0

    def counts(self) -> dict[str, int]:
        counts = {"new": 0, "changed": 0, "retry": 0}
        for change in self.changes:
            counts[change.reason] += 1
        return counts


def canonical_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def to_destination_value(value: Any) -> Any:
    """JSON-native values, so the hash of an unchanged row is the same on DuckDB and Postgres.

    Numbers become floats: CRM number fields are doubles, and 70 vs 70.0 must not look like
    a change.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    return str(value)


def plan_sync(spec: SyncSpec, warehouse: Warehouse) -> SyncPlan:
    state.ensure_tables(warehouse)
    columns = ", ".join(f'"{c}"' for c in [spec.key, *spec.fields])
    rows = warehouse.query(f'select {columns} from "{spec.source_schema}"."{spec.source_table}" order by "{spec.key}"')
    confirmed = state.confirmed_hashes(warehouse, spec.name)
    rejected = state.rejected_keys(warehouse, spec.name)
    plan = SyncPlan(spec=spec, source_rows=len(rows))
    destination_fields = list(spec.fields.values())
    for row in rows:
        key = str(row[0])
        payload = {name: to_destination_value(value) for name, value in zip(destination_fields, row[1:], strict=True)}
        digest = payload_hash(payload)
        previous = confirmed.get(key)
        if previous == digest:
            plan.unchanged += 1
            continue
        reason: Reason = "retry" if key in rejected else ("new" if previous is None else "changed")
        plan.changes.append(RecordChange(key, payload, digest, reason))
    return plan
