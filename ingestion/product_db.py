"""dlt source for the product's own database: accounts, users and usage events.

Read with dlt's `sql_database` (Arrow backend, so rows never become Python dicts), incremental
on `updated_at` and merged on the primary keys. Where the database lives is one setting,
`LEADLOOP_PRODUCT_DB_URL` (any SQLAlchemy URL); unset, it is the SQLite file of the local world.
On Postgres the tables are read from schema `product`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dlt
from dlt.sources import DltResource
from dlt.sources.sql_database import sql_table

from ingestion.schema_drift import SCHEMA_CONTRACT

PRODUCT_DB_ENV = "LEADLOOP_PRODUCT_DB_URL"
TABLES: dict[str, str] = {"accounts": "id", "users": "id", "usage_events": "id"}
CURSOR_COLUMN = "updated_at"
POSTGRES_SCHEMA = "product"
LOADED_STATE = "loaded_before"


def product_db_url(world_dir: Path | None = None) -> str:
    """The configured product database, or the local world's SQLite file."""
    configured = os.environ.get(PRODUCT_DB_ENV)
    if configured:
        return configured
    world = world_dir or Path(os.environ.get("LEADLOOP_DATA_DIR", "data")) / "world"
    return f"sqlite:///{Path(world).resolve() / 'product.sqlite'}"


def schema_for(url: str) -> str | None:
    return POSTGRES_SCHEMA if url.startswith(("postgresql", "postgres")) else None


def _sqlalchemy_url(url: str) -> str:
    """`postgresql://` names the driver we ship (psycopg2); SQLAlchemy may otherwise pick another."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url


@dlt.source(name="product", max_table_nesting=0)
def product_db_source(url: str | None = None) -> list[DltResource]:
    """One merge resource per table. Reflection is deferred to the run, so Dagster can name the
    assets before the database exists."""
    url = _sqlalchemy_url(url or product_db_url())
    resources = []
    for table, key in TABLES.items():
        resource = sql_table(
            credentials=url,
            table=table,
            schema=schema_for(url),
            backend="pyarrow",
            chunk_size=100_000,
            incremental=dlt.sources.incremental(CURSOR_COLUMN),
            defer_table_reflect=True,
        )
        resource.apply_hints(primary_key=key, write_disposition="merge", schema_contract=SCHEMA_CONTRACT)
        resources.append(resource.add_map(_AppendOnFirstLoad()))
    return resources


class _AppendOnFirstLoad:
    """Marks a resource's batches "append" on its very first load: into an empty table a merge
    only dedupes what the primary keys already make unique, at twice the load time.

    The incremental cursor cannot tell (it has moved by the first batch), so the resource keeps
    its own mark, committed with the load like any state.
    """

    def __init__(self) -> None:
        self.first_load: bool | None = None

    def __call__(self, item: Any) -> Any:
        if self.first_load is None:
            state = dlt.current.resource_state()
            self.first_load = not state.get(LOADED_STATE)
            state[LOADED_STATE] = True
        return dlt.mark.with_hints(item, dlt.mark.make_hints(write_disposition="append")) if self.first_load else item
