"""Where syncs write. A destination takes planned changes and says, per record, what the CRM confirmed.

A Protocol rather than a base class: the executor needs nothing from a destination but `write`,
so HubSpot (or a test double) plugs in without inheriting Salesforce assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reverse_etl.planner import RecordChange
    from reverse_etl.spec import SyncSpec


@dataclass
class RecordResult:
    key: str
    success: bool
    error: str | None = None  # "CODE: message (fields)"; never holds the payload


class Destination(Protocol):
    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]:
        """One result per change, for every change: a record the destination did not confirm is a failure."""
        ...
