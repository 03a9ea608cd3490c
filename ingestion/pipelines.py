"""The dlt pipeline factory: every source loads into `bronze_<source>` of the configured warehouse."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dlt

from ingestion import environ_provider
from ingestion.collector import freeze_startup_heap, spaced_young_collections
from ingestion.load_recovery import redo_half_done_loads
from warehouse import Warehouse

# dlt phones home by default; a pipeline that runs in CI or on a closed network should not.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# dlt's Parquet files are scratch: written by extract and read once by the load on this machine,
# then deleted. Compressing them costs CPU on both sides and saves nothing (writing a 1M-event
# backlog's files took 1.4 s with snappy, 0.8 s without).
os.environ.setdefault("DATA_WRITER__COMPRESSION", "none")
# dlt's extract loop, once its last generator is exhausted, polls its (here always empty) pool of
# async items once more and sleeps `futures_poll_interval` before it notices it is done: 10 ms
# by default, paid at the end of every extract (the source's and the state's), some 20 ms a run,
# a twentieth of an incremental product load. A 1 ms poll costs nothing when nothing is pending.
os.environ.setdefault("EXTRACT__FUTURES_POLL_INTERVAL", "0.001")
# A merge loads its rows into `<dataset>_staging` first and leaves them there: a second, full copy
# of every merged row, personal data included, that an erasure would have to chase (issue 25).
# Truncated after each load, the staging tables hold nothing between loads.
os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")


class _KnownNoise(logging.Filter):
    """Drops dlt's per-column, per-run warning that DuckDB's TIMESTAMPTZ has no millisecond
    variant: microseconds hold every millisecond stamp exactly, so there is nothing to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "does not support both timezone and precision" not in record.getMessage()


logging.getLogger("dlt").addFilter(_KnownNoise())


def bronze_dataset(source_name: str) -> str:
    return f"bronze_{source_name}"


def pipelines_dir(warehouse: Warehouse) -> Path:
    """Local dlt working state, one folder per warehouse.

    The state that matters (incremental cursors) is restored from the destination on every
    run; keeping the scratch folders apart stops a DuckDB run and a Postgres run, or two test
    databases, from reading each other's pending packages.
    """
    if warehouse.is_duckdb:
        assert warehouse.path is not None
        # Tenants sharing the file by schema prefix keep their scratch folders apart too.
        return warehouse.path.parent / ".dlt" / "-".join(filter(None, (warehouse.path.stem, warehouse.schema_prefix)))
    data_dir = Path(os.environ.get("LEADLOOP_DATA_DIR", "data")).resolve()
    key = hashlib.sha1(warehouse.display.encode()).hexdigest()[:12]
    return data_dir / ".dlt" / f"{warehouse.database}-{key}"


def make_pipeline(source_name: str, warehouse: Warehouse) -> dlt.Pipeline:
    freeze_startup_heap()
    environ_provider.install()
    return dlt.pipeline(
        pipeline_name=f"leadloop_{source_name}",
        destination=warehouse.dlt_destination(),
        dataset_name=warehouse.schema(bronze_dataset(source_name)),
        pipelines_dir=str(pipelines_dir(warehouse)),
    )


@contextmanager
def load_pipeline(source_name: str, warehouse: Warehouse) -> Iterator[dlt.Pipeline]:
    """The pipeline for one load; on DuckDB the database stays open from its start to its end.

    Left to itself, dlt opens the DuckDB file whenever a step borrows a connection and closes
    it, checkpointing, whenever the last borrower gives it back: four or five times a run (state
    sync, package set-up, the jobs), 20-50 ms to open on this machine and a checkpoint at each
    close. One connection of ours held for the load keeps DuckDB's in-process database instance
    alive, so dlt's own connections (configured as always, by path) attach to it at no cost and
    the file is opened and checkpointed once. (Handing dlt the connection itself costs more: dlt
    then asks it for its file path at every one of some 56 configuration resolutions a run.)

    Only for the length of a load, because DuckDB admits one writing process: a connection kept
    between loads would lock out dbt and every other process. On Postgres this is the plain
    pipeline; its connections are dlt's to manage. On both, the cyclic collector runs less often
    for the load's length (`collector.spaced_young_collections`).

    A load the last run left half done is rolled back first and redone by this one
    (`load_recovery`): dlt alone would load its interrupted job a second time.
    """
    with spaced_young_collections():
        pipeline = make_pipeline(source_name, warehouse)  # creates the warehouse's folder
        redo_half_done_loads(pipeline, warehouse)
        try:
            if not warehouse.is_duckdb:
                yield pipeline
                return
            import duckdb

            limits = warehouse.duckdb_limits()
            held = duckdb.connect(str(warehouse.path))
            limits.apply(held)  # dlt's connections attach to this instance: its limits are theirs
            try:
                yield pipeline
            finally:
                held.close()
        finally:
            prune_loaded_packages(pipeline)


def prune_loaded_packages(pipeline: dlt.Pipeline) -> None:
    """Deletes the packages dlt has finished loading, and with them their job files.

    dlt keeps every loaded package's files on disk (`load/loaded/<load id>/`): a readable copy
    of every row it ever loaded, emails and phones included, that nothing reads again and no
    erasure reaches (issue 25: 3,000 emails of 2,903 people in one data dir). Packages still
    pending (extracted or normalized, not yet loaded) are left: `load_recovery` needs them.
    """
    from dlt.common.storages.load_storage import LoadStorage

    shutil.rmtree(Path(pipeline.working_dir) / "load" / LoadStorage.LOADED_FOLDER, ignore_errors=True)
