"""One identity run against the warehouse: read every person record from silver's staging views,
resolve them, and write the three identity tables, keeping erased people out.

The Dagster asset calls `run_identity` and reports what it returns; everything the run decides
lives here, so it can be run and tested with nothing but a warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from silver.erasure import anonymize_bronze, register_file_drops, registered_hashes
from silver.identity.incremental import NO_STATE, PAIRS_TABLE, STATE_TABLE, PredictionState, previous_profiles_sql
from silver.identity.phase_memory import phase, tracking
from silver.identity.records import empty, records_sql
from silver.identity.resolve import Resolution, resolve
from silver.identity.reused_keys import HASH_COLUMN
from silver.identity.saved_model import TABLE as MODEL_TABLE
from silver.identity.saved_model import SavedModel
from silver.identity.standardize import KEY_COLUMNS
from warehouse import Warehouse
from warehouse.duckdb_limits import DuckDBLimits

SCHEMA = "silver"
RECORDS_TABLE = "identity_records"
LINKS_TABLE = "identity_links"
SUPPRESSED_TABLE = "identity_suppressed_records"


@dataclass(frozen=True)
class IdentityRun:
    resolution: Resolution  # its records narrowed to what silver keeps (`person_records`)
    new_requests_from_files: int
    bronze_rows_blanked: dict[str, int]
    # The process's peak resident set in each phase of the run, MB (`phase_memory`).
    peak_rss_mb: dict[str, int]


def saved_model(store: Warehouse) -> SavedModel | None:
    """The last accepted trained match model kept in the warehouse, if any."""
    if not store.table_exists(store.schema(SCHEMA), MODEL_TABLE):
        return None
    return SavedModel.from_table(store.read_arrow(f"select * from {store.schema(SCHEMA)}.{MODEL_TABLE}"))


def previous_prediction(store: Warehouse) -> PredictionState | None:
    """What the last run kept of its scoring, with the profiles of the records it resolved."""
    schema = store.schema(SCHEMA)
    if not all(store.table_exists(schema, t) for t in (PAIRS_TABLE, STATE_TABLE, RECORDS_TABLE)):
        return None
    return PredictionState.from_tables(
        store.read_arrow(f"select * from {schema}.{STATE_TABLE}"),
        store.read_arrow(f"select profile_key_l, profile_key_r from {schema}.{PAIRS_TABLE}"),
        store.read_arrow(previous_profiles_sql(f"{schema}.{RECORDS_TABLE}")),
    )


def keys_before(store: Warehouse) -> pa.Table | None:
    """The last run's records with their match keys and the hash of what made them (`reused_keys`);
    None before the first run, or when that run kept no hash."""
    schema = store.schema(SCHEMA)
    found = store.query(
        "select count(*) from information_schema.columns where table_schema = ? and table_name = ? and column_name = ?",
        [schema, RECORDS_TABLE, HASH_COLUMN],
    )
    if not found[0][0]:
        return None
    columns = ", ".join(["record_key", HASH_COLUMN, *KEY_COLUMNS])
    return store.read_arrow(f"select {columns} from {schema}.{RECORDS_TABLE}")


def run_identity(store: Warehouse, landing_url: str, rebuild: bool = False) -> IdentityRun:
    """Resolves everyone, replacing the identity tables; erasure requests dropped as files in
    `landing_url` are registered first, so they take effect in this very run.

    The match model the last run trained is used again while the data has not moved much
    (`saved_model`), and only the pairs whose score may have moved since the last run are scored
    (`incremental`); `rebuild` (a full run) trains the model anew whatever was kept and scores
    every pair."""
    with tracking() as peaks:
        with phase("read"):
            new_requests = register_file_drops(store, landing_url)
            erased = registered_hashes(store)
            earlier = (
                store.read_arrow(f"select record_key, source, source_id from {store.schema(SCHEMA)}.{SUPPRESSED_TABLE}")
                if store.table_exists(store.schema(SCHEMA), SUPPRESSED_TABLE)
                else None
            )
            # Resolution's in-memory DuckDB takes the warehouse's limits and spills beside its file.
            limits = store.duckdb_limits() if store.is_duckdb else DuckDBLimits.from_env()
            # In the records' own types: from Postgres a column no row fills (a tenant without
            # phones) comes back typeless, which standardizing cannot read.
            records = store.read_arrow(records_sql(store.schema(SCHEMA))).cast(empty().schema)
        with phase("resolve"):
            resolution = resolve(
                records,
                erased=erased,
                suppressed=earlier,
                limits=limits,
                saved_model=None if rebuild else saved_model(store),
                retrain_reason="a full run trains the model anew" if rebuild else None,
                previous=None if rebuild else (lambda: previous_prediction(store)),
                # A full run standardizes every record anew; any other reuses unchanged records' keys.
                keys_before=None if rebuild else (lambda: keys_before(store)),
            )
        # Through the write only what silver keeps is held: the records as read, and the raw and
        # standardizing columns beside the person ids, go first, and Arrow's pool gives their
        # pages back. At 1M leads they were held through it, and the write held identity's peak.
        del records
        with phase("narrow"):
            resolution.records = resolution.person_records()
            pa.default_memory_pool().release_unused()
        with phase("write"):
            tables = {
                RECORDS_TABLE: resolution.records,
                LINKS_TABLE: resolution.links,
                SUPPRESSED_TABLE: resolution.suppressed,
            }
            if (kept := resolution.model.to_keep) is not None:  # trained and accepted in this run
                tables[MODEL_TABLE] = kept.as_table()
            # Without what this run scored, the next scores every pair (an empty state is no state).
            tables.update(resolution.model.to_carry.as_tables() if resolution.model.to_carry else NO_STATE)
            # One transaction: a run that dies here leaves the last run's tables, never new records
            # beside old links, an old suppression list or a model that did not make these links.
            store.replace_tables(store.schema(SCHEMA), tables)
        with phase("anonymize bronze"):
            blanked = anonymize_bronze(store, resolution.suppressed, erased)
    return IdentityRun(resolution, new_requests, blanked, peaks.peaks_mb())
