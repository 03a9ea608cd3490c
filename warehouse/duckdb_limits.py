"""How much of the machine one DuckDB process may take: memory, threads, and where it spills.

DuckDB's own defaults are 80 % of the machine's memory and one thread per core for every process
that opens the warehouse. On the machine Leadloop is sized for (2 cores, 24 GB, shared by dbt,
Dagster's step processes and dlt loads) that let dbt's process building `int_people` and the
scores reach 7 GB at 1M leads and be killed. With a limit, DuckDB's large joins, aggregates and
sorts spill to `temp_directory` instead of growing. The same settings go to every DuckDB process
Leadloop opens on the warehouse: dbt (a plugin reads `Warehouse.dbt_env()`, dbt_duckdb_plugin.py), dlt
loads and our own connections (`Warehouse.connect()`), and the in-memory DuckDB that identity
resolution works in (`scratch_connection()`), which reached 5 GB at 1M leads without one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEMORY_LIMIT_ENV = "LEADLOOP_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "LEADLOOP_DUCKDB_THREADS"
TEMP_DIR_ENV = "LEADLOOP_DUCKDB_TEMP_DIR"
# dbt's memory limit for one invocation, over MEMORY_LIMIT_ENV, read only by dbt's plugin
# (warehouse/dbt_duckdb_plugin.py): the lead loop gives dbt what its own process leaves.
DBT_MEMORY_LIMIT_ENV = "LEADLOOP_DBT_DUCKDB_MEMORY_LIMIT"
# A quarter of 24 GB less some room: two DuckDB processes (dbt and a Dagster step) fit side by side
# with Dagster's own processes, and the whole-run target of issue 24 is 4 GB.
DEFAULT_MEMORY_LIMIT = "3GB"
# The machine has 2 cores; more threads only add memory (each thread holds its own buffers).
DEFAULT_THREADS = 2

# The units DuckDB's memory_limit takes, in bytes (KB is 1000 bytes, KiB 1024).
_UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_MEMORY = re.compile(rf"^\s*\d+(\.\d+)?\s*({'|'.join(_UNITS)})\s*$", re.IGNORECASE)


def resident_bytes() -> int:
    """What this process holds in memory now (its resident set), what an in-memory DuckDB opened
    in it must leave room for. Counting only the Arrow data it scans missed the rest: in the lead
    loop, at 1M leads, the Dagster process held 1.0-1.5 GB besides identity's records (imports,
    earlier steps' allocator pages), and identity's DuckDB, given 3 GB less the records, took
    the process to 4.6-5.2 GB. Where `/proc` is missing (macOS) it falls back to Arrow's
    allocations, which were the larger part."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import pyarrow as pa

        return pa.total_allocated_bytes()


