"""The reporting app's read-only access, on each warehouse: a SELECT on gold returns rows; a
DROP, an UPDATE or a second statement is refused by the guard, and the connection itself
refuses a write that gets past it; the data is unchanged; other schemas stay closed."""

import pytest

from reporting.readonly import QueryTimeout, for_reading
from reporting.sql_guard import RefusedQuery
from warehouse import Warehouse

ROWS = [("p1", 80), ("p2", 55), ("p3", 20)]


def seed(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for schema in ("gold", "silver"):
            cur.execute(f"create schema if not exists {schema}")
        cur.execute("create table gold.scores (person_id varchar, score integer)")
        cur.executemany(warehouse.adapt_sql("insert into gold.scores values (?, ?)"), ROWS)
        cur.execute("create table silver.secrets (email varchar)")
        cur.execute("insert into silver.secrets values ('jane@example.com')")


def contents(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query("select person_id, score from gold.scores order by person_id")


def test_only_one_select_on_gold_runs_and_nothing_changes(warehouse, monkeypatch):
    monkeypatch.delenv("LEADLOOP_REPORT_PASSWORD", raising=False)
    seed(warehouse)
    reader = for_reading(warehouse, max_rows=2, timeout_seconds=5)

    result = reader.run("select person_id, score from scores order by score desc")
    assert result.columns == ["person_id", "score"]
    assert result.rows == [("p1", 80), ("p2", 55)]
    assert result.truncated  # three rows, a limit of two

    for sql in (
        "drop table gold.scores",
        "update gold.scores set score = 0",
        "select 1; delete from gold.scores",
        "select * from silver.secrets",
    ):
        with pytest.raises(RefusedQuery):
            reader.run(sql)
    # Past the guard, the connection refuses on its own: read-only by construction.
    for sql in ("drop table gold.scores", "update gold.scores set score = 0", "create table gold.more (x integer)"):
        with pytest.raises(RefusedQuery, match="read-only|read only|permission denied"):
            reader.execute(sql)
    if not warehouse.is_duckdb:  # the reader role has no access to any other schema
        with pytest.raises(RefusedQuery, match="permission denied"):
            reader.execute("select * from silver.secrets")

    assert contents(warehouse) == sorted(ROWS)
    assert warehouse.query("select count(*) from silver.secrets") == [(1,)]
    if warehouse.is_duckdb:
        assert reader.execute("select 1").rows == [(1,)]  # a refused write left the file usable
    else:  # setting the role up twice is harmless
        for_reading(warehouse).run("select count(*) from scores")


def test_a_long_query_is_stopped_at_the_timeout(warehouse):
    seed(warehouse)
    reader = for_reading(warehouse, timeout_seconds=0.3)
    slow = (
        "select sum(a.range * b.range) from range(200000) as a cross join range(200000) as b"
        if warehouse.is_duckdb
        else "select pg_sleep(5)"
    )
    with pytest.raises(QueryTimeout, match="longer than 0.3 s"):
        reader.execute(slow)
    assert contents(warehouse) == sorted(ROWS)
