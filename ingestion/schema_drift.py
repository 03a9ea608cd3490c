"""Schema drift: what a source may change about its shape without a person deciding.

- A new column is added (dlt evolves the table) and reported as a warning with the run.
- A retyped column stops the load: dlt's `data_type: freeze` contract raises before anything
  is written, naming the table, the column, and both types.
- A removed column stops the load too (`SchemaDriftError`): merging rows without it would
  null it for every changed record, silently.
"""

from __future__ import annotations

from typing import Any

import dlt

# Every bronze resource loads under this contract.
SCHEMA_CONTRACT: dict[str, str] = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}
_DLT_COLUMNS = {"_dlt_load_id", "_dlt_id"}


class SchemaDriftError(RuntimeError):
    """A source dropped columns that bronze still has; the message says which and what to do."""


def known_columns(pipeline: dlt.Pipeline | None = None) -> dict[str, set[str]]:
    """Bronze's current columns per table (normalized names), from the pipeline's schema; empty
    before the first load."""
    try:
        pipeline = pipeline or dlt.current.pipeline()
        if not pipeline.default_schema_name:
            return {}
        schema = pipeline.schemas[pipeline.default_schema_name]
    except Exception:  # no active pipeline or no schema yet: nothing is known, nothing can drift
        return {}
    return {
        name: set(table.get("columns", {})) - _DLT_COLUMNS
        for name, table in schema.tables.items()
        if not name.startswith("_dlt")
    }


def check_no_removed_columns(source: str, table: str, incoming: list[str], known: dict[str, set[str]]) -> None:
    """Raises when columns bronze has are missing from what the source now sends."""
    if table not in known:
        return
    schema = dlt.current.pipeline().default_schema if known else None
    # Arrow column names are normalized as paths: `Lead_Score__c` stays `lead_score__c`.
    normalize = schema.naming.normalize_path if schema is not None else str
    missing = sorted(known[table] - {normalize(name) for name in incoming})
    if missing:
        raise SchemaDriftError(
            f"{source} `{table}` no longer sends column(s) {', '.join(missing)}, which bronze still has. "
            "Loading now would null them for every changed record. If the removal is intended, drop the "
            f"column(s) from the bronze table (or reset the `{table}` resource with a full refresh); "
            "otherwise restore the field in the source."
        )


def added_columns(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    """Columns that appeared in tables that already existed: the drift worth a warning (a new
    table's columns are its first load, not drift)."""
    return {
        table: sorted(columns - before[table])
        for table, columns in after.items()
        if table in before and columns - before[table]
    }


def drift_metadata(added: list[str]) -> dict[str, Any]:
    return {"schema_drift": f"new column(s) added: {', '.join(added)}"} if added else {}
