"""DuckDB's memory, threads and spill folder: one setting for dbt, dlt and our own connections."""

from __future__ import annotations

import duckdb
import pytest

from warehouse import Warehouse, WarehouseConfigError


@pytest.fixture
def no_limits_set(monkeypatch):
    for name in ("LEADLOOP_DUCKDB_MEMORY_LIMIT", "LEADLOOP_DUCKDB_THREADS", "LEADLOOP_DUCKDB_TEMP_DIR"):
        monkeypatch.delenv(name, raising=False)


def _settings(conn) -> tuple:
    return conn.execute(
        "select current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')"
    ).fetchone()


def test_defaults_fit_a_shared_two_core_machine_and_spill_next_to_the_warehouse(tmp_path, no_limits_set):
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/w.duckdb")
    env = warehouse.dbt_env()
    assert (env["LEADLOOP_DUCKDB_MEMORY_LIMIT"], env["LEADLOOP_DUCKDB_THREADS"]) == ("3GB", "2")
    assert env["LEADLOOP_DUCKDB_TEMP_DIR"] == str(tmp_path / "w.duckdb.tmp")
    with warehouse.connect() as conn:
        memory, threads, temp = _settings(conn)
    # DuckDB reports the limit in its own units (2.7 GiB for 3 GB).
    assert memory.endswith("GiB") and 2.5 < float(memory.split()[0]) < 3.0
    assert (threads, temp) == (2, str(tmp_path / "w.duckdb.tmp"))
    # The limits leave no result pending on the connection: Arrow reads straight off it (the
    # contracts' DataFrames) would refuse to start ("unfinished result from execute()").
    with warehouse.connect() as conn:
        assert conn.sql("select 42 as answer").to_arrow_table().to_pylist() == [{"answer": 42}]


def test_env_vars_set_every_connection_including_one_that_attaches_later(tmp_path, monkeypatch):
    monkeypatch.setenv("LEADLOOP_DUCKDB_MEMORY_LIMIT", "512mb")
    monkeypatch.setenv("LEADLOOP_DUCKDB_THREADS", "1")
    monkeypatch.setenv("LEADLOOP_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/w.duckdb")
    assert warehouse.dbt_env()["LEADLOOP_DUCKDB_MEMORY_LIMIT"] == "512MB"
    with warehouse.connect() as conn:
        # dlt opens its own connection by path while ours is held (ingestion.pipelines).
        later = duckdb.connect(str(warehouse.path))
        assert _settings(later)[1:] == (1, str(tmp_path / "spill"))
        assert _settings(conn)[0].startswith("488.2 MiB")
        later.close()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEADLOOP_DUCKDB_MEMORY_LIMIT", "lots", "is not a size"),
        ("LEADLOOP_DUCKDB_THREADS", "0", "is not a positive whole number"),
    ],
)
def test_a_bad_limit_is_one_clear_warehouse_error(tmp_path, monkeypatch, no_limits_set, name, value, message):
    monkeypatch.setenv(name, value)
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/w.duckdb")
    with pytest.raises(WarehouseConfigError, match=f"{name}='{value}' {message}"):
        warehouse.dbt_env()
    assert not (tmp_path / "w.duckdb").exists()


def test_a_write_of_tables_the_process_holds_keeps_within_what_its_share_leaves(tmp_path, monkeypatch):
    """DuckDB's buffer pool keeps the blocks a write makes until the connection closes, up to its
    limit: a write of Arrow tables gets only what the process's share leaves beside them (at 1M
    leads identity's write took 640 MiB more than the process held). Here the share is what the
    process holds already, so the write is held to the floor, a tenth of the share."""
    import numpy as np
    import pyarrow as pa

    from silver.identity.phase_memory import phase, tracking
    from warehouse.duckdb_limits import resident_bytes

    rows = 6_000_000
    rng = np.random.default_rng(7)
    table = pa.table({f"c{i}": pa.array(rng.integers(0, 2**62, size=rows)).cast(pa.string()) for i in range(3)})

    def growth(share: str, name: str) -> int:
        """MiB the process grew by while writing `table`, with `share` as the warehouse's limit."""
        monkeypatch.setenv("LEADLOOP_DUCKDB_MEMORY_LIMIT", share)
        warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/{name}.duckdb")
        before = resident_bytes() // 2**20
        with tracking() as peaks, phase("write"):
            warehouse.replace_tables("silver", {"big": table})
        assert warehouse.query("select count(*) from silver.big") == [(rows,)]
        return peaks.peaks_mb()["write"] - before

    share = resident_bytes() // 2**20
    held = growth(f"{share}MiB", "held")
    assert held < share // 10 + 100, (held, share)
    # With room to spare, the same write keeps its blocks: the limit is what held it.
    assert growth("100GB", "roomy") > held + 60
