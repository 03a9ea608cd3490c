"""The warehouse switch: one URL, parsed once, for every layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse import DEFAULT_WAREHOUSE_URL, Warehouse, WarehouseConfigError


def test_default_is_an_embedded_duckdb_file_relative_to_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADLOOP_WAREHOUSE_URL", raising=False)
    warehouse = Warehouse.from_env()
    assert warehouse.kind == "duckdb"
    assert warehouse.path == (tmp_path / "data" / "warehouse.duckdb").resolve()
    assert Warehouse.from_url(DEFAULT_WAREHOUSE_URL) == warehouse


def test_four_slashes_mean_an_absolute_duckdb_path():
    assert Warehouse.from_url("duckdb:////var/lib/leadloop/w.duckdb").path == Path("/var/lib/leadloop/w.duckdb")


def test_postgres_url_feeds_every_tool_and_never_shows_the_password():
    warehouse = Warehouse.from_url("postgresql://etl:s%40cret@db.internal:6543/leads")
    assert (warehouse.host, warehouse.port, warehouse.user, warehouse.password, warehouse.database) == (
        "db.internal",
        6543,
        "etl",
        "s@cret",
        "leads",
    )
    assert "s@cret" not in warehouse.display
    assert warehouse.dbt_env()["LEADLOOP_DBT_TARGET"] == "postgres"
    assert warehouse.dbt_env()["LEADLOOP_PG_PORT"] == "6543"
    assert warehouse.sqlalchemy_url.startswith("postgresql+psycopg2://etl:s@cret@db.internal:6543/")
    assert Warehouse.from_url(warehouse.url) == warehouse


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("snowflake://acct/db", "scheme 'snowflake' is not supported"),
        ("warehouse.duckdb", "is not a URL"),
        ("postgresql://user:hunter2@/nodb", "needs a host and a database"),
    ],
)
def test_bad_urls_say_what_to_set_without_leaking_secrets(url, message):
    with pytest.raises(WarehouseConfigError, match=message) as excinfo:
        Warehouse.from_url(url)
    assert "hunter2" not in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_unreachable_postgres_is_one_line_naming_the_server_without_password():
    warehouse = Warehouse.from_url("postgresql://etl:hunter2@127.0.0.1:1/leads")
    with pytest.raises(
        WarehouseConfigError, match=r"cannot connect to the warehouse postgresql://etl@127.0.0.1:1/leads"
    ) as excinfo:
        warehouse.query("select 1")
    assert "hunter2" not in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_queries_use_the_same_placeholders_on_both_warehouses(warehouse):
    warehouse.query("create table t (k varchar, v integer)")
    with warehouse.connect() as conn:
        conn.cursor().executemany(warehouse.adapt_sql("insert into t values (?, ?)"), [("a", 1), ("b", 2)])
    assert warehouse.query("select v from t where k = ?", ["b"]) == [(2,)]
    assert warehouse.table_exists("public" if not warehouse.is_duckdb else "main", "t")


def test_a_schema_prefix_moves_every_schema_and_travels_with_the_url():
    warehouse = Warehouse.from_url("postgresql://etl:s3cret@db:5432/shared?schema_prefix=acme")
    assert [warehouse.schema(s) for s in ("bronze_salesforce", "silver", "gold", "reverse_etl")] == [
        "acme_bronze_salesforce",
        "acme_silver",
        "acme_gold",
        "acme_reverse_etl",
    ]
    assert warehouse.relation("gold.lead_scores") == "acme_gold.lead_scores"
    assert warehouse.qualify("select * from {gold}.a join {bronze_hubspot}.b") == (
        "select * from acme_gold.a join acme_bronze_hubspot.b"
    )
    assert warehouse.logical_schema("acme_bronze_partners") == "bronze_partners"
    assert Warehouse.from_url(warehouse.url) == warehouse  # what a subprocess or resource gets back
    assert warehouse.display == "postgresql://etl@db:5432/shared?schema_prefix=acme"
    assert warehouse.dbt_env()["LEADLOOP_DBT_SCHEMA_PREFIX"] == "acme_"
    assert "schema_prefix" not in warehouse.sqlalchemy_url and "?" not in str(warehouse.psycopg2_kwargs())
    plain = Warehouse.from_url("duckdb:////srv/w.duckdb")
    assert plain.schema("gold") == "gold" and plain.dbt_env()["LEADLOOP_DBT_SCHEMA_PREFIX"] == ""
    assert plain.with_schema_prefix("globex").url == "duckdb:////srv/w.duckdb?schema_prefix=globex"


@pytest.mark.parametrize(
    "query", ["schema_prefix=acme_x", "schema_prefix=bronze", "schema_prefix=Acme", "schema_prefix=", "sslmode=require"]
)
def test_a_prefix_that_could_reach_another_tenants_schemas_is_refused(query):
    with pytest.raises(WarehouseConfigError) as refused:
        Warehouse.from_url(f"postgresql://etl:s3cret@db:5432/shared?{query}")
    assert "s3cret" not in str(refused.value) and "\n" not in str(refused.value)


def test_replace_tables_is_one_transaction(warehouse):
    """A failure on the second table leaves the first as it was: all old or all new (issue 25)."""
    import pyarrow as pa
    import pytest

    warehouse.replace_tables("silver", {"one": pa.table({"a": [1]}), "two": pa.table({"b": ["x"]})})
    with pytest.raises(Exception):  # noqa: B017 - each warehouse raises its own error
        # The second name is not SQL: its statement fails after the first table was replaced.
        warehouse.replace_tables("silver", {"one": pa.table({"a": [2]}), "two three": pa.table({"b": ["z"]})})
    assert warehouse.query("select a from silver.one") == [(1,)]
    warehouse.replace_tables("silver", {"one": pa.table({"a": [3]}), "two": pa.table({"b": ["y"]})})
    assert warehouse.query("select a from silver.one") == [(3,)]
    assert warehouse.query("select b from silver.two") == [("y",)]


def test_replace_tables_keeps_the_views_over_a_table(warehouse):
    """dbt's views over the identity tables stay valid when identity runs alone (Postgres refused
    to drop a table a view depends on: a run of identity without dbt's staging step failed)."""
    import pyarrow as pa

    warehouse.replace_tables("silver", {"records": pa.table({"a": [1], "b": ["x"]})})
    warehouse.query("create view silver.over_records as select a from silver.records")
    warehouse.replace_tables("silver", {"records": pa.table({"a": [2, 3], "b": ["y", "z"]})})
    assert warehouse.query("select a from silver.over_records order by a") == [(2,), (3,)]
    warehouse.replace_tables("silver", {"records": pa.table({"a": ["reshaped"]})})  # a new shape replaces it
    assert warehouse.query("select a from silver.records") == [("reshaped",)]


def test_read_arrow_gives_the_same_table_batch_by_batch(warehouse):
    """Postgres rows reach Arrow a batch at a time (identity reads 1.6M records at 1M leads); the
    table is the same whatever the batch: a column null in one batch takes the others' type,
    decimals their widest, and an empty result keeps its column names."""
    warehouse.query("create table t (id integer, note text, amount numeric)")
    warehouse.query(
        "insert into t select i, case when i > 5 then 'n' || i end, case when i > 3 then i * 100.5 else i end"
        " from generate_series(1, 12) as s(i)"
    )
    sql = "select id, note, amount from t order by id"
    whole = warehouse.read_arrow(sql)
    batched = warehouse.read_arrow(sql, batch_rows=4)
    assert batched.num_rows == 12 and batched.column_names == ["id", "note", "amount"]
    assert batched.to_pylist() == whole.to_pylist()
    assert batched["note"].to_pylist()[:5] == [None] * 5 and batched["note"][11].as_py() == "n12"
    assert float(batched["amount"][11].as_py()) == 1206.0
    empty = warehouse.read_arrow("select id, note from t where id < 0")
    assert empty.num_rows == 0 and empty.column_names == ["id", "note"]
