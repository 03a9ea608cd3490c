"""Malformed landed files: each one is quarantined whole, with its reason, and every other file
loads; a file whose byte-order mark says its encoding loads; an event with an impossible value,
nested too deep or too large is quarantined as a row, not fatal. Counts reconcile per file.

The bad inputs are the ones that stopped a whole source in issue 25 (UTF-16 and Latin-1 in a
UTF-8 drop, a truncated and a junk workbook, a 200,000-character field, junk CSV, a timestamp
of month 13, a 100,000-deep event).
"""

from __future__ import annotations

import csv
from pathlib import Path

from dagster import AssetKey, MaterializeResult

from ingestion.partner_files import partner_files_source
from ingestion.partner_files.config import KINDS
from ingestion.pipelines import load_pipeline
from ingestion.quarantine import FILE_COUNTS_STATE, RUN_COUNTS_STATE
from ingestion.schema_drift import known_columns
from ingestion.web_events import web_events_source
from orchestration.assets.bronze import _with_run_metadata
from tests.reliability.bad_inputs import BAD_EVENT_FILES, add_bad_events, spoil_partner_files
from warehouse import Warehouse


def _load_partners(warehouse: Warehouse, world: Path) -> dict[str, dict[str, int]]:
    """The run's counts per partner table; its per-file counts under the FILE_COUNTS_STATE key."""
    with load_pipeline("partners", warehouse) as pipeline:
        pipeline.run(partner_files_source(str(world / "partners"))).raise_on_failed_jobs()
    resources = pipeline.state["sources"]["partners"]["resources"]
    return {
        table: {**resources[table][RUN_COUNTS_STATE], FILE_COUNTS_STATE: resources[table][FILE_COUNTS_STATE]}
        for table in KINDS.values()
    }


def _truth_rows_per_file(world: Path) -> dict[str, int]:
    with open(world / "truth" / "partner_records.csv") as handle:
        rows = list(csv.DictReader(handle))
    per_file: dict[str, int] = {}
    for row in rows:
        name = row["file"].removeprefix("partners/")
        per_file[name] = per_file.get(name, 0) + 1
    return per_file


def test_bad_partner_files_are_quarantined_whole_and_the_rest_loads(warehouse: Warehouse, drops: Path) -> None:
    rows_per_file = _truth_rows_per_file(drops)
    bad = spoil_partner_files(drops / "partners")
    counts = _load_partners(warehouse, drops)

    refused = warehouse.query(
        "select source, bound_for, reason, size_bytes, sha256 from bronze_partners.file_quarantine"
    )
    assert {source for source, *_ in refused} == set(bad)
    for source, bound_for, reason, size, sha256 in refused:
        assert reason.startswith(bad[source]), (source, reason)
        assert bound_for == "mailed_records" and size > 0 and len(sha256) == 64
    assert counts["mailed_records"]["quarantined_files"] == len(bad)

    # Per file: every data row of a file read is loaded or quarantined; a refused file has none.
    loaded, quarantined = {}, {}
    for table in KINDS.values():
        for name, n in warehouse.query(f"select source_file, count(*) from bronze_partners.{table} group by 1"):
            loaded[name] = loaded.get(name, 0) + n
        if not warehouse.table_exists("bronze_partners", f"{table}_quarantine"):  # a kind with no bad row
            continue
        for name, n in warehouse.query(f"select source, count(*) from bronze_partners.{table}_quarantine group by 1"):
            quarantined[name] = quarantined.get(name, 0) + n
    duplicates = sum(run["duplicates"] for run in counts.values())
    assert duplicates == 0  # the generated drops repeat no piece: every row is accounted for by file
    for name, rows in rows_per_file.items():
        expected = 0 if name in bad else rows
        assert loaded.get(name, 0) + quarantined.get(name, 0) == expected, name
    # The run's own per-file counts (the bronze asset's `rows_per_file`) say the same.
    per_file: dict[str, dict] = {}
    for run in counts.values():
        for name, entry in run[FILE_COUNTS_STATE].items():
            assert entry["read"] == entry["loaded"] + entry["quarantined"] + entry["duplicates"], name
            per_file[name] = entry
    assert set(rows_per_file) | set(bad) <= set(per_file)
    assert all(per_file[name]["read"] == 0 for name in set(per_file) - set(rows_per_file))  # header-only
    for name in rows_per_file:
        entry = per_file[name]
        assert (entry["loaded"], entry["quarantined"]) == (loaded.get(name, 0), quarantined.get(name, 0)), name
    for name, reason in bad.items():
        assert per_file[name]["refused"].startswith(reason) and per_file[name]["read"] == 0, name
    assert sum(run["read"] for run in counts.values()) == sum(
        rows for name, rows in rows_per_file.items() if name not in bad
    )
    for run in counts.values():
        assert run["read"] == run["loaded"] + run["quarantined"] + run["duplicates"]

    # Refused once: the next run reads nothing and refuses nothing again.
    again = _load_partners(warehouse, drops)
    assert all(run["files"] == 0 and run["quarantined_files"] == 0 for run in again.values())
    assert warehouse.query("select count(*) from bronze_partners.file_quarantine") == [(len(bad),)]


