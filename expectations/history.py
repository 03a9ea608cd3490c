"""What the previous accepted check saw, so a load can be judged against it.

A contract's table-level guards (row count, mean score, grade shares) compare with the last
profile recorded for that suite in `contracts.table_profiles`. A profile is recorded only when
the check passed its blocking expectations: a broken load never becomes the baseline the next
load is compared with, so fixing the input and re-running recovers without clean-up. Recording
an unchanged profile again is skipped, so re-running a check changes nothing.

A clean pass also keeps a *fingerprint*: a hash of the table's content (an SQL aggregate of
every row's hash) and of the contract itself. A check that finds the same fingerprint again
judges byte-identical data against an unchanged contract, so it reuses that verdict instead of
running GX again: a loop in which a source loaded nothing new pays a single aggregate query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from expectations.session import Reads
from warehouse import Warehouse

SCHEMA = "contracts"
TABLE = "table_profiles"


@dataclass(frozen=True)
class Profile:
    row_count: int
    mean_score: float | None = None
    grade_shares: dict[str, float] | None = None
    fingerprint: str | None = None  # content + contract hash; kept only for a clean pass

    def same_as(self, other: Profile | None) -> bool:
        return other is not None and (
            other.row_count,
            _round(other.mean_score),
            _shares(other.grade_shares),
            other.fingerprint,
        ) == (self.row_count, _round(self.mean_score), _shares(self.grade_shares), self.fingerprint)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _shares(shares: dict[str, float] | None) -> dict[str, float] | None:
    return None if shares is None else {k: round(v, 6) for k, v in sorted(shares.items())}


def _ensure(warehouse: Warehouse) -> None:
    schema = warehouse.schema(SCHEMA)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"create schema if not exists {schema}")
        cur.execute(
            f"create table if not exists {schema}.{TABLE} (suite varchar not null, recorded_at timestamp not null, "
            "row_count bigint not null, mean_score double precision, grade_shares varchar, fingerprint varchar)"
        )


def previous(warehouse: Reads, suite: str) -> Profile | None:
    """The last accepted profile of the suite, or None before its first accepted check."""
    schema = warehouse.schema(SCHEMA)
    if not warehouse.table_exists(schema, TABLE):
        return None
    rows = warehouse.query(
        f"select row_count, mean_score, grade_shares, fingerprint from {schema}.{TABLE} where suite = ? "
        "order by recorded_at desc limit 1",
        [suite],
    )
    if not rows:
        return None
    row_count, mean_score, shares, fingerprint = rows[0]
    return Profile(int(row_count), mean_score, json.loads(shares) if shares else None, fingerprint)


def record(warehouse: Warehouse, suite: str, profile: Profile) -> bool:
    """Keep `profile` as the suite's baseline; False when it equals the current one."""
    schema = warehouse.schema(SCHEMA)
    if profile.same_as(previous(warehouse, suite)):
        return False
    _ensure(warehouse)
    now = datetime.now(UTC).replace(tzinfo=None)
    shares = json.dumps(_shares(profile.grade_shares)) if profile.grade_shares is not None else None
    with warehouse.connect() as conn:
        conn.cursor().execute(
            warehouse.adapt_sql(f"insert into {schema}.{TABLE} values (?, ?, ?, ?, ?, ?)"),
            [suite, now, profile.row_count, profile.mean_score, shares, profile.fingerprint],
        )
    return True
