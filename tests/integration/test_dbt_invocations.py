"""How the lead loop invokes dbt: no adapter built in Dagster's process, the installed dbt's
version known without running it, and one full parse per warehouse, partial ones after."""

import importlib.metadata
import json
import os
import time

import pytest

from orchestration.assets.dbt import DBT_PROJECT_DIR, dbt_resource, prepare_manifest
from orchestration.dbt_partial_parse import (
    PARTIAL_PARSE_FILE,
    cache_file,
    invocation_target,
    partial_parse,
    target_root,
)
from warehouse import Warehouse
from warehouse.duckdb_limits import DBT_MEMORY_LIMIT_ENV


def parse(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], object]:
    """Runs the real `dbt parse` through the resource as the dbt asset does; the names of
    dbt's events, and the invocation."""
    for name, value in warehouse.dbt_env().items():
        monkeypatch.setenv(name, value)
    target = invocation_target(DBT_PROJECT_DIR, "test_parse", "0123456789")
    with partial_parse(DBT_PROJECT_DIR, warehouse, target):
        invocation = dbt_resource().cli(["parse"], target_path=target)
        names = [event.raw_event["info"]["name"] for event in invocation.stream_raw_events()]
    assert invocation.is_successful()
    return names, invocation


def test_the_second_parse_for_a_warehouse_is_partial_and_builds_no_adapter(tmp_path, monkeypatch):
    first = Warehouse.from_url(f"duckdb:///{tmp_path / 'first.duckdb'}")
    other = Warehouse.from_url(f"duckdb:///{tmp_path / 'other.duckdb'}")
    assert cache_file(DBT_PROJECT_DIR, first) != cache_file(DBT_PROJECT_DIR, other)
    assert not cache_file(DBT_PROJECT_DIR, first).exists()
    prepare_manifest()  # the project's own parse, for the default warehouse
    assert (target_root(DBT_PROJECT_DIR) / PARTIAL_PARSE_FILE).exists()

    names, _ = parse(first, monkeypatch)
    assert "UnableToPartialParse" in names  # another profile: dbt cannot start from the project's parse
    assert cache_file(DBT_PROJECT_DIR, first).exists()
    names, invocation = parse(first, monkeypatch)

    assert "UnableToPartialParse" not in names, names
    assert invocation.adapter is None
    assert (invocation.target_path / PARTIAL_PARSE_FILE).exists()
    assert dbt_resource()._cli_version.base_version == importlib.metadata.version("dbt-core")


def test_a_kept_parse_is_replaced_only_by_one_dbt_wrote(tmp_path):
    project = tmp_path / "project"
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}")
    kept = cache_file(project, warehouse)

    target = invocation_target(project, "step", "run")
    with partial_parse(project, warehouse, target):
        pass  # dbt wrote nothing: nothing is kept
    assert not kept.exists()

    with partial_parse(project, warehouse, target):
        (target / PARTIAL_PARSE_FILE).write_bytes(b"parse one")
    assert kept.read_bytes() == b"parse one"

    second = invocation_target(project, "step", "run")
    assert second != target
    with partial_parse(project, warehouse, second):
        assert (second / PARTIAL_PARSE_FILE).read_bytes() == b"parse one"  # seeded
    assert kept.read_bytes() == b"parse one"

    with pytest.raises(RuntimeError), partial_parse(project, warehouse, second):
        (second / PARTIAL_PARSE_FILE).write_bytes(b"parse two")
        raise RuntimeError("the build failed after parsing")
    assert kept.read_bytes() == b"parse two"
    assert sorted(p.name for p in kept.parent.iterdir()) == [kept.name]  # no scratch file left


def test_warehouses_differing_only_in_password_share_a_parse_and_the_file_names_no_secret():
    one = Warehouse.from_url("postgresql://leadloop:secret-one@db.internal:5432/leads")
    two = Warehouse.from_url("postgresql://leadloop:secret-two@db.internal:5432/leads")
    other_db = Warehouse.from_url("postgresql://leadloop:secret-one@db.internal:5432/other")
    assert cache_file(DBT_PROJECT_DIR, one) == cache_file(DBT_PROJECT_DIR, two)
    assert cache_file(DBT_PROJECT_DIR, one) != cache_file(DBT_PROJECT_DIR, other_db)
    assert "secret" not in str(cache_file(DBT_PROJECT_DIR, one))


def test_only_the_most_recently_used_parses_are_kept(tmp_path, monkeypatch):
    import orchestration.dbt_partial_parse as parses

    monkeypatch.setattr(parses, "KEEP", 2)
    project = tmp_path / "project"
    warehouses = [Warehouse.from_url(f"duckdb:///{tmp_path / f'w{i}.duckdb'}") for i in range(3)]

    def run(warehouse: Warehouse, content: bytes) -> None:
        target = invocation_target(project, "step", "run")
        with partial_parse(project, warehouse, target):
            (target / PARTIAL_PARSE_FILE).write_bytes(content)

    run(warehouses[0], b"0")
    run(warehouses[1], b"1")
    now = time.time()
    os.utime(cache_file(project, warehouses[0]), (now - 120, now - 120))  # the oldest, by far
    os.utime(cache_file(project, warehouses[1]), (now - 60, now - 60))
    with partial_parse(project, warehouses[0], invocation_target(project, "step", "run")):
        pass  # the oldest is used again: now the second is the least recently used
    run(warehouses[2], b"2")

    assert cache_file(project, warehouses[0]).read_bytes() == b"0"
    assert not cache_file(project, warehouses[1]).exists()
    assert cache_file(project, warehouses[2]).read_bytes() == b"2"


