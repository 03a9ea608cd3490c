"""dbt's partial parsing, kept per warehouse.

dbt re-reads only the files that changed when its target folder holds a `partial_parse.msgpack`
written for the same profile; the profile's connection values (the DuckDB file, the Postgres
host and database) are part of that check. dagster-dbt starts each invocation in a new target
folder seeded with the project's `target/partial_parse.msgpack`, which `prepare_manifest` writes
for the default warehouse, so against any other warehouse (Postgres, each test's DuckDB file)
every dbt step parsed the whole project again: 6.5 s instead of 4.4 s here, three steps a loop.

Each warehouse keeps the file dbt last wrote for it, and the next invocation starts from it.
dbt still checks it (project files, vars, versions), so a stale one costs a reparse, never a
wrong manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse import Warehouse

PARTIAL_PARSE_FILE = "partial_parse.msgpack"  # dbt's name, in every target folder
CACHE_FOLDER = "partial_parse"  # below the project's target folder
KEEP = 16  # warehouses whose parse is kept (1 MB each), the most recently used


def target_root(project_dir: Path) -> Path:
    """The project's target folder, as dagster-dbt and dbt resolve it (`DBT_TARGET_PATH`)."""
    return project_dir / os.environ.get("DBT_TARGET_PATH", "target")


def invocation_target(project_dir: Path, step: str, run_id: str) -> Path:
    """A new target folder for one dbt invocation, named as dagster-dbt names its own."""
    return target_root(project_dir) / f"{step}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"


def cache_file(project_dir: Path, warehouse: Warehouse) -> Path:
    """Where `warehouse`'s parse is kept: named by the connection settings dbt's check reads
    (never the password, which the check does not read either)."""
    settings = sorted((k, v) for k, v in warehouse.dbt_env().items() if "PASSWORD" not in k)
    key = hashlib.sha256(repr(settings).encode()).hexdigest()[:16]
    return target_root(project_dir) / CACHE_FOLDER / f"{warehouse.kind}-{key}.msgpack"


@contextmanager
def partial_parse(project_dir: Path, warehouse: Warehouse, target: Path) -> Iterator[None]:
    """Seeds `target` (an invocation's new target folder) with the warehouse's last parse, and
    keeps the parse dbt writes there, if it writes one, for the next invocation."""
    kept = cache_file(project_dir, warehouse)
    target.mkdir(parents=True, exist_ok=True)
    if kept.exists():
        shutil.copyfile(kept, target / PARTIAL_PARSE_FILE)
        os.utime(kept)  # recently used: the last to be pruned
    started = time.time()
    try:
        yield
    finally:
        written = target / PARTIAL_PARSE_FILE
        # dbt writes the file only when it parsed something; the seeded copy is older than `started`.
        if written.exists() and written.stat().st_mtime >= started:
            kept.parent.mkdir(parents=True, exist_ok=True)
            scratch = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
            shutil.copyfile(written, scratch)
            os.replace(scratch, kept)  # a concurrent reader sees the old file or the new, whole
            _prune(kept.parent)


def _prune(folder: Path) -> None:
    """Drops all but the KEEP most recently used parses: every test, and every scratch
    warehouse, is a warehouse of its own."""
    kept = sorted(folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in kept[KEEP:]:
        stale.unlink(missing_ok=True)
