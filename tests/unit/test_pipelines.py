"""The bronze pipeline factory: its process-wide set-up and how a load holds the warehouse."""

import gc
import subprocess
import sys
from pathlib import Path

from ingestion.pipelines import bronze_dataset, make_pipeline
from warehouse import Warehouse


def test_the_first_pipeline_freezes_the_startup_heap_and_later_ones_do_not(tmp_path: Path) -> None:
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/warehouse.duckdb")
    pipeline = make_pipeline("first", warehouse)
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert pipeline.dataset_name == bronze_dataset("first")

    made_after = [[n] for n in range(1_000)]  # tracked objects a second freeze would take too
    make_pipeline("second", warehouse)
    assert gc.get_freeze_count() < frozen + len(made_after)
    assert gc.is_tracked(made_after[0])


def test_dlt_reads_the_environment_through_the_remembering_provider_in_dlts_order(tmp_path: Path) -> None:
    import dlt

    from ingestion.environ_provider import RememberingEnvironProvider

    make_pipeline("providers", Warehouse.from_url(f"duckdb:///{tmp_path}/warehouse.duckdb"))
    providers = dlt.config.config_providers
    assert isinstance(providers[0], RememberingEnvironProvider)
    assert [p.name for p in providers][:3] == ["Environment Variables", "secrets.toml", "config.toml"]
    assert sum(isinstance(p, RememberingEnvironProvider) for p in providers) == 1


def test_the_remembering_provider_answers_as_dlts_own_for_plain_and_secret_hints(tmp_path: Path, monkeypatch) -> None:
    import dlt.common.configuration.providers.environ as dlt_environ
    from dlt.common.configuration.providers import EnvironProvider
    from dlt.common.configuration.specs import ConnectionStringCredentials
    from dlt.common.typing import TSecretStrValue

    from ingestion.environ_provider import RememberingEnvironProvider

    monkeypatch.setattr(dlt_environ, "SECRET_STORAGE_PATH", str(tmp_path / "%s"))
    (tmp_path / "sources--shop--api-key").write_text("from-a-secret-file\n")
    monkeypatch.setenv("SOURCES__SHOP__PAGE_SIZE", "500")
    monkeypatch.setenv("SOURCES__SHOP__TOKEN", "from-env")
    monkeypatch.setenv("SOURCES__SHOP__API_KEY", "")  # dlt copies a secret file into the environment:
    monkeypatch.delenv("SOURCES__SHOP__API_KEY")  # this restores its absence afterwards

    ours, theirs = RememberingEnvironProvider(), EnvironProvider()
    cases = [
        ("page_size", int),
        ("token", TSecretStrValue),
        ("api_key", TSecretStrValue),  # only in the secret file
        ("credentials", ConnectionStringCredentials | None),
        ("missing", str),
    ]
    for _ in range(2):  # the second round is answered from the cache
        for key, hint in cases:
            assert ours.get_value(key, hint, None, "sources", "shop") == theirs.get_value(
                key, hint, None, "sources", "shop"
            ), key
    assert ours.get_value("page_size", int, None, "sources", "shop") == ("500", "SOURCES__SHOP__PAGE_SIZE")
    assert ours.get_value("api_key", TSecretStrValue, None, "sources", "shop")[0] == "from-a-secret-file\n"


def _another_process_reads(path: Path) -> subprocess.CompletedProcess:
    script = (
        "import duckdb, sys; "
        "print(duckdb.connect(sys.argv[1]).execute('select count(*) from bronze_held.t').fetchone()[0])"
    )
    return subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True)


def test_a_duckdb_load_holds_the_file_for_the_load_only(tmp_path: Path) -> None:
    import dlt
    import pyarrow as pa

    from ingestion.pipelines import load_pipeline

    @dlt.resource(name="t", primary_key="id", write_disposition="merge")
    def rows(ids: list[int]):  # type: ignore[no-untyped-def]
        yield pa.table({"id": ids})

    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path}/warehouse.duckdb")
    with load_pipeline("held", warehouse) as pipeline:
        pipeline.run(rows([1, 2])).raise_on_failed_jobs()
        pipeline.run(rows([2, 3])).raise_on_failed_jobs()  # a merge, on the same held database
        during = _another_process_reads(warehouse.path)
        assert during.returncode != 0 and "lock" in during.stderr  # DuckDB: one writing process
    after = _another_process_reads(warehouse.path)
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == "3"


def test_an_extract_ends_after_a_1_ms_poll_not_dlts_10_ms(tmp_path: Path, monkeypatch) -> None:
    """The poll our pipelines set is the one dlt's extract loop sleeps at its end (if dlt stops
    sleeping there, the setting in `ingestion.pipelines` has become moot)."""
    import dlt
    from dlt.extract.concurrency import FuturesPool

    slept: list[float] = []
    real_sleep = FuturesPool.sleep

    def spy(self: FuturesPool) -> None:
        slept.append(self.poll_interval)
        real_sleep(self)

    monkeypatch.setattr(FuturesPool, "sleep", spy)
    pipeline = make_pipeline("poll", Warehouse.from_url(f"duckdb:///{tmp_path}/warehouse.duckdb"))
    pipeline.extract(dlt.resource([{"id": 1}], name="one_row"))
    assert slept
    assert max(slept) == 0.001