def run_client(args: list[str], env: dict[str, str], importtime: bool = False):
    """`leadloop-dbt <args>` as dagster-dbt starts it (optionally with Python's import timing)."""
    import subprocess
    import sys

    code = "import sys; from orchestration.dbt_forkserver import client_main; sys.argv[1:] = %r; client_main()"
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code % args]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR)


def test_a_forked_dbt_answers_as_dbt_would_and_the_client_imports_no_dbt(tmp_path):
    import subprocess

    from orchestration.dbt_forkserver import SOCKET_ENV, ensure_server, real_dbt

    ensure_server()
    served = dict(os.environ)
    alone = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    missing = ["parse", "--project-dir", str(tmp_path / "no_project")]
    for args in (["--version"], missing):
        plain = subprocess.run([real_dbt(), *args], env=alone, capture_output=True, text=True, cwd=DBT_PROJECT_DIR)
        forked = run_client(args, served, importtime=True)
        fallback = run_client(args, alone)
        assert forked.returncode == fallback.returncode == plain.returncode
        assert forked.stdout.splitlines()[-1:] == plain.stdout.splitlines()[-1:] == fallback.stdout.splitlines()[-1:]
        # The client itself imported no dbt: the fork server's child did the work.
        imported = [line.rsplit("|", 1)[-1].strip() for line in forked.stderr.splitlines() if "import time:" in line]
        assert imported and not [name for name in imported if name.startswith("dbt")]
    assert plain.returncode != 0  # the missing project fails, and the failure came through as it is


def test_a_parse_in_another_process_waits_for_the_one_in_progress():
    """Two processes preparing the manifest at once (two test workers, `leadloop dev` beside a
    demo): the second waits for the first's parse instead of reading a half-written manifest."""
    import fcntl
    import subprocess
    import sys

    manifest = prepare_manifest()
    with open(manifest.parent / ".prepare_manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a parse in progress holds it
        child = subprocess.Popen(
            [sys.executable, "-c", "from orchestration.assets.dbt import prepare_manifest; print(prepare_manifest())"],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(8)  # its imports take a few seconds; then it waits on the lock
        assert child.poll() is None, "the second process read the manifest while a parse held the lock"
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0 and out.strip() == str(manifest)


def test_a_parse_replaces_the_manifest_whole_while_others_read_it():
    """Readers take no lock (dagster-dbt reads `manifest_path` itself): a parse must never leave
    a half-written manifest where one can be read. A `leadloop dev` starting beside a test worker
    once did, and the worker's definitions failed on truncated JSON."""
    import subprocess
    import sys

    manifest = prepare_manifest()
    before = manifest.stat().st_ino
    child = subprocess.Popen(
        [sys.executable, "-c", "from orchestration.assets.dbt import prepare_manifest; prepare_manifest(force=True)"]
    )
    reads = 0
    while child.poll() is None:
        json.loads(manifest.read_text())  # raises on a half-written file
        reads += 1
    assert child.returncode == 0 and reads > 0
    assert manifest.stat().st_ino != before, "the parse wrote into the file readers had open"
    assert json.loads(manifest.read_text())["metadata"]["project_name"] == "leadloop"
    assert not [p for p in manifest.parent.glob(".parse-*")], "the parse left its scratch folder"


def test_dbt_gets_the_memory_limit_it_is_given_and_a_new_one_needs_no_new_parse(tmp_path, monkeypatch):
    """The lead loop gives each dbt step what its own process leaves of the share: dbt's DuckDB
    must hold to it, and a limit that differs from the last invocation's must not cost a parse
    of the whole project (dbt hashes the profile's connection settings)."""
    # An earlier loop in this process leaves its warehouse's limits in the environment (the dbt
    # asset sets them for dagster-dbt to hand on): this warehouse's own defaults, not those.
    for name in ("LEADLOOP_DUCKDB_MEMORY_LIMIT", "LEADLOOP_DUCKDB_THREADS", "LEADLOOP_DUCKDB_TEMP_DIR"):
        monkeypatch.delenv(name, raising=False)
    warehouse = Warehouse.from_url(f"duckdb:///{tmp_path / 'limits.duckdb'}")
    for name, value in warehouse.dbt_env().items():
        monkeypatch.setenv(name, value)
    seen = []
    for limit in ("700MB", "900MB"):
        monkeypatch.setenv(DBT_MEMORY_LIMIT_ENV, limit)
        target = invocation_target(DBT_PROJECT_DIR, "test_limits", "0123456789")
        sql = "select current_setting('memory_limit') as m, current_setting('temp_directory') as d"
        with partial_parse(DBT_PROJECT_DIR, warehouse, target):
            invocation = dbt_resource().cli(["show", "--inline", sql, "--output", "json"], target_path=target)
            events = [event.raw_event for event in invocation.stream_raw_events()]
        assert invocation.is_successful()
        (shown,) = [e["data"]["preview"] for e in events if e["info"]["name"] == "ShowNode"]
        seen.append((json.loads(shown)[0], [e["info"]["name"] for e in events]))
    (first, _), (second, second_events) = seen
    # DuckDB's units: 700 MB is 667.5 MiB, 900 MB 858.3 MiB; spills beside the warehouse file.
    assert (first["m"], second["m"]) == ("667.5 MiB", "858.3 MiB")
    assert second["d"] == str(tmp_path / "limits.duckdb.tmp")
    assert "UnableToPartialParse" not in second_events
