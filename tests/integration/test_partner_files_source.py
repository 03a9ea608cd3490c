"""Direct-mail partner drops into bronze, measured against the generator's truth: every barcode
encoding normalized, every defect quarantined with its reason, files read once, first
delivery confirmation wins."""

from __future__ import annotations

import csv
import shutil

import pytest

from ingestion.partner_files import load_partner_configs, partner_files_source
from ingestion.partner_files.config import KINDS
from ingestion.pipelines import make_pipeline
from ingestion.quarantine import RUN_COUNTS_STATE


@pytest.fixture
def drops(world_dir):
    """The 200-lead world a week on, so mailed, delivered and callbacks files all hold rows."""
    from sandbox.advance import advance_world

    advance_world(world_dir, days=7)
    return world_dir


def _load(warehouse, world_dir) -> dict[str, dict[str, int]]:
    pipeline = make_pipeline("partners", warehouse)
    pipeline.run(partner_files_source(str(world_dir / "partners"))).raise_on_failed_jobs()
    resources = pipeline.state["sources"]["partners"]["resources"]
    return {table: resources[table][RUN_COUNTS_STATE] for table in KINDS.values()}


def _truth(world_dir) -> list[dict[str, str]]:
    with open(world_dir / "truth" / "partner_records.csv") as handle:
        return list(csv.DictReader(handle))


def test_every_partner_lands_in_one_table_per_kind_reconciled_with_the_truth(warehouse, drops):
    truth = _truth(drops)
    counts = _load(warehouse, drops)
    for kind, table in KINDS.items():
        rows = [t for t in truth if t["kind"] == kind]
        run = counts[table]
        assert rows, kind
        assert run["read"] == len(rows) == run["loaded"] + run["quarantined"] + run["duplicates"]
        assert run["quarantined"] == sum(1 for t in rows if t["defect"])
        loaded = warehouse.query(f"select source_file, row_number, imb_tracking, partner from bronze_partners.{table}")
        by_row = {(t["file"].removeprefix("partners/"), int(t["row_number"])): t for t in rows}
        assert len(loaded) == run["loaded"]
        assert all(by_row[(f, n)]["tracking"] == tracking for f, n, tracking, _ in loaded)  # canonical 20 digits
        partners = {p for *_, p in loaded}
        assert partners <= {"northmail", "eastprint", "southpost", "westdirect"}
        if kind == "mailed":  # every partner mails every day; a week may bring one partner no callbacks
            assert len(partners) == 4
        if not run["quarantined"]:
            continue
        reasons = dict(
            warehouse.query(f"select source || ':' || row_number, reason from bronze_partners.{table}_quarantine")
        )
        for t in rows:
            if t["defect"] == "bad_barcode":
                assert reasons[f"{t['file'].removeprefix('partners/')}:{t['row_number']}"].startswith(
                    "undecodable barcode"
                )
            elif t["defect"] == "bad_date":
                assert reasons[f"{t['file'].removeprefix('partners/')}:{t['row_number']}"].startswith(
                    "unparseable date"
                )

    again = _load(warehouse, drops)
    assert all(run["read"] == 0 and run["files"] == 0 for run in again.values())


def test_a_resent_file_and_a_later_confirmation_change_nothing(warehouse, drops):
    _load(warehouse, drops)
    before = warehouse.query("select imb_tracking, delivered_at from bronze_partners.delivery_confirmations order by 1")
    assert before

    # The same file again under a new name.
    delivered = sorted((drops / "partners" / "eastprint").glob("eastprint_delivered_*.csv"))[-1]
    shutil.copy(delivered, delivered.with_name("eastprint_delivered_29991231.csv"))
    # A second confirmation of an already-confirmed piece, a day later.
    tracking = before[0][0]
    config = next(c for c in load_partner_configs() if c.partner == "eastprint")
    later = drops / "partners" / "eastprint" / "eastprint_delivered_29991230.csv"
    later.write_text(
        f"{config.barcode[0]},{config.barcode[1]},{config.header('delivered_at')}\r\n{tracking},,2030-01-01T00:00:00Z\r\n"
    )
    counts = _load(warehouse, drops)["delivery_confirmations"]
    assert counts["skipped_files"] == 1 and counts["files"] == 1
    assert (
        warehouse.query("select imb_tracking, delivered_at from bronze_partners.delivery_confirmations order by 1")
        == before
    )


def test_a_new_day_reads_only_its_files(warehouse, drops):
    from sandbox.advance import advance_world

    _load(warehouse, drops)
    files_before = {t["file"] for t in _truth(drops)}
    advance_world(drops, days=1)
    new_rows = [t for t in _truth(drops) if t["file"] not in files_before]
    counts = _load(warehouse, drops)
    assert sum(run["files"] for run in counts.values()) == 4 * len(KINDS)  # one file per partner and kind
    assert sum(run["read"] for run in counts.values()) == len(new_rows) > 0
