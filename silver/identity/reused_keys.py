"""Match keys carried over from the last run for records whose inputs did not change.

Standardizing is a function of one record's own fields (and of the rules that read them), so a
record the last run standardized from the same fields has the same keys now. At 1M leads
standardizing every record took 43 s of an 86 s identity step on a day that changed 1 % of them
(issue 24); most of it is `phonenumbers` parsing phones that were parsed yesterday.

A record's fields are summed up by `input_hash`: DuckDB's 64-bit hash of the fields standardizing
reads, salted with what else decides the keys (this module's and `standardize`'s source, the
`phonenumbers` release, the default country). Change any of them and every hash moves, so every
record is standardized again: a fix to a rule reaches every record without a flag to remember.
A hash that DuckDB computes differently after an upgrade costs one full standardization, never a
wrong key. The hash is kept in `identity_records` beside the keys it produced, in the same
transaction, so keys and hash never disagree; a record of an erased person is not in that table
at all, so nothing of it is carried.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Callable

import duckdb
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from silver.identity import standardize as rules
from silver.identity.standardize import KEY_COLUMNS

# What standardizing reads of a record, in a fixed order (the hash combines them in order).
INPUT_COLUMNS = ("first_name", "last_name", "email", "phone", "street", "city", "postal_code", "country", "company")
HASH_COLUMN = "input_hash"
BEFORE_SCHEMA = pa.schema(
    [pa.field("record_key", pa.string()), pa.field(HASH_COLUMN, pa.int64())]
    + [pa.field(name, pa.string()) for name in KEY_COLUMNS]
)

# The last run's `record_key`, `input_hash` and key columns, or what reads them when needed.
Before = pa.Table | Callable[[], pa.Table | None] | None


def salt() -> str:
    """Everything besides a record's fields that decides its keys."""
    parts = [inspect.getsource(rules), inspect.getsource(sys.modules[__name__]), phonenumbers.__version__]
    parts.append(rules.default_country())
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def input_hashes(records: pa.Table) -> pa.Array:
    """One signed 64-bit hash per record of the fields standardizing reads (`INPUT_COLUMNS`).
    Signed, so Postgres's `bigint` holds it as DuckDB's does."""
    fields = records.select(list(INPUT_COLUMNS))
    with duckdb.connect() as con:
        con.register("fields", fields)
        # DuckDB's hash is unsigned; one bit less fits a bigint. The salt (hex digits) is the first value hashed.
        columns = ", ".join(f'"{name}"' for name in INPUT_COLUMNS)
        result = con.sql(f"select (hash('{salt()}', {columns}) >> 1)::bigint as h from fields").to_arrow_table()
    return result.column("h").combine_chunks() if result.num_rows else pa.array([], pa.int64())


def standardize_reusing(records: pa.Table, before: Before = None) -> tuple[pa.Table, int]:
    """`standardize(records)` plus `input_hash`, taking the keys of every record whose hash the last
    run also had from `before` instead of computing them again. Returns the table and how many
    records were standardized anew."""
    hashes = input_hashes(records)
    before = before() if callable(before) else before
    if before is not None:  # as the warehouse gave them back: strings of either width, a hash of any int
        before = before.select(["record_key", HASH_COLUMN, *KEY_COLUMNS]).cast(BEFORE_SCHEMA)
    if before is None or not before.num_rows:
        return rules.standardize(records).append_column(HASH_COLUMN, hashes), records.num_rows
    at = pc.index_in(records["record_key"], value_set=before["record_key"].combine_chunks())
    kept_hash = before[HASH_COLUMN].combine_chunks().take(at)
    same = pc.fill_null(pc.equal(kept_hash, hashes), False)
    if not pc.any(same).as_py():
        return rules.standardize(records).append_column(HASH_COLUMN, hashes), records.num_rows
    changed = pc.invert(same)
    out = rules.blank_erased(records)
    fresh = rules.match_keys(out.filter(changed))
    # Row i of the changed records' keys sits at (number of changed rows up to i) - 1.
    position = pc.subtract(pc.cumulative_sum(changed.cast(pa.int64())), 1)
    fresh_at = pc.if_else(changed, position, pa.scalar(None, pa.int64()))
    for name in KEY_COLUMNS:
        carried = before[name].combine_chunks().take(at)
        out = out.append_column(name, pc.if_else(same, carried, fresh[name].take(fresh_at)))
    del before
    return out.append_column(HASH_COLUMN, hashes), pc.sum(changed).as_py() or 0