def test_bad_events_are_quarantined_as_rows_and_a_utf16_file_loads(warehouse: Warehouse, world_dir: Path) -> None:
    bad = add_bad_events(world_dir / "landing")

    with load_pipeline("web_events", warehouse) as pipeline:
        pipeline.run(web_events_source(str(world_dir / "landing"))).raise_on_failed_jobs()
    state = pipeline.state["sources"]["web_events"]["resources"]["events"]
    counts, per_file = state[RUN_COUNTS_STATE], state[FILE_COUNTS_STATE]
    assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts["duplicates"]
    for key in ("read", "loaded", "quarantined", "duplicates"):
        assert sum(entry[key] for entry in per_file.values()) == counts[key], key
    assert len(per_file) == counts["files"]
    for source, reason in BAD_EVENT_FILES.items():
        assert per_file[source]["refused"].startswith(reason) and per_file[source]["read"] == 0
    for source, lines in bad.items():
        assert per_file[source]["quarantined"] == len(lines), source
    # The bronze asset's materialization carries them as they are.
    result = MaterializeResult(asset_key=AssetKey(["bronze_web_events", "events"]))
    metadata = _with_run_metadata(None, result, pipeline, known_columns(pipeline), "file").metadata  # type: ignore[arg-type]
    assert metadata["rows_per_file"].value == per_file
    refused = dict(warehouse.query("select source, reason from bronze_web_events.file_quarantine"))
    assert set(refused) == set(BAD_EVENT_FILES) and counts["quarantined_files"] == len(BAD_EVENT_FILES)
    for source, reason in refused.items():
        assert reason.startswith(BAD_EVENT_FILES[source]), (source, reason)

    ids = {row[0] for row in warehouse.query("select event_id from bronze_web_events.events")}
    assert {"fine-1", "fine-2", "fine-utf16"} <= ids
    assert not {"impossible", "deep", "huge", "latin-1", "no-bom", "gzipped"} & ids
    for source, lines in bad.items():
        reasons = dict(
            warehouse.query(
                "select row_number, reason from bronze_web_events.events_quarantine where source = ?", [source]
            )
        )
        assert set(reasons) == set(lines)
        for number, reason in reasons.items():
            assert reason.startswith(lines[number]), (number, reason)
        assert "over the 1,048,576 limit" in reasons[4]
    payload = warehouse.query(
        "select raw_payload from bronze_web_events.events_quarantine where reason like 'not UTF-8%'"
    )
    assert payload == [
        (
            '{"schema_version": 2, "event_id": "latin-1", "event_type": "page_view", '
            '"occurred_at": "2026-01-05T09:00:00Z", "email": "jos\\xe9@example.com"}',
        )
    ]
