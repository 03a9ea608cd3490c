"""The Salesforce sandbox's new record ids: each follows the last row's, across a restart of the
store and past rows a delete only flagged, so no two records of an object ever share an id; and a
failed insert leaves no transaction open."""

from __future__ import annotations

import sqlite3

import pytest

from sandbox.salesforce.schema import LEAD, TASK
from sandbox.salesforce.store import Store, make_id


def _task(store: Store, subject: str) -> str:
    record_id = store.next_id(TASK)
    store.insert_many(
        TASK, [{f.name: None for f in TASK.fields} | {"Id": record_id, "IsDeleted": 0, "Subject": subject}]
    )
    return record_id


def test_ids_follow_the_last_row_through_deletes_and_a_restart(tmp_path):
    path = tmp_path / "salesforce.sqlite"
    store = Store(path)
    first = [_task(store, f"call {n}") for n in range(3)]
    assert first == [make_id(TASK.key_prefix, n) for n in (1, 2, 3)]
    # A delete flags the row and keeps it: the next id still moves past it.
    store.update(TASK, first[-1], {"IsDeleted": 1})
    assert _task(store, "call 3") == make_id(TASK.key_prefix, 4)
    store.close()

    reopened = Store(path)
    assert _task(reopened, "call 4") == make_id(TASK.key_prefix, 5)
    ids = [row["Id"] for row in reopened.select('select "Id" from "Task"', [])]
    assert len(ids) == len(set(ids)) == 5
    # Another object counts its own rows.
    assert reopened.next_id(LEAD) == make_id(LEAD.key_prefix, 1)
    reopened.close()


def test_a_failed_insert_leaves_nothing_open_and_later_writes_commit(tmp_path):
    path = tmp_path / "salesforce.sqlite"
    store = Store(path)
    taken = _task(store, "call 0")
    with pytest.raises(sqlite3.IntegrityError):  # the same Id again
        store.insert_many(TASK, [{f.name: None for f in TASK.fields} | {"Id": taken, "IsDeleted": 0}])
    assert not store.conn.in_transaction
    _task(store, "call 1")
    # Another connection sees the later write: it was committed, not held in a dangling savepoint.
    other = sqlite3.connect(str(path))
    assert other.execute('select count(*) from "Task"').fetchone() == (2,)
    other.close()
    store.close()
