"""Where syncs write. A destination takes planned changes and says, per record, what the CRM confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reverse_etl.planner import RecordChange
    from reverse_etl.spec import SyncSpec


@dataclass(frozen=True)
class RecordResult:
    key: str
    success: bool
    error: str | None = None


class Destination(Protocol):
    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]: ...
