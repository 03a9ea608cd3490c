"""The SOQL subset: what parses is translated exactly; what doesn't is refused, never guessed."""

from __future__ import annotations

import pytest

from sandbox.salesforce.soql import SoqlError, parse


def test_where_with_precedence_datetime_and_in_translates_to_parameterized_sql():
    query = parse(
        "SELECT Id, Email FROM Lead WHERE SystemModstamp >= 2026-01-01T00:00:00.000+0000 "
        "AND (Industry IN ('Retail', 'Media') OR Email LIKE '%@acme.com') ORDER BY SystemModstamp DESC LIMIT 5"
    )
    sql, params = query.sql(include_deleted=False)
    assert [f.name for f in query.fields] == ["Id", "Email"]
    assert params == ["2026-01-01T00:00:00.000Z", "Retail", "Media", "%@acme.com"]
    assert '"IsDeleted" = 0' in sql
    assert sql.index(" or ") > sql.index(" and ")  # OR stays inside the parentheses
    assert sql.endswith("limit 5 offset 0")


def test_query_all_keeps_deleted_rows():
    sql, _ = parse("SELECT Id FROM Lead").sql(include_deleted=True)
    assert "IsDeleted" not in sql


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Nope = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
        ("SELECT Id FROM Lead GROUP BY Id", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT Id, FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE NumberOfEmployees > 'many'", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Email < null", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead; DROP TABLE Lead", "MALFORMED_QUERY"),
    ],
)
def test_unsupported_or_wrong_soql_is_refused_with_the_real_error_code(soql, code):
    with pytest.raises(SoqlError) as excinfo:
        parse(soql)
    assert excinfo.value.code == code


def test_string_escapes_and_null_comparisons():
    query = parse(r"SELECT Id FROM Lead WHERE LastName = 'O\'Brien' AND Phone != null AND Title = null")
    sql, params = query.sql(include_deleted=True)
    assert params == ["O'Brien"]
    assert '"Phone" is not null' in sql and '"Title" is null' in sql


def test_count_query():
    query = parse("SELECT COUNT() FROM Lead WHERE IsConverted = true")
    sql, params = query.sql(include_deleted=False)
    assert query.count_only and sql.startswith("select count(*)") and params == [1]
