"""The table-level half of a contract, as SQL aggregates over the whole table.

Required columns and their types come from `information_schema` (one query, the same on DuckDB
and Postgres, and exact where a pandas dtype would blur an integer into a float). Row count,
freshness and the score distribution are a handful of aggregates, so they stay exact and cheap
even when the value-level GX expectations run on a sample of a large DuckDB table.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from expectations.config import Contract, ExclusionRule, FreshnessRule, Severity
from expectations.history import Profile
from expectations.outcome import ExpectationFailure, mask_value
from expectations.session import Reads

# information_schema.data_type (lower-case, without "(precision)") per type family.
_INTEGER = {"bigint", "integer", "int", "int4", "int8", "smallint", "tinyint", "hugeint", "ubigint", "uinteger"}
TYPE_NAMES: dict[str, set[str]] = {
    "string": {"varchar", "character varying", "text", "character", "char", "string"},
    "integer": _INTEGER,
    "number": _INTEGER | {"double", "double precision", "real", "float", "decimal", "numeric"},
    "boolean": {"boolean", "bool"},
    "timestamp": {
        "timestamp",
        "timestamp with time zone",
        "timestamp without time zone",
        "timestamptz",
        "timestamp_ns",
        "timestamp_ms",
        "timestamp_s",
    },
    "date": {"date"},
    "json": {"json", "jsonb"},
}


FRESHNESS = "expect_newest_record_to_be_recent"


@dataclass(frozen=True)
class TableFacts:
    """What the guards measured; `profile` becomes the next baseline if the check passes."""

    columns: dict[str, str]
    profile: Profile
    failures: list[ExpectationFailure]
    evaluated: int


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def table_columns(warehouse: Reads, schema: str, table: str) -> dict[str, str]:
    rows = warehouse.query(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    )
    return {name: str(data_type) for name, data_type in rows}


def _content(warehouse: Reads, schema: str, table: str) -> str:
    """Row count and an order-independent sum of row hashes."""
    relation = f"{quote(schema)}.{quote(table)}"
    if warehouse.is_duckdb:
        sql = f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {relation} as t"
    else:
        sql = f"select count(*), coalesce(sum(hashtext(t::text)::bigint), 0) from {relation} as t"
    rows, content = warehouse.query(sql)[0]
    return f"{rows}:{content}"


def fingerprint(warehouse: Reads, contract: Contract, schema: str, table: str) -> str:
    """Content hash of the table, its column names and types (a rename keeps every value), the
    contract's own, and the content of every table an exclusion reads (a new erasure changes
    the verdict on unchanged rows)."""
    shape = sorted(table_columns(warehouse, schema, table).items())
    rules = hashlib.sha256(repr((contract, shape)).encode()).hexdigest()[:16]
    parts = [_content(warehouse, schema, table), rules]
    for rule in contract.excludes:
        logical_schema, other_table = rule.table.split(".")
        other_schema = warehouse.schema(logical_schema)
        exists = warehouse.table_exists(other_schema, other_table)
        parts.append(_content(warehouse, other_schema, other_table) if exists else "none")
    return ":".join(parts)


def _type_matches(family: str, data_type: str) -> bool:
    return data_type.lower().split("(")[0].strip() in TYPE_NAMES[family]


def evaluate_guards(warehouse: Reads, contract: Contract, baseline: Profile | None) -> TableFacts:
    columns = table_columns(warehouse, contract.schema, contract.table)
    failures: list[ExpectationFailure] = []
    evaluated = 0
    for rule in contract.columns:
        if not rule.required and rule.name not in columns:
            continue
        evaluated += 1
        severity = contract.severity_of(rule.severity)
        if rule.name not in columns:
            failures.append(ExpectationFailure("expect_column_to_exist", rule.name, "missing", None, severity=severity))
        elif rule.type and not _type_matches(rule.type, columns[rule.name]):
            observed = f"{columns[rule.name]} (expected {rule.type})"
            failures.append(
                ExpectationFailure("expect_column_values_to_be_of_type", rule.name, observed, None, severity=severity)
            )

    relation = f"{quote(contract.schema)}.{quote(contract.table)}"
    dist = contract.distribution
    dist_ok = dist is not None and dist.score_column in columns and dist.grade_column in columns
    selects = ["count(*)"]
    if dist_ok:
        assert dist is not None
        score, grade = quote(dist.score_column), quote(dist.grade_column)
        selects += [f"avg({score})", f"count(distinct {score})"]
        selects += [f"sum(case when {grade} = ? then 1 else 0 end)" for _ in dist.grades]
    fresh = contract.freshness if contract.freshness and contract.freshness.column in columns else None
    if fresh is not None:
        selects.append(f"max({quote(fresh.column)})")
    params = list(dist.grades) if dist_ok and dist is not None else []
    row = warehouse.query(f"select {', '.join(selects)} from {relation}", params)[0]
    row_count = int(row[0])
    mean_score = shares = None
    if dist_ok and dist is not None:
        mean_score = float(row[1]) if row[1] is not None else None
        counts = [int(v or 0) for v in row[3 : 3 + len(dist.grades)]]
        shares = {g: (c / row_count if row_count else 0.0) for g, c in zip(dist.grades, counts, strict=True)}
    profile = Profile(row_count, mean_score, shares)

    if contract.row_count is not None:
        failures += _row_count(contract, row_count, baseline)
        evaluated += 1
    if dist_ok and dist is not None and row_count >= dist.min_rows:
        evaluated += 2
        failures += _distribution(contract, profile, int(row[2]), baseline)
    if fresh is not None:
        evaluated += 1
        failure = _freshness(fresh, row[-1])
        if failure is not None:
            failures.append(failure)
    for rule in contract.excludes:
        if rule.column in columns:
            evaluated += 1
            failures += _exclusion(warehouse, contract, relation, rule)
    return TableFacts(columns, profile, failures, evaluated)


def duplicate_values(
    warehouse: Reads, schema: str, table: str, column: str, severity: Severity
) -> list[ExpectationFailure]:
    """Uniqueness over the whole table, counted like GX does (every row sharing a value)."""
    relation, col = f"{quote(schema)}.{quote(table)}", quote(column)
    dupes = (
        f"select {col} as v, count(*) as n from {relation} where {col} is not null group by {col} having count(*) > 1"
    )
    total = warehouse.query(f"select coalesce(sum(n), 0) from ({dupes}) as d")[0][0]
    if not total:
        return []
    sample = [mask_value(v, column) for (v,) in warehouse.query(f"select v from ({dupes}) as d order by v limit 5")]
    return [
        ExpectationFailure("expect_column_values_to_be_unique", column, None, int(total), sample, severity=severity)
    ]


def _exclusion(warehouse: Reads, contract: Contract, relation: str, rule: ExclusionRule) -> list[ExpectationFailure]:
    logical_schema, table = rule.table.split(".")
    schema = warehouse.schema(logical_schema)  # the tenant's own erasure list
    if not warehouse.table_exists(schema, table):
        if rule.optional_table:
            return []
        raise LookupError(f"excludes: table {rule.table} does not exist")
    column = quote(rule.column)
    other = f"{quote(schema)}.{quote(table)}"
    sql = (
        f"select {column} from {relation} where {column} in "
        f"(select {quote(rule.match)} from {other} where {rule.where})"
    )
    hits = warehouse.query(f"select count(*) from ({sql}) as hits")[0][0]
    if not hits:
        return []
    sample = [mask_value(row[0], rule.column) for row in warehouse.query(f"{sql} order by 1 limit 5")]
    return [
        ExpectationFailure(
            "expect_no_" + re.sub(r"[^a-z0-9]+", "_", rule.why.lower()).strip("_"),
            rule.column,
            f"{hits} row(s) point at a {rule.why} in {rule.table}",
            int(hits),
            sample,
            severity=contract.severity_of(rule.severity),
        )
    ]


def _row_count(contract: Contract, row_count: int, baseline: Profile | None) -> list[ExpectationFailure]:
    rule = contract.row_count
    assert rule is not None
    severity = contract.severity_of(rule.severity)
    if row_count < rule.min_rows:
        return [ExpectationFailure("expect_table_row_count_to_be_between", None, row_count, None, severity=severity)]
    if baseline is None or baseline.row_count == 0:
        return []
    ratio = row_count / baseline.row_count
    low, high = rule.min_ratio, rule.max_ratio
    if (low is not None and ratio < low) or (high is not None and ratio > high):
        observed = f"{row_count} rows, {ratio:.0%} of the previous accepted load's {baseline.row_count}"
        return [ExpectationFailure("expect_table_row_count_within_history", None, observed, None, severity=severity)]
    return []


def _distribution(
    contract: Contract, profile: Profile, distinct_scores: int, baseline: Profile | None
) -> list[ExpectationFailure]:
    dist = contract.distribution
    assert dist is not None
    severity = contract.severity_of(dist.severity)
    failures = []
    if distinct_scores < dist.min_distinct_scores:
        observed = f"{distinct_scores} distinct score(s) over {profile.row_count} rows"
        failures.append(
            ExpectationFailure(
                "expect_column_unique_value_count_to_be_between", dist.score_column, observed, None, severity=severity
            )
        )
    if baseline is None or baseline.mean_score is None or profile.mean_score is None:
        return failures
    shift = profile.mean_score - baseline.mean_score
    if abs(shift) > dist.max_mean_shift:
        observed = (
            f"mean {profile.mean_score:.1f}, previous {baseline.mean_score:.1f} (max shift {dist.max_mean_shift:g})"
        )
        failures.append(
            ExpectationFailure(
                "expect_column_mean_within_previous_run", dist.score_column, observed, None, severity=severity
            )
        )
    before = baseline.grade_shares or {}
    moved = {
        grade: (share, before.get(grade, 0.0))
        for grade, share in (profile.grade_shares or {}).items()
        if abs(share - before.get(grade, 0.0)) > dist.max_share_shift
    }
    if moved:
        observed = "; ".join(f"{g}: {now:.0%} (was {was:.0%})" for g, (now, was) in sorted(moved.items()))
        failures.append(
            ExpectationFailure(
                "expect_grade_shares_within_previous_run", dist.grade_column, observed, None, severity=severity
            )
        )
    return failures


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _as_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _freshness(rule: FreshnessRule, newest: Any, now: datetime | None = None) -> ExpectationFailure | None:
    when = _as_datetime(newest)
    now = now or datetime.now(UTC)
    if when is None:
        observed = "no records" if newest is None else f"unreadable newest value {newest!r}"
        return ExpectationFailure(FRESHNESS, rule.column, observed, None, severity=rule.severity)
    age_days = (now - when).total_seconds() / 86400
    if age_days > rule.max_age_days:
        observed = f"newest {when.isoformat()} is {age_days:.0f} days old (max {rule.max_age_days:g})"
        return ExpectationFailure(FRESHNESS, rule.column, observed, None, severity=rule.severity)
    return None
