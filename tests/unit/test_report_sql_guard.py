"""The reporting app's SQL guard: one SELECT on gold, parsed, nothing else (no database)."""

import pytest
from sqlglot import exp

from reporting.sql_guard import RefusedQuery, checked_query, limited_sql

DIALECTS = ["duckdb", "postgres"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("drop table gold.lead_scores", "this is DROP"),
        ("update gold.lead_scores set score = 0", "this is UPDATE"),
        ("insert into gold.lead_scores (person_id) values ('x')", "this is INSERT"),
        ("create table gold.copy as select * from gold.lead_scores", "this is CREATE"),
        ("select 1; drop table gold.lead_scores", "One statement at a time: this text has 2"),
        ("select 1; select 2", "One statement at a time"),
        ("with gone as (delete from gold.lead_scores returning *) select * from gone", "contains DELETE"),
        ("select * into gold.copy from gold.lead_scores", "contains INTO"),
        ("select * from gold.lead_scores for update", "contains LOCK"),
        ("copy gold.lead_scores to '/tmp/out.csv'", "this is COPY"),
        ("set search_path = silver", "this is SET"),
        ("select * from silver.int_people", "not silver.int_people"),
        ("select * from main.gold.lead_scores", "not main.gold.lead_scores"),
        ("select * from read_csv('/etc/passwd')", "Only gold tables can be read"),
        ("", "Enter a SELECT"),
        ("selec score from lead_scores", "Not valid SQL"),
    ],
)
def test_anything_but_one_select_on_gold_is_refused_with_a_reason(dialect, sql, reason):
    with pytest.raises(RefusedQuery) as refused:
        checked_query(sql, dialect)
    message = str(refused.value)
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_select_reads_gold_tables_and_its_own_ctes(dialect):
    statement = checked_query(
        "with top as (select person_id from lead_scores where grade = 'A') "
        "select t.person_id, h.score from top as t join gold.lead_score_history as h on h.person_id = t.person_id;",
        dialect,
    )
    tables = {(t.db, t.name) for t in statement.find_all(exp.Table)}
    assert tables == {("gold", "lead_scores"), ("", "top"), ("gold", "lead_score_history")}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_row_limit_wraps_the_query_and_asks_for_one_more_row(dialect):
    sql = limited_sql(checked_query("select * from lead_scores order by score desc limit 5000", dialect), dialect, 100)
    assert sql.endswith("LIMIT 101")
    assert "FROM gold.lead_scores" in sql
    assert "LIMIT 5000" in sql  # the user's own limit still applies inside


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_a_tenants_reader_reads_its_own_gold_and_never_another_tenants(dialect):
    for sql in ("select * from lead_scores", "select * from gold.lead_scores", "select * from acme_gold.lead_scores"):
        statement = checked_query(sql, dialect, "acme_gold")
        assert {t.db for t in statement.find_all(exp.Table)} == {"acme_gold"}
    for other in ("globex_gold", "acme_silver"):
        with pytest.raises(RefusedQuery, match="Only the gold schema"):
            checked_query(f"select * from {other}.lead_scores", dialect, "acme_gold")
