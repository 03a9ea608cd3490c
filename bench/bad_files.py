"""Benchmark: malformed landed files among good ones (issue 25), at a larger setting than CI.

A world's partner drops and web events are loaded twice: as generated, and spoiled the way
`tests/reliability/bad_inputs.py` spoils them (UTF-16 with and without a byte-order mark,
Latin-1 bytes in UTF-8, a truncated and a junk workbook, a `--field-mb` field, junk CSV, an
impossible timestamp, a 100,000-deep event, a `--field-mb` event). Prints one JSON object: the
bad inputs tried and how many were quarantined (files whole, events as rows) with the expected
reason, whether every other file (the two with byte-order marks included) was read whole
(loaded + quarantined = rows in the file), and both loads' seconds.

Usage: python bench/bad_files.py [--leads N] [--days D] [--field-mb M]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import advance, world_for_run, world_leads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.reliability

from ingestion.partner_files import partner_files_source  # noqa: E402
from ingestion.partner_files.config import KINDS  # noqa: E402
from ingestion.pipelines import load_pipeline  # noqa: E402
from ingestion.web_events import web_events_source  # noqa: E402
from tests.reliability.bad_inputs import BAD_EVENT_FILES, add_bad_events, spoil_partner_files  # noqa: E402
from warehouse import Warehouse  # noqa: E402


def _load(warehouse: Warehouse, world: Path) -> float:
    started = time.perf_counter()
    with load_pipeline("partners", warehouse) as pipeline:
        pipeline.run(partner_files_source(str(world / "partners"))).raise_on_failed_jobs()
    with load_pipeline("web_events", warehouse) as pipeline:
        pipeline.run(web_events_source(str(world / "landing"))).raise_on_failed_jobs()
    return time.perf_counter() - started


def _per_file(warehouse: Warehouse) -> dict[str, int]:
    """Rows loaded plus rows quarantined, per partner file."""
    out: dict[str, int] = {}
    for table in KINDS.values():
        queries = [f"select source_file, count(*) from bronze_partners.{table} group by 1"]
        if warehouse.table_exists("bronze_partners", f"{table}_quarantine"):
            queries.append(f"select source, count(*) from bronze_partners.{table}_quarantine group by 1")
        for query in queries:
            for name, n in warehouse.query(query):
                out[name] = out.get(name, 0) + n
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--field-mb", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        world = world_for_run(tmp_path, args.leads)
        advance(world, days=args.days)
        spoiled = tmp_path / "spoiled"
        shutil.copytree(world, spoiled)
        with open(world / "truth" / "partner_records.csv") as handle:
            truth: dict[str, int] = {}
            for row in csv.DictReader(handle):
                name = row["file"].removeprefix("partners/")
                truth[name] = truth.get(name, 0) + 1

        clean = Warehouse.from_url(f"duckdb:///{tmp_path / 'clean.duckdb'}")
        clean_seconds = _load(clean, world)

        field_chars = args.field_mb * 1_000_000
        bad_files = spoil_partner_files(spoiled / "partners", oversized_chars=field_chars)
        bad_events = add_bad_events(spoiled / "landing", huge_chars=field_chars)
        target = Warehouse.from_url(f"duckdb:///{tmp_path / 'spoiled.duckdb'}")
        spoiled_seconds = _load(target, spoiled)

        refused = dict(target.query("select source, reason from bronze_partners.file_quarantine"))
        files_ok = sum(name in refused and refused[name].startswith(why) for name, why in bad_files.items())
        events_ok = 0
        for source, lines in bad_events.items():
            reasons = dict(
                target.query(
                    "select row_number, reason from bronze_web_events.events_quarantine where source = ?", [source]
                )
            )
            events_ok += sum(number in reasons and reasons[number].startswith(why) for number, why in lines.items())
        refused_events = dict(target.query("select source, reason from bronze_web_events.file_quarantine"))
        files_ok += sum(
            name in refused_events and refused_events[name].startswith(why) for name, why in BAD_EVENT_FILES.items()
        )
        per_file = _per_file(target)
        good_files = {name: rows for name, rows in truth.items() if name not in bad_files}
        unreconciled = sorted(name for name, rows in good_files.items() if per_file.get(name, 0) != rows)
        utf16_loaded = target.query("select count(*) from bronze_web_events.events where event_id = 'fine-utf16'")
        result: dict[str, Any] = {
            "benchmark": "bad_files",
            "leads": world_leads(world),
            "field_mb": args.field_mb,
            "bad_files_tried": len(bad_files) + len(BAD_EVENT_FILES),
            "bad_files_quarantined_with_reason": files_ok,
            "bad_event_lines_tried": sum(len(lines) for lines in bad_events.values()),
            "bad_event_lines_quarantined_with_reason": events_ok,
            "utf16_event_file_loaded": utf16_loaded == [(1,)],
            "good_partner_files": len(good_files),
            "good_partner_files_not_reconciled": unreconciled,
            "clean_load_seconds": round(clean_seconds, 3),
            "spoiled_load_seconds": round(spoiled_seconds, 3),
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
