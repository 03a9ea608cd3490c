"""Malformed landed files: each one is quarantined whole, with its reason, and every other file
loads; a file whose byte-order mark says its encoding loads; an event with an impossible value,
nested too deep or too large is quarantined as a row, not fatal. Counts reconcile per file.

The bad inputs are the ones that stopped a whole source in issue 25 (UTF-16 and Latin-1 in a
UTF-8 drop, a truncated and a junk workbook, a 200,000-character field, junk CSV, a timestamp
of month 13, a 100,000-deep event).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from ingestion.partner_files import partner_files_source
from ingestion.partner_files.config import KINDS
from ingestion.pipelines import load_pipeline
from ingestion.quarantine import RUN_COUNTS_STATE
from ingestion.web_events import web_events_source
from warehouse import Warehouse


def _load_partners(warehouse: Warehouse, world: Path) -> dict[str, dict[str, int]]:
    with load_pipeline("partners", warehouse) as pipeline:
        pipeline.run(partner_files_source(str(world / "partners"))).raise_on_failed_jobs()
    resources = pipeline.state["sources"]["partners"]["resources"]
    return {table: resources[table][RUN_COUNTS_STATE] for table in KINDS.values()}


def _truth_rows_per_file(world: Path) -> dict[str, int]:
    with open(world / "truth" / "partner_records.csv") as handle:
        rows = list(csv.DictReader(handle))
    per_file: dict[str, int] = {}
    for row in rows:
        name = row["file"].removeprefix("partners/")
        per_file[name] = per_file.get(name, 0) + 1
    return per_file


def _spoil_partner_files(partners: Path) -> dict[str, str]:
    """Re-encodes two good files (they must still load) and spoils or adds six bad ones;
    returns each bad file (relative name) with the start of the reason it must get."""
    east = sorted((partners / "eastprint").glob("eastprint_mailed_*.csv"))
    north = sorted((partners / "northmail").glob("northmail_mailed_*.xlsx"))
    east[0].write_bytes(b"\xff\xfe" + east[0].read_text(encoding="utf-8").encode("utf-16-le"))
    east[1].write_bytes(b"\xef\xbb\xbf" + east[1].read_bytes())
    header, rest = east[2].read_bytes().split(b"\n", 1)
    east[2].write_bytes(header + b"\n" + rest.replace(b",", b",Jos\xe9 ", 1))  # a Latin-1 byte in UTF-8
    north[0].write_bytes(north[0].read_bytes()[: north[0].stat().st_size // 2])
    (partners / "northmail" / "northmail_mailed_junk.xlsx").write_bytes(random.Random(1).randbytes(5000))
    oversized = partners / "eastprint" / "eastprint_mailed_oversized.csv"
    oversized.write_text(header.decode() + "\n" + "x" * 200_000 + ",rest\n", encoding="utf-8")
    (partners / "southpost" / "southpost_mailed_junk.csv").write_bytes(random.Random(2).randbytes(3000) + b"\x00")
    (partners / "southpost" / "southpost_mailed_notes.csv").write_text("hello;world\nfoo;bar\n", encoding="latin-1")
    return {
        f"eastprint/{east[2].name}": "not utf-8 text",
        f"northmail/{north[0].name}": "not a readable XLSX workbook",
        "northmail/northmail_mailed_junk.xlsx": "not a readable XLSX workbook",
        "eastprint/eastprint_mailed_oversized.csv": "a field over the 131,072-character limit",
        "southpost/southpost_mailed_junk.csv": "binary content",
        "southpost/southpost_mailed_notes.csv": "not a southpost mailed file",
    }


def test_bad_partner_files_are_quarantined_whole_and_the_rest_loads(warehouse: Warehouse, drops: Path) -> None:
    rows_per_file = _truth_rows_per_file(drops)
    bad = _spoil_partner_files(drops / "partners")
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
    day = world_dir / "landing" / "web_events" / "9999-12-31"
    day.mkdir(parents=True)

    def event(event_id: str, **fields: object) -> str:
        base = {"schema_version": 2, "event_id": event_id, "event_type": "page_view"}
        return json.dumps({**base, "occurred_at": "2026-01-05T09:00:00Z", **fields})

    lines = [
        event("impossible", occurred_at="2026-13-45T99:00:00Z"),
        event("fine-1"),
        '{"schema_version":2,"event_id":"deep","event_type":"page_view","occurred_at":"2026-01-05T09:00:00Z",'
        '"properties":' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "}",
        event("huge", properties={"x": "y" * 2_000_000}),
        event("fine-2"),
    ]
    (day / "mixed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (day / "utf16.jsonl").write_bytes(b"\xff\xfe" + (event("fine-utf16") + "\n").encode("utf-16-le"))

    with load_pipeline("web_events", warehouse) as pipeline:
        pipeline.run(web_events_source(str(world_dir / "landing"))).raise_on_failed_jobs()
    counts = pipeline.state["sources"]["web_events"]["resources"]["events"][RUN_COUNTS_STATE]
    assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts["duplicates"]

    ids = {row[0] for row in warehouse.query("select event_id from bronze_web_events.events")}
    assert {"fine-1", "fine-2", "fine-utf16"} <= ids
    assert not {"impossible", "deep", "huge"} & ids
    reasons = dict(
        warehouse.query(
            "select row_number, reason from bronze_web_events.events_quarantine where source = ?",
            ["web_events/9999-12-31/mixed.jsonl"],
        )
    )
    assert reasons[1] == "field occurred_at is not an ISO-8601 timestamp: '2026-13-45T99:00:00Z'"
    assert reasons[3] == "nested 100,001 levels deep, over the limit of 64"
    assert reasons[4].startswith("event of 2,000,1") and "over the 1,048,576 limit" in reasons[4]
    assert set(reasons) == {1, 3, 4}
