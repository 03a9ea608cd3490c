"""Quarantine: where a row that breaks its source's contract goes instead of being dropped.

Every bronze table `<table>` may have a sibling `<table>_quarantine` in the same dataset, one
row per rejected input row, carrying enough to find and replay it: where it came from
(`source`: a file URL or an API page), its 1-based `row_number` there, the untouched
`raw_payload` as text, and a human-readable `reason`. A source reconciles per run as
read = loaded + quarantined.

The suffix is `_quarantine`, not `__quarantine`: dlt reads a double underscore as a nested
(child) table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

SUFFIX = "_quarantine"
SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("row_number", pa.int64(), nullable=False),
        pa.field("raw_payload", pa.string(), nullable=True),
        pa.field("reason", pa.string(), nullable=False),
    ]
)
# dlt column hints for a quarantine resource: the four columns above, typed.
COLUMNS = {
    "source": {"data_type": "text", "nullable": False},
    "row_number": {"data_type": "bigint", "nullable": False},
    "raw_payload": {"data_type": "text", "nullable": True},
    "reason": {"data_type": "text", "nullable": False},
}
PRIMARY_KEY = ("source", "row_number")
# Where a resource leaves its last run's {"read", "loaded", "quarantined"} counts in its dlt
# state, for the Dagster materialization and for tests that reconcile them.
RUN_COUNTS_STATE = "last_run"
# And, for a file source, the same per landed file of the run: {file: {"read", "loaded",
# "quarantined", "duplicates"}}, plus "refused": the reason, for a file quarantined whole.
FILE_COUNTS_STATE = "last_run_files"


def count_files(
    per_file: dict[str, dict[str, Any]],
    names: Iterable[str],
    read: pa.Table,
    loaded: pa.Table,
    rejected: Iterable[Rejected],
    file_column: str = "source_file",
) -> None:
    """Adds one parsed batch to `per_file`: `read` holds its parsed rows and `loaded` those kept
    (each row naming its file in `file_column`), `rejected` its quarantined rows. Every name in
    `names` gets an entry, so a file with no rows shows its zeros. Per file, as per run,
    read = loaded + quarantined + duplicates (a row another file or an earlier row already had)."""
    import pyarrow.compute as pc

    def tally(table: pa.Table, key: str) -> None:
        for entry in pc.value_counts(table[file_column].cast(pa.string())).to_pylist():
            _entry(per_file, entry["values"])[key] += entry["counts"]

    for name in names:
        _entry(per_file, name)
    tally(read, "read")
    tally(loaded, "loaded")
    for row in rejected:
        entry = _entry(per_file, row.source)
        entry["read"] += 1
        entry["quarantined"] += 1
    for entry in per_file.values():
        entry["duplicates"] = entry["read"] - entry["loaded"] - entry["quarantined"]


def count_refused_file(per_file: dict[str, dict[str, Any]], name: str, reason: str) -> None:
    """Records a file quarantined whole: no row of it was read."""
    _entry(per_file, name)["refused"] = reason


def _entry(per_file: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return per_file.setdefault(name, {"read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0})


def quarantine_table(table: str) -> str:
    return f"{table}{SUFFIX}"


@dataclass(frozen=True)
class Rejected:
    source: str
    row_number: int
    raw_payload: str | None
    reason: str


def to_arrow(rows: Iterable[Rejected]) -> pa.Table:
    rows = list(rows)
    return pa.table(
        {
            "source": [r.source for r in rows],
            "row_number": [r.row_number for r in rows],
            "raw_payload": [r.raw_payload for r in rows],
            "reason": [r.reason for r in rows],
        },
        schema=SCHEMA,
    )


def hinted(rows: pa.Table, table: str) -> Any:
    """Quarantine rows as a dlt item bound for `<table>_quarantine`, merged on (source, row)."""
    import dlt

    return dlt.mark.with_hints(
        rows,
        dlt.mark.make_hints(
            table_name=quarantine_table(table),
            primary_key=list(PRIMARY_KEY),
            write_disposition="merge",
            columns=COLUMNS,
        ),
        # A variant: the hints apply to the quarantine table only. Without it they would replace
        # the resource's own table name, and its next rows would land in quarantine.
        create_table_variant=True,
    )


# A file that cannot be read at all (undecodable, truncated, not the declared format, a field
# beyond the size limit) is quarantined whole, once, in its dataset's `file_quarantine` table:
# the rows it holds are unknown, so it cannot be split into good and bad rows. The file itself
# stays where it landed; the row names it, its content hash and size, the table it was bound
# for and why it was refused. The source's other files load as usual.
FILE_TABLE = "file_quarantine"
FILE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("size_bytes", pa.int64(), nullable=False),
        pa.field("bound_for", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)
FILE_COLUMNS = {
    "source": {"data_type": "text", "nullable": False},
    "sha256": {"data_type": "text", "nullable": False},
    "size_bytes": {"data_type": "bigint", "nullable": False},
    "bound_for": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
}
FILE_PRIMARY_KEY = ("source", "sha256")


@dataclass(frozen=True)
class RejectedFile:
    source: str
    sha256: str
    size_bytes: int
    bound_for: str
    reason: str


def files_hinted(files: Iterable[RejectedFile]) -> Any:
    """Rejected files as a dlt item bound for `file_quarantine`, merged on (source, sha256)."""
    import dlt

    files = list(files)
    rows = pa.table({name: [getattr(f, name) for f in files] for name in FILE_SCHEMA.names}, schema=FILE_SCHEMA)
    return dlt.mark.with_hints(
        rows,
        dlt.mark.make_hints(
            table_name=FILE_TABLE, primary_key=list(FILE_PRIMARY_KEY), write_disposition="merge", columns=FILE_COLUMNS
        ),
        create_table_variant=True,
    )
