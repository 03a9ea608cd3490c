"""Redoing a load that was killed inside dlt's load step, instead of letting dlt finish it.

dlt loads a package job by job, each job its own transaction, and records a job as done only
after the warehouse committed it. A process killed between the two (SIGKILL, OOM, a lost pod)
leaves a committed job that dlt still lists as started, and the next run loads that job again.
For a `merge` table that is harmless (the merge is keyed), but our sources load a table's very
first batch with `append` (half the time of a merge, see `ingestion.salesforce`) and HubSpot's
owners with `replace`: there the second copy of the job doubles its rows (issue 25: 15,426
duplicate bronze rows in 6 of 24 crashed first loads, which then failed dbt's uniqueness tests
and stopped the loop).

So before a load, a package that a previous run left unfinished in the warehouse (normalized,
possibly partly loaded, and not in `_dlt_loads`) is rolled back and redone from the source:
- every `append` or `replace` table it writes is emptied. Our sources append only into an empty
  table (a first load: the resource has no cursor or loaded files yet) and `replace` rewrites
  the whole table, so empty is exactly what the table held before the package;
- its `_dlt_pipeline_state` row is deleted (dlt ignores it anyway: its load never completed);
- the pipeline's local working folder is dropped, so the run restores its state (cursors,
  loaded files) from the last *completed* load in the warehouse and reads the same rows again.
`merge` tables are left as they are: the redo merges the same rows onto themselves.

A package already in `_dlt_loads` was completely loaded (the process died while dlt archived
it); it is left to dlt, which finishes archiving it without loading anything again.

On the happy path this costs one listing of the pipeline's local folder (no package pending).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import dlt

from warehouse import Warehouse

logger = logging.getLogger(__name__)

_STATE_TABLE = "_dlt_pipeline_state"
_LOADS_TABLE = "_dlt_loads"
_ROLLED_BACK = ("append", "replace")


@dataclass
class Recovery:
    """What `redo_half_done_loads` undid: the packages and the tables it emptied."""

    load_ids: list[str] = field(default_factory=list)
    emptied_tables: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.load_ids)


def redo_half_done_loads(pipeline: dlt.Pipeline, warehouse: Warehouse) -> Recovery:
    """Rolls back every package the last run left unfinished and resets the pipeline's local
    state to the warehouse's, so this run loads those rows once. Returns what it undid."""
    recovery = Recovery()
    pending = list(pipeline.list_normalized_load_packages())
    if not pending:
        return recovery
    dataset = pipeline.dataset_name
    completed = _completed_load_ids(warehouse, dataset, pending)
    for load_id in pending:
        if load_id in completed:
            continue
        info = pipeline.get_load_package_info(load_id)
        tables = {job.job_file_info.table_name for jobs in info.jobs.values() for job in jobs}
        to_empty = sorted(
            t
            for t in tables
            if not t.startswith("_dlt") and info.schema.tables.get(t, {}).get("write_disposition") in _ROLLED_BACK
        )
        _roll_back(warehouse, dataset, load_id, to_empty)
        recovery.load_ids.append(load_id)
        recovery.emptied_tables.extend(f"{dataset}.{t}" for t in to_empty)
    if recovery:
        logger.warning(
            "%s: the last load was interrupted (package %s); redoing it from the last completed load "
            "(emptied first-load tables: %s)",
            pipeline.pipeline_name,
            ", ".join(recovery.load_ids),
            ", ".join(recovery.emptied_tables) or "none",
        )
        # Local state, schemas and pending packages go; the run restores them from the warehouse.
        pipeline.drop()
    return recovery


def _completed_load_ids(warehouse: Warehouse, dataset: str, load_ids: list[str]) -> set[str]:
    if not warehouse.table_exists(dataset, _LOADS_TABLE):
        return set()
    marks = ", ".join("?" for _ in load_ids)
    rows = warehouse.query(f'select load_id from "{dataset}"."{_LOADS_TABLE}" where load_id in ({marks})', load_ids)
    return {row[0] for row in rows}


def _roll_back(warehouse: Warehouse, dataset: str, load_id: str, tables: list[str]) -> None:
    """Empties `tables` and deletes the package's state row. Idempotent: killed half way, the next
    run finds the same package pending (the local folder is dropped only after this) and repeats it."""
    existing = {
        row[0]
        for row in warehouse.query("select table_name from information_schema.tables where table_schema = ?", [dataset])
    }
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for table in tables:
            if table in existing:
                cur.execute(f'delete from "{dataset}"."{table}"')
        if _STATE_TABLE in existing:
            cur.execute(
                warehouse.adapt_sql(f'delete from "{dataset}"."{_STATE_TABLE}" where _dlt_load_id = ?'), [load_id]
            )