def held_beside(con: Any) -> int:
    """What this process holds outside the DuckDB `con` (its resident set less what DuckDB says it
    uses): what that DuckDB's limit must leave room for once it is already working. Arrow's pool
    is asked to give back what it freed first, so pages it only keeps for later do not count."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    inside = con.sql("select coalesce(sum(memory_usage_bytes), 0) from duckdb_memory()").fetchall()[0][0]
    return max(resident_bytes() - int(inside), 0)


class DuckDBLimitsError(ValueError):
    """A limit variable is set to something DuckDB would not take; the message says what to set."""


@dataclass(frozen=True)
class DuckDBLimits:
    memory_limit: str
    threads: int
    temp_directory: Path

    @classmethod
    def from_env(cls, database: Path | None = None) -> DuckDBLimits:
        """The limits for the warehouse file `database`; spills go next to it by default
        (`<file>.tmp`, DuckDB's own choice), so they land on the disk the warehouse has room on.
        Without a file (an in-memory DuckDB beside a Postgres warehouse) they go to the system's
        temporary folder."""
        memory = os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT
        if not _MEMORY.match(memory):
            raise DuckDBLimitsError(f"{MEMORY_LIMIT_ENV}={memory!r} is not a size: use e.g. '3GB' or '512MB'.")
        raw_threads = os.environ.get(THREADS_ENV, "").strip() or str(DEFAULT_THREADS)
        if not raw_threads.isdigit() or int(raw_threads) < 1:
            raise DuckDBLimitsError(f"{THREADS_ENV}={raw_threads!r} is not a positive whole number of threads.")
        temp = os.environ.get(TEMP_DIR_ENV, "").strip()
        if temp:
            temp_directory = Path(temp).resolve()
        elif database is not None:
            temp_directory = database.with_name(database.name + ".tmp")
        else:
            temp_directory = Path(tempfile.gettempdir()) / "leadloop-duckdb.tmp"
        return cls(
            memory_limit=memory.replace(" ", "").upper(), threads=int(raw_threads), temp_directory=temp_directory
        )

    def memory_bytes(self) -> int:
        """`memory_limit` in bytes, as DuckDB reads it (KB is 1000 bytes, KiB 1024)."""
        found = re.match(r"^([\d.]+)([A-Z]+)$", self.memory_limit.upper())
        if not found or found.group(2) not in _UNITS:
            raise DuckDBLimitsError(f"{MEMORY_LIMIT_ENV}={self.memory_limit!r} is not a size: use e.g. '3GB'.")
        number, unit = found.groups()
        return int(float(number) * _UNITS[unit])

    def less(self, held: int, at_least: float = 0.5) -> DuckDBLimits:
        """These limits for a DuckDB in a process that already holds `held` bytes outside it
        (`resident_bytes()`: the Arrow tables an in-memory DuckDB scans in place, and whatever
        else the process keeps): the process as a whole keeps to `memory_limit`. Never below
        `at_least` of it: past where a workload's spills start costing more than they save."""
        remaining = max(self.memory_bytes() - held, int(self.memory_bytes() * at_least))
        return DuckDBLimits(f"{remaining // 2**10}KIB", self.threads, self.temp_directory)

    def settings(self) -> dict[str, Any]:
        return {"memory_limit": self.memory_limit, "threads": self.threads, "temp_directory": str(self.temp_directory)}

    def apply(self, conn: Any) -> None:
        """Sets the limits on an open DuckDB connection. They are settings of the database
        instance, so every connection that attaches to it later (dlt's, by path) has them too;
        set with SET rather than `connect(config=…)`, which DuckDB refuses for a second
        connection to an open file whose config differs."""
        for name, value in self.settings().items():
            # DuckDB refuses to set temp_directory again once a spill has used it, even to the
            # same folder: a second connection to an open instance leaves it as it is.
            if name == "temp_directory" and conn.execute(f"select current_setting('{name}')").fetchall()[0][0] == value:
                continue
            quoted = "'" + value.replace("'", "''") + "'" if isinstance(value, str) else str(value)
            conn.execute(f"set {name} = {quoted}").fetchall()  # nothing left pending on the connection

    @contextmanager
    def scratch_connection(self) -> Iterator[Any]:
        """An in-memory DuckDB held to these limits, spilling to a folder of its own, removed on
        exit.

        Its own folder, not `temp_directory` itself: an in-memory database holds no lock on the
        warehouse file, so it runs beside dbt or a load on it, and DuckDB names its spill files
        alike in every process and, on close, deletes every `duckdb_temp_*` file in its folder
        (the whole folder when it created it). A sibling of `temp_directory`, not a subfolder,
        so another process's DuckDB removing the folder it created cannot take ours with it."""
        import duckdb

        self.temp_directory.parent.mkdir(parents=True, exist_ok=True)
        spill = Path(tempfile.mkdtemp(prefix=self.temp_directory.name + "-scratch-", dir=self.temp_directory.parent))
        try:
            with duckdb.connect() as conn:
                DuckDBLimits(self.memory_limit, self.threads, spill).apply(conn)
                yield conn
        finally:
            shutil.rmtree(spill, ignore_errors=True)

    def dbt_env(self) -> dict[str, str]:
        """What `profiles.yml` reads for dbt-duckdb's `settings`."""
        return {
            MEMORY_LIMIT_ENV: self.memory_limit,
            THREADS_ENV: str(self.threads),
            TEMP_DIR_ENV: str(self.temp_directory),
        }
