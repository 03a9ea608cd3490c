"""The local Dagster instance's event log: Dagster's SQLite storage, minus a connection per event.

Dagster's `SqliteEventLogStorage` opens a new engine and connection for every statement
(`NullPool`) and SQLite commits each with an fsync. A lead loop writes ~1,700 events (every
planned materialization and check, every dbt node's check result), and on this machine that was
36 ms an event: a quarter of the demo's wall time went to its own event log, half a minute of it
before the first step started. This storage keeps a few engines open per process (the index
shard and the runs it wrote last) and commits in SQLite's WAL mode with `synchronous=NORMAL`,
which is still atomic and consistent across processes (the webserver, the daemon and run workers
read the same files) and loses at most the last commits on a power cut, never on a crash of the
process: 4 ms an event (`tests/integration/test_local_event_log.py`).

Used by the data dir's Dagster home (`orchestration/paths.py` writes its `dagster.yaml`); a
deployment's instance keeps its own storage (docs/deploy/dagster.yaml: Postgres).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# Engines kept open per process: the index shard and the last runs written or read.
OPEN_SHARDS = 8
BUSY_TIMEOUT_SECONDS = 30  # as Dagster's own: a writer in another process holds the lock briefly


class LocalSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with pooled connections and WAL commits without an fsync each."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> LocalSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():  # a forked child must not share its parent's sockets
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(self.conn_string_for_shard(shard), connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _commit_without_fsync)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def _close_engines(self) -> None:
        while self._engines:
            _, engine = self._engines.popitem()
            engine.dispose()

    def wipe(self) -> None:
        # Wiping deletes the shards' files: no connection may keep writing to an unlinked file.
        with self._db_lock:
            self._close_engines()
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
            if engine is not None:
                engine.dispose()

    def dispose(self) -> None:
        with self._db_lock:
            self._close_engines()
        super().dispose()


def _commit_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    """WAL mode (Dagster sets it on each shard) with NORMAL sync: commits reach the WAL, which is
    synced at checkpoints."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
