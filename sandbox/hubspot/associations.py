"""Associations between CRM objects: stored once per pair, answered in both directions.

The generator writes contact→company, deal→contact and deal→company rows with HubSpot's default
association type ids; a read from the other side gets the paired type id (company→contact is
280 where contact→company is 279), as a real portal reports them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
# type id → the type id of the same association read from the other side
REVERSE_TYPE = {279: 280, 280: 279, 1: 2, 2: 1, 3: 4, 4: 3, 341: 342, 342: 341, 5: 6, 6: 5}

SCHEMA = (
    "create table if not exists associations (from_type text, from_id text, to_type text, to_id text,"
    " type_id integer, primary key (from_type, from_id, to_type, to_id, type_id))",
    "create index if not exists associations_reverse on associations (to_type, to_id)",
)


def create_associations_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


def add_associations(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, str, str, int]]) -> None:
    """Rows of (from_type, from_id, to_type, to_id, type_id), one direction each."""
    conn.executemany("insert or ignore into associations values (?, ?, ?, ?, ?)", rows)


def associated(execute: Any, from_type: str, ids: list[str], to_type: str) -> dict[str, list[tuple[str, int]]]:
    """For each id of `from_type`, its `to_type` associations as (to_id, type_id), both directions."""
    found: dict[str, list[tuple[str, int]]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        marks = ", ".join("?" * len(batch))
        forward = execute(
            f"select from_id, to_id, type_id from associations where from_type = ? and to_type = ?"
            f" and from_id in ({marks})",
            [from_type, to_type, *batch],
        )
        backward = execute(
            f"select to_id, from_id, type_id from associations where to_type = ? and from_type = ?"
            f" and to_id in ({marks})",
            [from_type, to_type, *batch],
        )
        for source, target, type_id in forward:
            found[source].append((target, type_id))
        for source, target, type_id in backward:
            found[source].append((target, REVERSE_TYPE.get(type_id, type_id)))
    for links in found.values():
        links.sort(key=lambda link: (int(link[0]) if link[0].isdigit() else 0, link[0]))
    return found


def v3_block(links: list[tuple[str, int]], from_type: str, to_type: str) -> dict[str, Any]:
    """The `associations.<to_type>` member of a v3 object."""
    label = f"{SINGULAR.get(from_type, from_type)}_to_{SINGULAR.get(to_type, to_type)}"
    return {"results": [{"id": to_id, "type": label} for to_id, _ in links]}


def v4_result(from_id: str, links: list[tuple[str, int]]) -> dict[str, Any]:
    """One `results[]` entry of a v4 batch read."""
    by_target: dict[str, list[int]] = {}
    for to_id, type_id in links:
        by_target.setdefault(to_id, []).append(type_id)
    return {
        "from": {"id": from_id},
        "to": [
            {
                "toObjectId": int(to_id),
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None} for type_id in types
                ],
            }
            for to_id, types in by_target.items()
        ],
    }
