"""Shared keys link records, links make people, and a person's id depends only on its cluster."""

from datetime import datetime

import duckdb
import pyarrow as pa

from silver.identity.clusters import person_ids
from silver.identity.deterministic import LINK_SCHEMA, deterministic_links
from silver.identity.records import COLUMNS
from silver.identity.standardize import standardize


def records(*rows: dict) -> pa.Table:
    filled = [{c: row.get(c) for c in COLUMNS} for row in rows]
    for n, row in enumerate(filled):
        row["created_at"] = row["created_at"] or datetime(2026, 1, 1 + n)
    schema = pa.schema([pa.field(c, pa.timestamp("us") if c == "created_at" else pa.string()) for c in COLUMNS])
    return pa.Table.from_pylist(filled, schema=schema)


def links(*pairs: tuple[str, str]) -> pa.Table:
    rows = [
        {
            "record_key_l": a,
            "record_key_r": b,
            "rule": "t",
            "match_weight": None,
            "match_probability": 1.0,
            "agreed_on": "t",
        }
        for a, b in pairs
    ]
    return pa.Table.from_pylist(rows, schema=LINK_SCHEMA)


def ids(table: pa.Table) -> dict[str, str]:
    return dict(zip(table["record_key"].to_pylist(), table["person_id"].to_pylist(), strict=True))


def test_a_cluster_is_named_by_its_earliest_record_and_keeps_its_name():
    base = records({"record_key": "b"}, {"record_key": "a"}, {"record_key": "c"}, {"record_key": "d"})
    first = ids(person_ids(base, links(("a", "b"), ("b", "c"))))
    assert first["a"] == first["b"] == first["c"] != first["d"]

    unrelated = pa.concat_tables([base, records({"record_key": "e", "created_at": datetime(2025, 1, 1)})])
    second = ids(person_ids(unrelated, links(("a", "b"), ("b", "c"))))
    assert {k: second[k] for k in first} == first  # nobody flips when a stranger arrives
    assert second["e"] not in first.values()

    # Two people found to be one take the older one's id ("b" was created first).
    merged = ids(person_ids(base, links(("a", "b"), ("b", "c"), ("c", "d"))))
    assert set(merged.values()) == {first["b"]}


def test_shared_keys_link_and_shared_offices_do_not():
    table = standardize(
        records(
            {"record_key": "lead:1", "first_name": "Ann", "last_name": "Lee", "email": "Ann.Lee@acme.com"},
            {"record_key": "hs:1", "first_name": "Ann", "last_name": "Lee", "email": " ann.lee+promo@ACME.com"},
            {"record_key": "lead:2", "first_name": "Ann", "last_name": "Lee", "phone": "+1 415 555 0100"},
            {"record_key": "hs:2", "first_name": "ann", "last_name": "lee", "phone": "14155550100"},
            # A colleague on the same switchboard and at the same address: another person.
            {"record_key": "lead:3", "first_name": "Bo", "last_name": "Lee", "phone": "(415) 555-0100"},
            {"record_key": "hs:3", "first_name": "Cy", "last_name": "Ng", "linked_record_key": "lead:3"},
        )
    )
    with duckdb.connect() as con:
        con.register("records", table)
        found = deterministic_links(con)
    columns = (found[c].to_pylist() for c in ("record_key_l", "record_key_r", "rule"))
    pairs = set(zip(*columns, strict=True))
    assert pairs == {
        ("lead:1", "hs:1", "same_email"),
        ("lead:2", "hs:2", "same_phone_and_name"),
        ("lead:3", "hs:3", "cross_system_id"),
    }
    people = ids(person_ids(table, found))
    assert people["lead:2"] != people["lead:3"]


def test_inputs_too_small_to_train_on_still_resolve():
    from silver.identity.resolve import resolve

    three = records(*({"record_key": f"lead:{i}", "first_name": f"A{i}", "last_name": "Lee"} for i in range(3)))
    for table in (three, three.slice(0, 1), three.slice(0, 0)):
        resolution = resolve(table)
        assert resolution.people == table.num_rows
        assert resolution.person_records().num_rows == table.num_rows
