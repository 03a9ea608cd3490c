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


def _answer(soql: str) -> set[str]:
    """Runs the translation against a real SQLite schema, because the null semantics live there."""
    import sqlite3

    from sandbox.salesforce.store import create_schema

    conn = sqlite3.connect(":memory:")
    create_schema(conn)
    rows = [
        ("00Q000000000001EAA", "Retail", "a_b"),
        ("00Q000000000002EAA", None, "axb"),
        ("00Q000000000003EAA", "Media", None),
    ]
    conn.executemany('insert into "Lead" ("Id", "IsDeleted", "Industry", "Title") values (?, 0, ?, ?)', rows)
    sql, params = parse(soql).sql(include_deleted=False)
    return {row[0] for row in conn.execute(sql, params)}


def test_logic_is_two_valued_like_soql_so_negations_keep_null_fields():
    assert _answer("SELECT Id FROM Lead WHERE NOT (Industry = 'Retail')") == {
        "00Q000000000002EAA",
        "00Q000000000003EAA",
    }
    assert _answer("SELECT Id FROM Lead WHERE Industry NOT IN ('Retail')") == {
        "00Q000000000002EAA",
        "00Q000000000003EAA",
    }
    assert _answer("SELECT Id FROM Lead WHERE Industry IN ('Retail', null)") == {
        "00Q000000000001EAA",
        "00Q000000000002EAA",
    }
    assert _answer("SELECT Id FROM Lead WHERE NOT (Industry < 'Z')") == {"00Q000000000002EAA"}


def test_like_wildcards_and_escaped_literals():
    assert _answer("SELECT Id FROM Lead WHERE Title LIKE 'a_b'") == {"00Q000000000001EAA", "00Q000000000002EAA"}
    assert _answer(r"SELECT Id FROM Lead WHERE Title LIKE 'a\_b'") == {"00Q000000000001EAA"}
    assert _answer("SELECT Id FROM Lead WHERE NOT (Title LIKE 'A%')") == {"00Q000000000003EAA"}


def test_a_15_character_id_finds_the_18_character_record():
    assert _answer("SELECT Id FROM Lead WHERE Id = '00Q000000000002'") == {"00Q000000000002EAA"}
    assert _answer("SELECT Id FROM Lead WHERE Id IN ('00Q000000000001', '00Q000000000003EAA')") == {
        "00Q000000000001EAA",
        "00Q000000000003EAA",
    }


@pytest.mark.parametrize(
    "literal",
    ["2026-01-01T05:30:00+05:30", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000+0000", "2025-12-31T19:00:00-0500"],
)
def test_datetime_literals_with_any_offset_normalize_to_utc(literal):
    _, params = parse(f"SELECT Id FROM Lead WHERE SystemModstamp > {literal}").sql(include_deleted=False)
    assert params == ["2026-01-01T00:00:00.000Z"]


def test_order_by_breaks_ties_on_id_so_pages_are_stable():
    sql, _ = parse("SELECT Id FROM Lead ORDER BY Industry DESC NULLS LAST").sql(include_deleted=False)
    assert sql.endswith('order by "Industry" desc nulls last, "Id"')
