"""A dbt-duckdb plugin that holds dbt's DuckDB to Leadloop's limits, read from the environment
as the connection opens.

Not `config_options` in profiles.yml, where the limits were: dbt hashes the profile's connection
settings to decide whether it may parse partially, so a memory limit that differs between dbt
invocations made each of them parse the whole project again. It does differ in the lead loop,
where dbt runs beside the Dagster process and gets what that process leaves of the share
(`DBT_MEMORY_LIMIT_ENV`, set by orchestration/assets/dbt.py for its one invocation).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from warehouse.duckdb_limits import DBT_MEMORY_LIMIT_ENV, DuckDBLimits


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        path = getattr(self.creds, "path", None)
        database = Path(path) if path and path != ":memory:" else None
        limits = DuckDBLimits.from_env(database)
        if own := os.environ.get(DBT_MEMORY_LIMIT_ENV, "").strip():
            limits = replace(limits, memory_limit=own)
        limits.apply(conn)
