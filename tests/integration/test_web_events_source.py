"""Web events from the landing folder into bronze: versioned schemas, quarantine with reconciled
counts against the generator's truth, files loaded once, schema drift reported."""

from __future__ import annotations

import csv
import json

import pytest

from ingestion.pipelines import make_pipeline
from ingestion.quarantine import RUN_COUNTS_STATE
from ingestion.web_events import web_events_source


def _load(warehouse, world_dir) -> dict[str, int]:
    pipeline = make_pipeline("web_events", warehouse)
    pipeline.run(web_events_source(str(world_dir / "landing"))).raise_on_failed_jobs()
    return pipeline.state["sources"]["web_events"]["resources"]["events"][RUN_COUNTS_STATE]


def _truth(world_dir) -> list[dict[str, str]]:
    with open(world_dir / "truth" / "web_events.csv") as handle:
        return list(csv.DictReader(handle))


def test_full_load_reconciles_with_the_truth_and_rerun_reads_nothing(warehouse, world_dir):
    truth = _truth(world_dir)
    counts = _load(warehouse, world_dir)
    defects = [t for t in truth if t["defect"]]
    assert counts["read"] == len(truth) == counts["loaded"] + counts["quarantined"]
    assert counts["quarantined"] == len(defects) > 0
    good = [t for t in truth if not t["defect"]]
    assert warehouse.query("select count(*) from bronze_web_events.events") == [(len(good),)]
    quarantined = warehouse.query("select source, row_number, reason from bronze_web_events.events_quarantine")
    assert {(s, n) for s, n, _ in quarantined} == {
        (t["file"].removeprefix("landing/"), int(t["line"])) for t in defects
    }
    reasons = {r for *_, r in quarantined}
    # The generator breaks lines two ways: cut off mid-write, or a required field dropped.
    assert reasons and all(r.startswith(("invalid JSON", "missing required field")) for r in reasons)

    # Version 1 lines arrive upgraded: same ids, types and people as the truth says.
    v1 = {t["event_id"]: t for t in good if t["schema_version"] == "1"}
    rows = warehouse.query(
        "select event_id, event_type, occurred_at, properties from bronze_web_events.events where schema_version = 1"
    )
    assert len(rows) == len(v1) > 0
    assert all(v1[event_id]["event_type"] == kind and at is not None for event_id, kind, at, _ in rows)
    assert all(isinstance(json.loads(props), dict) for *_, props in rows)

    assert _load(warehouse, world_dir) == {
        "read": 0,
        "loaded": 0,
        "quarantined": 0,
        "duplicates": 0,
        "files": 0,
        "quarantined_files": 0,
    }
    assert warehouse.query("select count(*) from bronze_web_events.events") == [(len(good),)]


def test_a_new_day_reads_only_its_files(warehouse, world_dir):
    from sandbox.advance import advance_world

    _load(warehouse, world_dir)
    files_before = {t["file"] for t in _truth(world_dir)}
    advance_world(world_dir, days=1)
    new = [t for t in _truth(world_dir) if t["file"] not in files_before]
    counts = _load(warehouse, world_dir)
    assert counts["files"] == len({t["file"] for t in new}) > 0
    assert counts["read"] == len(new)


def test_new_fields_evolve_and_a_retyped_field_stops_the_load(duckdb_warehouse, world_dir):
    from dlt.pipeline.exceptions import PipelineStepFailed

    from ingestion.schema_drift import added_columns, known_columns

    _load(duckdb_warehouse, world_dir)
    before = known_columns(make_pipeline("web_events", duckdb_warehouse))
    folder = world_dir / "landing" / "web_events" / "2026-11-02"
    folder.mkdir(parents=True)
    event = {
        "schema_version": 2,
        "event_id": "e-drift-1",
        "event_type": "page_view",
        "occurred_at": "2026-11-02T10:00:00.000Z",
        "anonymous_id": "a-1",
        "properties": {"path": "/"},
        "utm_source": "newsletter",
    }
    (folder / "events-1.jsonl").write_text(json.dumps(event) + "\n")
    assert _load(duckdb_warehouse, world_dir)["loaded"] == 1
    after = known_columns(make_pipeline("web_events", duckdb_warehouse))
    assert added_columns(before, after) == {"events": ["utm_source"]}

    (folder / "events-2.jsonl").write_text(json.dumps({**event, "event_id": "e-drift-2", "utm_source": 7}) + "\n")
    with pytest.raises(PipelineStepFailed, match="utm_source"):
        _load(duckdb_warehouse, world_dir)


def test_an_unchanged_listing_is_not_read_and_a_changed_one_is(warehouse, world_dir):
    """A run reads only files whose size or modification stamp moved since they loaded: a file
    swapped for other bytes of the same size under the old stamp is not even opened, and once
    its stamp moves its new events load."""
    import os

    _load(warehouse, world_dir)
    path = sorted((world_dir / "landing" / "web_events").glob("*/*.jsonl"))[0]
    lines = path.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if b'"schema_version":2' in line.replace(b" ", b""))
    event = json.loads(lines[at])
    renamed = {**event, "event_id": event["event_id"][:-1] + ("x" if event["event_id"][-1] != "x" else "y")}
    body = lines[at].rstrip(b"\r\n")
    swapped = json.dumps(renamed, separators=(",", ":")).encode()
    assert len(swapped) <= len(body)  # compact separators never make the line longer
    lines[at] = swapped.ljust(len(body)) + lines[at][len(body) :]
    stamp = path.stat()
    path.write_bytes(b"".join(lines))
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size

    assert _load(warehouse, world_dir)["read"] == 0
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    counts = _load(warehouse, world_dir)
    assert counts["files"] == 1 and counts["read"] == len(lines)
    ids = warehouse.query(f"select count(*) from bronze_web_events.events where event_id = '{renamed['event_id']}'")
    assert ids == [(1,)]
