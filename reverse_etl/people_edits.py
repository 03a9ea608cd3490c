"""No overwriting what a person changed in the CRM after Leadloop wrote it.

A sync with `keep_changes_by_people` (e.g. the owner sync) reads, just before sending, the
current values of every record it wrote before and now plans to write again. If those values
differ from what the CRM last confirmed to Leadloop, someone changed them since; on Salesforce,
a record whose last change was made by the sync's own user (a write of ours the state never
recorded, e.g. a run killed after the CRM answered) is ours, not a person's. A record a person
changed is held back (counted as `skipped_changed_by_person`), and stays held back on later
runs: the rep's reassignment stands. Records Leadloop never wrote are sent as planned; the
source model decides which of those are Leadloop's to write (e.g. only leads without a real
owner). One read per 200 records, only for records about to be re-written.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from reverse_etl import state
from reverse_etl.planner import SyncPlan
from reverse_etl.spec import SyncSpec
from warehouse import Warehouse

logger = logging.getLogger(__name__)
REASON = "changed_by_person"
READ_CHUNK = 500


class CurrentValues(Protocol):
    def current_values(self, spec: SyncSpec, keys: list[str]) -> dict[str, tuple[dict[str, Any], bool]]:
        """Per key the CRM still has: its mapped fields' values, and whether the sync's own user
        made its last change (False when the CRM cannot say)."""
        ...


def hold_changes_by_people(spec: SyncSpec, warehouse: Warehouse, destination: Any, plan: SyncPlan) -> int:
    """Takes records a person changed since Leadloop wrote them out of `plan`; returns how many."""
    reader = getattr(destination, "current_values", None)
    rewrites = [c.key for c in plan.changes if c.reason in {"changed", "retry"}]
    if not spec.keep_changes_by_people or reader is None or not rewrites:
        return 0
    confirmed: dict[str, dict[str, Any]] = {}
    for start in range(0, len(rewrites), READ_CHUNK):
        confirmed.update(state.confirmed_payloads(warehouse, spec.name, rewrites[start : start + READ_CHUNK]))
    written = [key for key in rewrites if key in confirmed]
    if not written:
        return 0
    current = reader(spec, written)
    held = {
        key for key in written if key in current and not current[key][1] and _differs(current[key][0], confirmed[key])
    }
    if held:
        plan.changes = [c for c in plan.changes if c.key not in held]
        plan.skipped[REASON] = plan.skipped.get(REASON, 0) + len(held)
        logger.info(
            "%s: %d record(s) changed in the CRM by a person since Leadloop wrote them: kept", spec.name, len(held)
        )
    return len(held)


def _differs(now: dict[str, Any], written: dict[str, Any]) -> bool:
    return any(_text(now.get(name)) != _text(value) for name, value in written.items())


def _text(value: Any) -> str:
    """CRMs answer strings ("" for empty on HubSpot), Leadloop's payloads JSON values."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
