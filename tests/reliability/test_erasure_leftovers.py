"""Copies of personal data that no model reads but an erasure must reach (issue 25): dlt's kept
load files and `*_staging` datasets, which Leadloop no longer keeps, and quarantined rows, which
an erasure deletes whole. The end-to-end sweep is in tests/e2e/test_erasure.py."""

from __future__ import annotations

from pathlib import Path

import dlt
import pyarrow as pa
import pytest

from ingestion.pipelines import load_pipeline, pipelines_dir
from silver.erasure import anonymize_bronze, hashes_of
from tests.reliability.pii_sweep import files_holding, tables_holding
from warehouse import Warehouse

ADDRESS = "Erased.Person@Example.com"


def test_a_merge_load_leaves_no_copy_in_staging_or_on_disk(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADLOOP_DATA_DIR", str(tmp_path / "data"))

    @dlt.resource(name="people", primary_key="id", write_disposition="merge")
    def people():  # type: ignore[no-untyped-def]
        yield [{"id": 1, "email": ADDRESS}, {"id": 2, "email": "kept@example.com"}]

    for _ in range(2):  # the second load merges through the staging dataset onto rows that exist
        with load_pipeline("leftovers", warehouse) as pipeline:
            pipeline.run(people()).raise_on_failed_jobs()

    assert tables_holding(warehouse, [ADDRESS]) == {"bronze_leftovers.people": 1}
    working = pipelines_dir(warehouse)
    assert any(working.rglob("*")), "dlt did work in this folder"
    assert files_holding([working], [ADDRESS, "kept@example.com"]) == {}


def test_an_erasure_deletes_the_quarantined_rows_that_name_the_person(warehouse: Warehouse) -> None:
    warehouse.query("create schema if not exists bronze_web_events")
    warehouse.query(
        "create table bronze_web_events.events_quarantine "
        "(source varchar, row_number bigint, raw_payload varchar, reason varchar)"
    )
    payloads = {
        1: '{"email": "erased.person+news@example.com", "ts": "2026-13-45T99:00:00Z"}',  # plus tag, other case
        2: '{"email": "someone.else@example.com", "ts": "2026-13-45T99:00:00Z"}',
        3: "not json at all",
        4: "Erased.Person@Example.com;Ada;Lovelace",
    }
    for number, payload in payloads.items():
        warehouse.query(
            "insert into bronze_web_events.events_quarantine values ('events.jsonl', ?, ?, 'bad')",
            [number, payload],
        )
    nobody = pa.table({"source": pa.array([], pa.string()), "source_id": pa.array([], pa.string())})

    deleted = anonymize_bronze(warehouse, nobody, set(hashes_of([ADDRESS])))
    again = anonymize_bronze(warehouse, nobody, set(hashes_of([ADDRESS])))

    assert deleted == {"bronze_web_events.events_quarantine": 2}
    assert again == {}
    left = warehouse.query("select row_number from bronze_web_events.events_quarantine order by row_number")
    assert left == [(2,), (3,)]
