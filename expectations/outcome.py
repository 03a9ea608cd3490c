"""What a contract evaluation says, small enough to travel as Dagster metadata.

`status` keeps "could not run" (errored) apart from "the data is bad" (failed): the first pages
whoever owns the platform, the second whoever owns the source. Each failure carries its
severity, so a contract whose only failures are warnings passes the gate but is still shown.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from expectations.config import Severity

Status = Literal["passed", "failed", "errored"]
MAX_HEADLINE = 600

_EMAIL_LIKE = re.compile(r"([^\s@])[^\s@]*@[^\s@]+")


def is_phone_column(column: str | None) -> bool:
    return column is not None and any(part in column.lower() for part in ("phone", "mobile", "e164"))


def mask_value(value: Any, column: str | None = None) -> Any:
    """Failing values are shown to whoever reads check metadata: an email anywhere keeps its
    first character (`j***@***`); in a phone column a number keeps only its last two digits
    (`***42`). Ids are not masked: they are what an engineer needs to find the row."""
    if not isinstance(value, str):
        return value
    masked = _EMAIL_LIKE.sub(lambda m: f"{m.group(1)}***@***", value)
    if is_phone_column(column):
        return "***" + re.sub(r"[^0-9]", "", masked)[-2:]
    return masked


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str
    column: str | None
    observed: Any
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)
    severity: Severity = "error"

    @property
    def summary(self) -> str:
        where = f"({self.column})" if self.column else ""
        if self.unexpected_count is not None:
            return f"{self.expectation}{where}: {self.unexpected_count} unexpected, e.g. {self.sample}"
        return f"{self.expectation}{where}: observed {self.observed!r}"


@dataclass(frozen=True)
class ValidationOutcome:
    suite: str
    target: str
    status: Status
    evaluated: int
    failures: list[ExpectationFailure]
    error: str | None = None
    row_count: int | None = None
    sampled_rows: int | None = None  # DuckDB: rows the GX part saw when the table was sampled
    unchanged: bool = False  # same content and contract as the last clean pass: its verdict reused

    @property
    def blocking_failures(self) -> list[ExpectationFailure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def success(self) -> bool:
        """Passed, or failed only on warnings: nothing that must stop a sync."""
        return self.status != "errored" and not self.blocking_failures

    @property
    def headline(self) -> str:
        """One line for a log, an exception or the sync's refusal."""
        if self.status == "errored":
            return f"contract {self.suite} on {self.target} could not be evaluated: {self.error}"
        if not self.failures:
            again = " (unchanged since its last clean pass)" if self.unchanged else ""
            return f"contract {self.suite} on {self.target} passed{again}"
        worst = self.blocking_failures or self.failures
        verdict = "failed" if self.blocking_failures else "passed with warnings"
        what = "; ".join(f.summary for f in worst)
        what = what if len(what) <= MAX_HEADLINE else what[: MAX_HEADLINE - 1] + "…"
        return f"contract {self.suite} on {self.target} {verdict}: {what}"

    def to_metadata(self) -> dict[str, Any]:
        """Plain JSON values only, so Dagster can store them and the UI can render them."""
        return {
            "suite": self.suite,
            "target": self.target,
            "status": self.status,
            "expectations_evaluated": self.evaluated,
            "expectations_failed": len(self.failures),
            "blocking_failed": len(self.blocking_failures),
            "failures": [{**asdict(f), "summary": f.summary} for f in self.failures],
            "row_count": self.row_count,
            "sampled_rows": self.sampled_rows,
            "unchanged_since_last_clean_pass": self.unchanged,
            "error": self.error,
        }
