"""One SQLite savepoint helper for the sandbox's stores: a batch of writes as one commit, and
nestable, which `begin`/`commit` is not (a store's batch can run inside a simulated day's)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str, lock: AbstractContextManager | None = None) -> Iterator[None]:
    """Everything written inside as one commit (or, nested, as part of the outer one); undone
    on any exception, which is raised again. `lock` is held throughout when the connection is
    shared between threads. Outside a transaction SQLite starts one at the savepoint and
    commits it at the release; the connection must be in autocommit mode
    (`isolation_level=None`) for Python's sqlite3 not to open its own around it."""
    with lock if lock is not None else nullcontext():
        conn.execute(f"savepoint {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"rollback to {name}")
            conn.execute(f"release {name}")
            raise
        conn.execute(f"release {name}")
