"""The sandbox stores' one savepoint helper: a batch commits as one, a failed batch leaves
nothing, and a batch nested in another rolls back alone."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from sandbox.savepoint import savepoint


def _conn(tmp_path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(tmp_path / "store.sqlite"), isolation_level=None)
    conn.execute("create table t (v integer)")
    return conn


def _values(tmp_path) -> list[int]:
    # A second connection sees only what was committed.
    other = sqlite3.connect(str(tmp_path / "store.sqlite"))
    values = [v for (v,) in other.execute("select v from t order by v")]
    other.close()
    return values


def test_a_batch_commits_at_its_end_and_a_failed_one_leaves_nothing(tmp_path):
    conn = _conn(tmp_path)
    with savepoint(conn, "batch", threading.Lock()):
        conn.execute("insert into t values (1)")
        assert _values(tmp_path) == []  # not yet committed
    assert _values(tmp_path) == [1]
    with pytest.raises(ValueError), savepoint(conn, "batch"):
        conn.execute("insert into t values (2)")
        raise ValueError("a bad input")
    assert _values(tmp_path) == [1]
    assert not conn.in_transaction


def test_a_nested_batch_that_fails_rolls_back_alone(tmp_path):
    conn = _conn(tmp_path)
    with savepoint(conn, "day"):
        conn.execute("insert into t values (1)")
        with pytest.raises(ValueError), savepoint(conn, "batch"):
            conn.execute("insert into t values (2)")
            raise ValueError("a bad input")
        conn.execute("insert into t values (3)")
    assert _values(tmp_path) == [1, 3]
