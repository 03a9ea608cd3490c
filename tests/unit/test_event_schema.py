"""The event contract, line by line: what upgrades, what is refused and why."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow.compute as pc
import pytest

from ingestion.web_events import EventError, first_occurrences, parse_file, parse_files, upgrade

V2 = {
    "schema_version": 2,
    "event_id": "e1",
    "event_type": "form_fill",
    "occurred_at": "2026-11-01T10:00:00.250Z",
    "email": "a@b.com",
    "anonymous_id": "anon",
    "properties": {"form": "contact"},
    "context": {"ip": "203.0.113.1"},
}


def test_v1_is_upgraded_to_v2():
    event = upgrade(
        {"schema_version": 1, "id": "e0", "type": "page_view", "ts": 1793527200, "anon_id": "x", "props": {"path": "/"}}
    )
    assert event["event_id"] == "e0" and event["event_type"] == "page_view"
    assert event["occurred_at"] == datetime.fromtimestamp(1793527200, UTC)
    assert event["anonymous_id"] == "x" and json.loads(event["properties"]) == {"path": "/"}
    assert event["schema_version"] == 1 and event["email"] is None


def test_v2_timestamps_become_utc():
    assert upgrade(dict(V2))["occurred_at"] == datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"schema_version": 3}, "unknown schema_version 3"),
        ({"event_id": None}, "missing required field event_id"),
        ({"event_type": "teleport"}, "unknown event_type 'teleport'"),
        ({"occurred_at": "yesterday"}, "field occurred_at is not an ISO-8601 timestamp: 'yesterday'"),
        ({"occurred_at": 1793527200}, "field occurred_at is not an ISO-8601 string"),
        ({"email": 42}, "field email is not a string"),
        ({"properties": [1, 2]}, "field properties is not an object"),
    ],
)
def test_contract_breaks_have_a_reason(change, reason):
    with pytest.raises(EventError, match=reason.replace("(", r"\(")):
        upgrade({**V2, **change})


def test_a_file_splits_into_events_and_rejects_with_line_numbers():
    lines = [json.dumps(V2), '{"schema_version": 2, "event_id": "e2"', "", json.dumps({**V2, "event_id": "e3"})]
    table, rejected, extra = parse_file("\n".join(lines).encode(), "web_events/2026-11-01/events-1.jsonl")
    assert table.column("event_id").to_pylist() == ["e1", "e3"]
    assert table.column("line_number").to_pylist() == [1, 4]
    assert [(r.row_number, r.reason.split(":")[0]) for r in rejected] == [(2, "invalid JSON")]
    assert rejected[0].raw_payload == lines[1] and extra == {}


def test_a_retried_event_is_kept_once_at_its_first_line():
    first = json.dumps(V2)
    retry = json.dumps({**V2, "properties": {"form": "retry"}})
    other = json.dumps({**V2, "event_id": "e9"})
    table, rejected = parse_files([("a.jsonl", f"{first}\n{other}\n".encode()), ("b.jsonl", f"{retry}\n".encode())])
    seen: set[str] = set()
    unique = first_occurrences(table, seen)
    assert seen == {"e1", "e9"}  # the run remembers what it loaded, for its later batches
    assert sorted(unique.column("event_id").to_pylist()) == ["e1", "e9"] and not rejected
    kept = unique.filter(pc.equal(unique["event_id"], "e1"))
    assert kept.column("source_file").to_pylist() == ["a.jsonl"]
    assert json.loads(kept.column("properties")[0].as_py()) == {"form": "contact"}
    # An id an earlier batch of the run already loaded is not loaded again.
    later = first_occurrences(table, {"e9"})
    assert later.column("event_id").to_pylist() == ["e1"]


def test_clean_and_upgraded_lines_come_out_alike():
    v1 = {"schema_version": 1, "id": "e0", "type": "page_view", "ts": 1793527200, "props": {"b": 1, "a": "é"}}
    clean = {**V2, "properties": {"b": 1, "a": "é"}}
    table, _ = parse_files([("a.jsonl", (json.dumps(v1) + "\n" + json.dumps(clean) + "\r\n\n").encode())])
    rows = {r["event_id"]: r for r in table.to_pylist()}
    assert rows["e0"]["properties"] == rows["e1"]["properties"] == '{"b":1,"a":"é"}'
    assert rows["e1"]["occurred_at"] == datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert rows["e1"]["context"] == '{"ip":"203.0.113.1"}' and rows["e0"]["context"] is None
    assert [rows[e]["line_number"] for e in ("e0", "e1")] == [1, 2]


def test_old_tracker_lines_typed_in_sql_match_the_python_upgrade():
    """Clean version-1 lines are typed by DuckDB; each must come out exactly as `upgrade` makes
    it, and the lines SQL leaves alone (fractional seconds, stamps past year 9999, an explicit
    null version) still get Python's answer."""
    base = {"id": "e1", "type": "page_view", "ts": 1793527200, "user_email": "a@b.com", "anon_id": "x"}
    lines = [
        {**base, "schema_version": 1, "props": {"path": "/é", "n": [1, {"k": None}]}},
        {**base, "id": "e2", "props": None},  # no schema_version: the old tracker's default
        {**base, "id": "e3", "user_email": None, "anon_id": None},
        {**base, "id": "e4", "ts": 1793527200.5},  # fractional: Python's path
        {**base, "id": "e5", "ts": 10**13},
        {**base, "id": "e6", "schema_version": None},
    ]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    table, rejected = parse_files([("a.jsonl", text)])
    rows = {r["event_id"]: r for r in table.to_pylist()}
    assert sorted(rows) == ["e1", "e2", "e3", "e4"]
    for line in lines[:4]:
        expected = upgrade(json.loads(json.dumps(line)))
        got = rows[line["id"]]
        assert {k: got[k] for k in expected if k in got} == {k: v for k, v in expected.items() if k in got}
    assert [(r.row_number, r.reason) for r in rejected] == [
        (5, "field ts is out of range: 10000000000000"),
        (6, "unknown schema_version None"),
    ]


def test_batches_checked_on_cursors_of_one_database_from_several_threads_match_their_own_instance():
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    broken = "{not json"
    files = [[(f"day{n}/a.jsonl", f"{json.dumps({**V2, 'event_id': f'e{n}'})}\n{broken}\n".encode())] for n in range(8)]
    alone = [parse_files(batch) for batch in files]
    with duckdb.connect() as database, ThreadPoolExecutor(max_workers=4) as pool:
        shared = list(pool.map(lambda batch: parse_files(batch, database), files))
    for n, ((table, rejected), (own_table, own_rejected)) in enumerate(zip(shared, alone, strict=True)):
        assert table.column("event_id").to_pylist() == [f"e{n}"]
        assert table.equals(own_table)
        assert [(r.source, r.row_number) for r in rejected] == [(f"day{n}/a.jsonl", 2)]
        assert [r.reason for r in rejected] == [r.reason for r in own_rejected]
