"""What a user sees when they get something wrong on the command line: one line saying what is
wrong and what to do, exit code 2, and nothing written. Each case is a real `leadloop` process
(cheap: nothing heavy is imported before the arguments are checked)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.cli import replace_dir
from orchestration.paths import run_env

LEADLOOP = str(Path(sys.executable).with_name("leadloop"))
HEAVY = ("dagster", "dagster_dbt", "dbt", "dlt", "pandas", "numpy", "pyarrow")


def leadloop(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEADLOOP_")}
    return subprocess.run(
        [LEADLOOP, *args], capture_output=True, text=True, cwd=cwd, env={**environ, **env}, timeout=60
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadloop"), lines
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["generate", "--leads", "-5"], "Invalid value for '--leads': -5 is not in the range x>=1"),
        (["generate", "--days", "-3"], "Invalid value for '--days': -3 is not in the range x>=0"),
        (["generate", "--days", "1"], "no world at"),
        (["erase", "--email", "not-an-email"], "is not an email address (name@domain.tld): nothing registered"),
    ],
)
def test_bad_arguments_are_one_line_and_write_nothing(tmp_path, args, expected):
    data = tmp_path / "data"
    line = one_line_error(leadloop(*args, "--data-dir", str(data), cwd=tmp_path))
    assert expected in line
    assert "not-an-email" not in line  # an address, even a mistyped one, is not echoed
    # At most the (empty) data dir itself: no world, no half-written truth/, no warehouse.
    assert [p.name for p in tmp_path.rglob("*")] in ([], ["data"])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h:notaport/db", "has a port that is not a number from 1 to 65535"),
        ("duckdb://relative.duckdb", "names a relative file: give an absolute path"),
        ("duckdb:///data/warehouse.duckdb", "names a relative file"),
        ("snowflake://acct/db", "scheme 'snowflake' is not supported"),
    ],
)
def test_unusable_warehouse_urls_are_refused_before_anything_is_written(tmp_path, url, expected):
    line = one_line_error(leadloop("erase", "--email", "jane@example.com", cwd=tmp_path, LEADLOOP_WAREHOUSE_URL=url))
    assert expected in line and "LEADLOOP_WAREHOUSE_URL" in line
    assert not list(tmp_path.rglob("*.duckdb"))


def test_postgres_down_is_one_line_that_says_what_to_check(tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/leadloop"
    for command in (["demo"], ["erase", "--email", "jane@example.com"], ["dbt", "debug"]):
        line = one_line_error(leadloop(*command, cwd=tmp_path, LEADLOOP_WAREHOUSE_URL=url, LEADLOOP_DATA_DIR="d"))
        assert "cannot connect to the warehouse" in line
        assert "is Postgres running? check LEADLOOP_WAREHOUSE_URL" in line
    assert not (tmp_path / "d" / "world").exists()


def test_a_data_dir_that_cannot_be_written_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for command in (["demo"], ["generate", "--leads", "5"], ["sandbox"]):
        line = one_line_error(leadloop(*command, cwd=tmp_path, LEADLOOP_DATA_DIR=str(blocker / "data")))
        assert f"data dir {blocker / 'data'} is not writable" in line
        assert "pass --data-dir or set LEADLOOP_DATA_DIR" in line


def test_help_loads_nothing_heavy(tmp_path):
    """--help must answer at once (bench/cli_help.py times it): no Dagster, dbt, dlt or pandas
    before the arguments are parsed."""
    code = (
        "import sys\n"
        "from orchestration.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "assert not heavy, heavy\n"
    )
    for command in ([], ["generate"], ["sandbox"], ["demo"], ["dev"], ["erase"], ["sync"], ["dbt"], ["report"]):
        done = subprocess.run([sys.executable, "-c", code, *command, "--help"], capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
        assert "Usage: leadloop" in done.stdout


def test_the_data_dir_governs_every_path_a_run_writes(tmp_path):
    env = run_env(tmp_path / "data", {})
    assert env["LEADLOOP_WAREHOUSE_URL"] == f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}"
    for name in ("LEADLOOP_DATA_DIR", "DBT_TARGET_PATH", "DBT_LOG_PATH", "DAGSTER_HOME"):
        assert Path(env[name]).is_relative_to(tmp_path / "data"), name


def test_generate_and_advance_write_into_the_data_dir_only(tmp_path):
    data = tmp_path / "data"
    made = leadloop("generate", "--leads", "20", cwd=tmp_path, LEADLOOP_DATA_DIR=str(data))
    assert made.returncode == 0, made.stderr
    moved = leadloop("generate", "--days", "1", cwd=tmp_path, LEADLOOP_DATA_DIR=str(data))
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith("advanced the world: new_leads=")
    assert '"day": 1' in (data / "world" / "world.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert sorted(p.name for p in data.iterdir()) == ["world"]  # no scratch folder left behind


def test_a_failed_generation_leaves_the_previous_world_whole(tmp_path):
    world = tmp_path / "world"
    world.mkdir()
    (world / "world.json").write_text("old")

    def crash(scratch: Path) -> None:
        (scratch / "world.json").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_dir(world, crash, start_from_existing=True)
    assert (world / "world.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["world"]
    assert replace_dir(world, lambda scratch: (scratch / "world.json").write_text("new")) == 3
    assert (world / "world.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["world"]
