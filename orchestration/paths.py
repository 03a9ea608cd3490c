"""Every path the CLI and Dagster write, derived from one data dir (`LEADLOOP_DATA_DIR`).

A checkout is shared by tests, `make dev` and the demo; anything written beside the code (a
warehouse in `./data`, dbt's `target/` and `logs/`, a throwaway Dagster home) made runs
invisible to each other or clobbered another's files. One data dir, one place.

Stdlib only: the CLI imports this before parsing arguments and `--help` must stay instant.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

DATA_DIR_ENV = "LEADLOOP_DATA_DIR"
WAREHOUSE_ENV = "LEADLOOP_WAREHOUSE_URL"
DEFAULT_DATA_DIR = "data"


class DataDirError(ValueError):
    """The data dir cannot be used; the message says which path and what to do."""


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The data dir from the environment, absolute (relative to the current directory)."""
    env = os.environ if env is None else env
    return Path(env.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser().resolve()


def ensure_writable(folder: Path) -> Path:
    """Creates `folder` and proves it takes a file, so a run fails before it starts, not halfway."""
    folder = Path(folder).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".leadloop-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DataDirError(
            f"data dir {folder} is not writable ({reason}): "
            f"pass --data-dir or set {DATA_DIR_ENV} to a folder you can write"
        ) from None
    return folder


def warehouse_url(folder: Path, env: Mapping[str, str] | None = None) -> str:
    """`LEADLOOP_WAREHOUSE_URL`, or DuckDB in the data dir. A DuckDB URL naming a relative file is
    refused: relative to which directory would differ between the CLI, `dagster dev` and dbt."""
    env = os.environ if env is None else env
    url = (env.get(WAREHOUSE_ENV) or "").strip()
    if not url:
        return f"duckdb:///{Path(folder).resolve() / 'warehouse.duckdb'}"
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "duckdb" and rest and not rest.startswith("//"):
        name = rest.lstrip("/")
        raise DataDirError(
            f"{WAREHOUSE_ENV}={url!r} names a relative file: give an absolute path "
            f"(duckdb:///{Path(folder).resolve() / name}) or unset it for {Path(folder).resolve() / 'warehouse.duckdb'}"
        )
    return url


def dagster_home(folder: Path, env: Mapping[str, str] | None = None) -> Path:
    """`DAGSTER_HOME` if set, else one persistent home in the data dir, so the demo's runs and
    `make dev` share one instance and the UI shows what the demo did."""
    env = os.environ if env is None else env
    return Path(env.get("DAGSTER_HOME") or Path(folder).resolve() / "dagster_home")


LOCAL_INSTANCE_MARKER = "# Leadloop's local Dagster instance"


def ensure_dagster_home(home: Path) -> Path:
    """Creates the Dagster home with a `dagster.yaml` (without one Dagster warns on every start):
    SQLite storage in this folder, its event log through `orchestration/local_event_log.py`. A
    `dagster.yaml` someone wrote is left as it is; the one written here is rewritten when the
    home moved or an older Leadloop wrote it."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = (
        f"{LOCAL_INSTANCE_MARKER}: runs, events and schedules in SQLite files here.\n"
        "# For production (Postgres storage) see docs/deploy/dagster.yaml.\n"
        "event_log_storage:\n"
        "  module: orchestration.local_event_log\n"
        "  class: LocalSqliteEventLogStorage\n"
        "  config:\n"
        f"    base_dir: {json.dumps(str(home / 'storage'))}\n"
    )
    current = config.read_text() if config.exists() else None
    if current is None or (current.startswith(LOCAL_INSTANCE_MARKER) and current != wanted):
        config.write_text(wanted)
    return home


def run_env(folder: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a run needs so everything it writes lands in `folder`: the world and sandbox
    (`LEADLOOP_DATA_DIR`), the warehouse, dbt's target and logs, and the Dagster home."""
    env = os.environ if env is None else env
    folder = Path(folder).resolve()
    return {
        DATA_DIR_ENV: str(folder),
        WAREHOUSE_ENV: warehouse_url(folder, env),
        "DBT_TARGET_PATH": env.get("DBT_TARGET_PATH") or str(folder / "dbt" / "target"),
        "DBT_LOG_PATH": env.get("DBT_LOG_PATH") or str(folder / "dbt" / "logs"),
        "DAGSTER_HOME": str(dagster_home(folder, env)),
    }
