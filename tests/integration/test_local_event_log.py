"""The data dir's Dagster home keeps its event log through orchestration/local_event_log.py: a
run's events are there for another process (the UI, `leadloop dev`) to read, and deleting a run
deletes its events."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from dagster import AssetKey, DagsterInstance, asset, materialize

from orchestration.local_event_log import LocalSqliteEventLogStorage
from orchestration.paths import ensure_dagster_home


@asset
def one() -> int:
    return 1


@asset
def two(one: int) -> int:
    return one + 1


def test_a_run_on_the_local_instance_is_read_by_another_process(tmp_path):
    home = ensure_dagster_home(tmp_path / "dagster_home")
    instance = DagsterInstance.from_config(str(home))
    assert isinstance(instance.event_log_storage, LocalSqliteEventLogStorage)

    result = materialize([one, two], instance=instance)
    assert result.success
    written = len(instance.all_logs(result.run_id))
    assert written > 10

    reader = textwrap.dedent(
        f"""
        from dagster import AssetKey, DagsterInstance
        instance = DagsterInstance.from_config({str(home)!r})
        print(len(instance.all_logs({result.run_id!r})))
        print(instance.get_latest_materialization_event(AssetKey("two")).run_id)
        """
    )
    out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(written), result.run_id]

    # A second run on the same instance and a deleted first one: the engines it keeps open
    # neither lose the second run's events nor keep the first's.
    again = materialize([one, two], instance=instance)
    instance.delete_run(result.run_id)
    assert instance.all_logs(result.run_id) == []
    assert instance.get_latest_materialization_event(AssetKey("two")).run_id == again.run_id
    instance.dispose()


def test_a_dagster_yaml_written_by_someone_else_is_left_alone(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    ensure_dagster_home(home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    # Ours is rewritten where the home moved (a data dir copied elsewhere): its storage follows.
    ours = ensure_dagster_home(tmp_path / "ours")
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "dagster.yaml").write_text((ours / "dagster.yaml").read_text())
    ensure_dagster_home(moved)
    text = (moved / "dagster.yaml").read_text()
    assert str(moved.resolve() / "storage") in text and str(ours / "storage") not in text
