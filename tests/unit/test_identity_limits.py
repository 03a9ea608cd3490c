"""Identity resolution's in-memory DuckDB is held to the warehouse's limits (issue 24): without
them Splink's joins took 5 GB at 1M leads, more than the whole loop's share."""

from __future__ import annotations

from pathlib import Path

import pytest

from silver.identity.resolve import resolve
from tests.unit.test_identity_matching import person, records
from warehouse import Warehouse
from warehouse.duckdb_limits import DuckDBLimits, held_beside, resident_bytes

SAME_HOUSE = (
    person("crm:1", "Oliver", "Hughes", "14 Kingsway Road", "Manchester", "M1 4BT", "GB"),
    person("crm:2", "Amelia", "Hughes", "14 Kingsway Road", "Manchester", "M1 4BT", "GB"),
    person("export:1", "Hughes", "Oliver", "14 Kingsway Rd", "Manchester", "M14BT", "United Kingdom"),
)


@pytest.fixture
def no_limits_set(monkeypatch):
    for name in ("LEADLOOP_DUCKDB_MEMORY_LIMIT", "LEADLOOP_DUCKDB_THREADS", "LEADLOOP_DUCKDB_TEMP_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_identity_runs_in_a_duckdb_held_to_the_configured_limits(tmp_path, monkeypatch):
    monkeypatch.setenv("LEADLOOP_DUCKDB_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("LEADLOOP_DUCKDB_THREADS", "1")
    monkeypatch.setenv("LEADLOOP_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    resolution = resolve(records(*SAME_HOUSE))
    settings = resolution.duckdb_settings  # read by DuckDB's current_setting on the connection used
    # The configured 512MB (488.2 MiB) less what the process holds, never below a third.
    memory, unit = settings["memory_limit"].split()
    assert unit == "MiB" and 162.7 <= float(memory) <= 488.2
    assert settings["threads"] == 1
    # Its own spill folder beside the configured one (a process sharing DuckDB's folder deletes
    # its spill files on close), and gone once resolution is done.
    spill = Path(settings["temp_directory"])
    assert spill.parent == tmp_path and spill.name.startswith("spill-scratch-")
    assert not spill.exists()
    people = dict(
        zip(resolution.records["record_key"].to_pylist(), resolution.records["person_id"].to_pylist(), strict=True)
    )
    assert people["crm:1"] == people["export:1"] != people["crm:2"]


def test_identity_duckdb_gets_the_share_less_what_the_process_already_holds(tmp_path):
    limits = DuckDBLimits("3GB", 2, tmp_path / "spill")
    assert limits.memory_bytes() == 3_000_000_000
    # Decimal and binary units, as DuckDB reads them.
    assert DuckDBLimits("1.5TiB", 2, tmp_path).memory_bytes() == int(1.5 * 2**40)
    assert DuckDBLimits("512MIB", 2, tmp_path).memory_bytes() == 512 * 2**20
    with pytest.raises(ValueError, match="is not a size"):
        DuckDBLimits("3XB", 2, tmp_path).memory_bytes()
    assert limits.less(1_000_000_000).memory_bytes() // 1024 == 2_000_000_000 // 1024
    assert limits.less(2_900_000_000).memory_bytes() // 1024 == 1_500_000_000 // 1024  # never below half
    assert limits.less(2_900_000_000, at_least=1 / 3).memory_bytes() // 1024 == 1_000_000_000 // 1024
    with limits.less(1_000_000_000).scratch_connection() as conn:
        assert conn.sql("select current_setting('memory_limit')").fetchall()[0][0] == "1.8 GiB"


def test_the_warehouse_limits_reach_identity_and_it_spills_beside_the_warehouse(tmp_path, no_limits_set):
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/w.duckdb")
    settings = resolve(records(*SAME_HOUSE), limits=warehouse.duckdb_limits()).duckdb_settings
    memory, unit = settings["memory_limit"].split()
    gib = float(memory) / (1024 if unit == "MiB" else 1)  # DuckDB says MiB below 1 GiB
    # The 3GB default (2.8 GiB) less what the process holds, never below a third.
    assert unit in {"MiB", "GiB"} and 3e9 / 3 / 2**30 - 0.01 <= gib < 2.8
    assert settings["threads"] == 2
    spill = Path(settings["temp_directory"])
    assert spill.parent == tmp_path and spill.name.startswith("w.duckdb.tmp-scratch-")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind, no warehouse opened


def test_identity_duckdb_leaves_room_for_everything_else_the_process_holds(tmp_path):
    """Not only the Arrow records: memory the process holds for anything else (in the lead loop,
    Dagster's imports and what earlier steps left with the allocator) comes off DuckDB's share."""
    size = 1_500_000_000
    ballast = bytearray(size)  # untouched zero pages are not resident: write one byte per page
    ballast[::4096] = b"\x01" * len(range(0, size, 4096))
    assert resident_bytes() >= size
    settings = resolve(records(*SAME_HOUSE), limits=DuckDBLimits("6GB", 1, tmp_path / "spill")).duckdb_settings
    memory, unit = settings["memory_limit"].split()
    # Counting only Arrow's allocations (a few KB here) left DuckDB nearly all of the 6 GB.
    assert unit == "GiB" and 6e9 / 3 / 2**30 - 0.01 <= float(memory) <= (6e9 - size) / 2**30
    del ballast


def test_what_the_process_holds_beside_a_working_duckdb_leaves_out_what_that_duckdb_holds():
    import duckdb

    with duckdb.connect() as con:
        con.execute("set memory_limit = '2GB'")
        before = held_beside(con)
        # ~400 MB of distinct strings inside DuckDB: in the resident set, not beside it.
        con.execute("create temp table big as select repeat(md5(i::varchar), 12) as s from range(1_000_000) t(i)")
        inside = con.sql("select sum(memory_usage_bytes) from duckdb_memory()").fetchall()[0][0]
        assert inside > 300_000_000
        assert resident_bytes() - held_beside(con) > 300_000_000
        assert held_beside(con) < before + 100_000_000
