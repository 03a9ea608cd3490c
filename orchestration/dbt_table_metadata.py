"""Row counts and typed column schemas on every dbt materialization.

dagster-dbt can fetch both (`fetch_row_counts()`, `fetch_column_metadata()`), but through a dbt
adapter in Dagster's own process, 2.5 s to build per invocation, querying while dbt's subprocess
still writes: on DuckDB, one writer per file, that second connection fails. Instead each dbt step
asks the warehouse once, after dbt has finished: one `information_schema` query for the columns
and their types, and one `count(*)` per table (views are not counted: counting one runs it).
Milliseconds per step, on either warehouse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from dagster import AssetKey, AssetMaterialization, Output, TableColumn, TableSchema

from warehouse import Warehouse

logger = logging.getLogger(__name__)
Relation = tuple[str, str]  # (schema, table)


def table_facts(warehouse: Warehouse, relations: Iterable[Relation]) -> dict[Relation, dict[str, Any]]:
    """Per relation: its columns with their warehouse types, and its row count if it is a table."""
    wanted = sorted(set(relations))
    if not wanted:
        return {}
    where = " or ".join("(table_schema = ? and table_name = ?)" for _ in wanted)
    params = [part for relation in wanted for part in relation]
    facts: dict[Relation, dict[str, Any]] = {r: {"columns": [], "row_count": None} for r in wanted}
    for schema, table, column, data_type in warehouse.query(
        f"select table_schema, table_name, column_name, data_type from information_schema.columns where {where} "
        "order by table_schema, table_name, ordinal_position",
        params,
    ):
        facts[(schema, table)]["columns"].append((column, data_type))
    tables = [
        (schema, table)
        for schema, table in warehouse.query(
            f"select table_schema, table_name from information_schema.tables where ({where}) "
            "and table_type = 'BASE TABLE'",
            params,
        )
    ]
    if tables:
        counts = " union all ".join(
            f"select '{schema}', '{table}', count(*) from \"{schema}\".\"{table}\"" for schema, table in tables
        )
        for schema, table, count in warehouse.query(counts):
            facts[(schema, table)]["row_count"] = int(count)
    return facts


def with_table_metadata(
    events: Iterable[Any],
    warehouse: Warehouse,
    key_of: Callable[[Any], AssetKey | None],
    documented: Mapping[AssetKey, TableSchema] | None = None,
) -> Iterator[Any]:
    """`events` of one dbt step, each materialization with `dagster/row_count` and a typed
    `dagster/column_schema` (descriptions kept from the dbt docs in `documented`).

    The events are held until dbt finishes, so the warehouse is free to ask; a failed step still
    hands over every event it produced before its error is raised."""
    held: list[Any] = []
    error: BaseException | None = None
    try:
        for event in events:
            held.append(event)
    except Exception as exc:  # raised again below, after the events
        error = exc
    keys = {id(event): key_of(event) for event in held if isinstance(event, Output | AssetMaterialization)}
    relations = {id_: (warehouse.schema(key.path[0]), key.path[-1]) for id_, key in keys.items() if key is not None}
    try:
        facts = table_facts(warehouse, relations.values())
    except Exception as exc:  # the metadata is a help, never a reason to fail a built model
        logger.warning("could not read row counts and column types: %s", type(exc).__name__)
        facts = {}
    for event in held:
        relation = relations.get(id(event))
        fact = facts.get(relation) if relation else None
        if fact and fact["columns"]:
            key = keys[id(event)]
            descriptions = {c.name: c.description for c in (documented or {}).get(key, TableSchema([])).columns}
            schema = TableSchema(
                columns=[TableColumn(name, kind, description=descriptions.get(name)) for name, kind in fact["columns"]]
            )
            extra: dict[str, Any] = {"dagster/column_schema": schema}  # Dagster's standard table keys
            if fact["row_count"] is not None:
                extra["dagster/row_count"] = fact["row_count"]
            event = event.with_metadata({**(event.metadata or {}), **extra})
        yield event
    if error is not None:
        raise error
