"""Each way a source or a scoring bug breaks the line fails its contract, naming what broke, and
fixing the input recovers with no clean-up: the broken load never became the baseline.

Tables are small and built from the contract itself (a row that meets every rule), then broken
the way a real source breaks: a partner renames a column, a product table retypes a field, a
source sends 5 % of its usual rows, a scoring bug sets every score to 0. Cheap on purpose: no
world is generated; the Dagster-level consequence (nothing downstream, no CRM write) is proven
in test_contracts_sync_gate.py and below for the score bug.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from expectations.config import ColumnRule, Contract, load_contracts
from expectations.runner import validate_contract
from expectations.suites import iso_countries
from warehouse import Warehouse

SQL_TYPES = {
    "string": "varchar",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "date": "date",
}


def _value(rule: ColumnRule, i: int) -> Any:
    """A value that meets the rule for row i (distinct per row, spread for scores)."""
    if rule.accepted is not None:
        return rule.accepted[i % len(rule.accepted)]
    if rule.format == "email":
        return f"person{i}@example.com"
    if rule.format == "imb":
        return f"{i:020d}"
    if rule.format == "iso_country":
        return iso_countries()[i % 5]
    if rule.format == "e164":
        return f"+1415555{i:04d}"
    kind = rule.type or "string"
    if kind in ("integer", "number"):
        low, high = int(rule.min or 0), int(rule.max if rule.max is not None else 1000)
        return low + (i * 37) % (high - low + 1)
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return datetime.now(UTC).replace(tzinfo=None)
    if kind == "date":
        return date.today()
    return f"v{i}"


def write_conforming(warehouse: Warehouse, contract: Contract, rows: int, **overrides: Any) -> None:
    """(Re)create the contract's table with `rows` rows meeting it; `overrides` set a column
    (a value, or a callable of the row number) to break it on purpose."""
    names = [rule.name for rule in contract.columns]
    types = [SQL_TYPES[rule.type or "string"] for rule in contract.columns]
    data = []
    for i in range(rows):
        row = [_value(rule, i) for rule in contract.columns]
        for column, value in overrides.items():
            row[names.index(column)] = value(i) if callable(value) else value
        data.append(row)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"create schema if not exists {contract.schema}")
        cur.execute(f"drop table if exists {contract.target}")
        columns = ", ".join(f'"{n}" {t}' for n, t in zip(names, types, strict=True))
        cur.execute(f"create table {contract.target} ({columns})")
        if data:
            marks = ", ".join("?" for _ in names)
            cur.executemany(warehouse.adapt_sql(f"insert into {contract.target} values ({marks})"), data)


def _sql(warehouse: Warehouse, *statements: str) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for statement in statements:
            cur.execute(statement)


def _broken(outcome) -> set[tuple[str, str | None]]:
    assert outcome.status == "failed" and not outcome.success, outcome.headline
    return {(f.expectation, f.column) for f in outcome.blocking_failures}


def test_a_partner_file_column_renamed_fails_naming_it_then_recovers(warehouse: Warehouse) -> None:
    contract = load_contracts()["bronze_partners__mailed_records"]
    write_conforming(warehouse, contract, 30)
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"
    # Nothing new loaded: the clean pass is reused (one aggregate query, no GX run).
    again = validate_contract(warehouse, contract.suite, record=True)
    assert (again.status, again.unchanged, again.evaluated) == ("passed", True, 0)

    # A rename keeps every value: the fingerprint still sees it, through the column names.
    _sql(warehouse, "alter table bronze_partners.mailed_records rename column imb_tracking to imb_code")
    outcome = validate_contract(warehouse, contract.suite, record=True)
    assert _broken(outcome) == {("expect_column_to_exist", "imb_tracking")}
    assert "expect_column_to_exist(imb_tracking)" in outcome.headline

    _sql(warehouse, "alter table bronze_partners.mailed_records rename column imb_code to imb_tracking")
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"


def test_a_retyped_field_and_a_column_of_nulls_fail_naming_them(warehouse: Warehouse) -> None:
    contract = load_contracts()["bronze_product__accounts"]
    write_conforming(warehouse, contract, 30)
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"

    write_conforming(warehouse, contract, 30, plan=None)
    _sql(warehouse, "alter table bronze_product.accounts alter column id type varchar")
    outcome = validate_contract(warehouse, contract.suite, record=True)
    assert _broken(outcome) == {
        ("expect_column_values_to_be_of_type", "id"),
        ("expect_column_values_to_not_be_null", "plan"),
    }
    [retyped] = [f for f in outcome.failures if f.column == "id"]
    assert "expected integer" in retyped.observed

    write_conforming(warehouse, contract, 30)
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"


def test_a_load_of_5_percent_of_the_usual_rows_fails_then_recovers(warehouse: Warehouse) -> None:
    contract = load_contracts()["bronze_salesforce__lead"]
    write_conforming(warehouse, contract, 200)
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"

    write_conforming(warehouse, contract, 10)
    outcome = validate_contract(warehouse, contract.suite, record=True)
    assert _broken(outcome) == {("expect_table_row_count_within_history", None)}
    assert "10 rows, 5% of the previous accepted load's 200" in outcome.headline
    # Still broken on a re-run: the short load was not accepted as the new normal.
    assert validate_contract(warehouse, contract.suite, record=True).status == "failed"

    write_conforming(warehouse, contract, 200)  # the usual load again: its accepted pass is reused
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"


def test_every_score_zero_fails_the_distribution_guards(warehouse: Warehouse) -> None:
    contract = load_contracts()["lead_scores"]
    write_conforming(warehouse, contract, 60)
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"

    write_conforming(warehouse, contract, 60, score=0, grade="D")
    outcome = validate_contract(warehouse, contract.suite, record=True)
    assert _broken(outcome) == {
        ("expect_column_unique_value_count_to_be_between", "score"),
        ("expect_column_mean_within_previous_run", "score"),
        ("expect_grade_shares_within_previous_run", "grade"),
    }
    assert "D: 100% (was 25%)" in outcome.headline

    write_conforming(warehouse, contract, 60)
    assert validate_contract(warehouse, contract.suite, record=True).status == "passed"


def test_masked_samples_and_warnings_that_do_not_block(duckdb_warehouse: Warehouse) -> None:
    """Failing emails and phones are masked in metadata; a warn-only failure does not block."""
    contract = load_contracts()["identity_records"]
    write_conforming(duckdb_warehouse, contract, 30, phone_e164=lambda i: f"(415) 555-01{i:02d}")
    outcome = validate_contract(duckdb_warehouse, contract.suite)
    [bad] = outcome.failures
    assert (bad.expectation, bad.column, bad.unexpected_count) == (
        "expect_column_values_to_match_regex",
        "phone_e164",
        30,
    )
    assert bad.sample and all(s.startswith("***") and "555" not in s for s in bad.sample)

    stale = load_contracts()["bronze_web_events__events"]
    write_conforming(duckdb_warehouse, stale, 5, occurred_at=datetime(2000, 1, 1), email="Jane.Doe@example")
    outcome = validate_contract(duckdb_warehouse, stale.suite)
    assert {(f.expectation, f.severity) for f in outcome.failures} == {
        ("expect_newest_record_to_be_recent", "warn"),
        ("expect_column_values_to_match_regex", "error"),
    }
    [email] = [f for f in outcome.failures if f.column == "email"]
    assert email.sample and all(s == "J***@***" for s in email.sample)


@pytest.mark.parametrize("suite", sorted(load_contracts()))
def test_every_contract_names_a_real_sync_feeding_severity(suite: str) -> None:
    contract = load_contracts()[suite]
    assert contract.severity in ("error", "warn") and contract.description
    assert contract.key is None or any(r.name == contract.key and r.not_null for r in contract.columns)


def test_no_action_for_an_opted_out_person(warehouse: Warehouse) -> None:
    """The rule gold.lead_actions will carry: a row pointing at an excluded person fails, named."""
    from expectations.config import parse_contracts
    from expectations.guards import evaluate_guards

    [contract] = parse_contracts(
        {
            "contracts": {
                "actions": {
                    "table": "gold.actions",
                    "severity": "error",
                    "columns": {"person_id": {"type": "string", "not_null": True}},
                    "excludes": [
                        {
                            "column": "person_id",
                            "table": "silver.consent",
                            "match": "person_id",
                            "where": "state = 'opted_out'",
                            "why": "opted-out person",
                        }
                    ],
                }
            }
        }
    ).values()
    _sql(
        warehouse,
        "create schema gold",
        "create schema silver",
        "create table gold.actions (person_id varchar)",
        "insert into gold.actions values ('p1'), ('p2'), ('p3')",
        "create table silver.consent (person_id varchar, state varchar)",
        "insert into silver.consent values ('p2', 'opted_out'), ('p3', 'opted_in')",
    )
    [failure] = evaluate_guards(warehouse, contract, None).failures
    assert (failure.expectation, failure.column, failure.unexpected_count) == (
        "expect_no_opted_out_person",
        "person_id",
        1,
    )
    assert failure.sample == ["p2"]
    _sql(warehouse, "delete from gold.actions where person_id = 'p2'")
    assert evaluate_guards(warehouse, contract, None).failures == []


ERASURE_LIST = "silver.identity_suppressed_records"


def test_no_sync_source_holds_a_record_of_an_erased_person(warehouse: Warehouse) -> None:
    """Every gold table a sync reads has a blocking rule against silver's erasure list (the
    records of erased people), keyed by the CRM id it sends to; and a pass kept from before an
    erasure is not reused once the list grows, though the gold table did not change."""
    from expectations.guards import evaluate_guards
    from reverse_etl.spec import all_specs

    read_by_syncs = {f"{spec.source_schema}.{spec.source_table}" for spec in all_specs()}
    guarded = [c for c in load_contracts().values() if c.target in read_by_syncs | {"gold.lead_scores"}]
    assert {c.target for c in guarded} >= read_by_syncs
    for contract in guarded:
        [rule] = [r for r in contract.excludes if r.table == ERASURE_LIST]
        assert contract.severity_of(rule.severity) == "error", contract.suite
        write_conforming(warehouse, contract, 30)  # keys "v0" … "v29"

    first = load_contracts()["salesforce_lead_scores"]
    # Before identity's first run there is no list: nothing to exclude, not an error.
    assert validate_contract(warehouse, first.suite, record=True).status == "passed"
    _sql(
        warehouse,
        "create schema if not exists silver",
        f"create table {ERASURE_LIST} (record_key varchar, source varchar, source_id varchar)",
        f"insert into {ERASURE_LIST} values ('v3', 'salesforce_lead', 'v3'), ('v4', 'salesforce_contact', 'v4'),"
        " ('v5', 'hubspot_contact', 'v5'), ('v6', 'partner_mail', 'v6')",
    )
    outcome = validate_contract(warehouse, first.suite, record=True)
    assert not outcome.unchanged and _broken(outcome) == {("expect_no_record_of_an_erased_person", "lead_id")}
    assert "expect_no_record_of_an_erased_person(lead_id): 1 unexpected, e.g. ['v3']" in outcome.headline

    hits = {}
    for contract in guarded:
        [failure] = evaluate_guards(warehouse, contract, None).failures
        hits[contract.suite] = (failure.column, failure.unexpected_count, failure.sample)
    assert hits == {
        "lead_scores": ("person_id", 1, ["v3"]),
        "salesforce_lead_scores": ("lead_id", 1, ["v3"]),
        "salesforce_contact_scores": ("contact_id", 1, ["v4"]),
        "hubspot_contact_scores": ("contact_id", 1, ["v5"]),
        "salesforce_action_tasks": ("who_id", 2, ["v3", "v4"]),
        "salesforce_lead_owners": ("lead_id", 1, ["v3"]),
        "hubspot_contact_owners": ("contact_id", 1, ["v5"]),
    }

    _sql(warehouse, "delete from gold.salesforce_lead_scores where lead_id = 'v3'")  # gold rebuilt without them
    assert validate_contract(warehouse, first.suite, record=True).status == "passed"


def test_a_large_duckdb_table_is_sampled_deterministically_but_uniqueness_is_whole(
    duckdb_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    import expectations.runner as runner

    monkeypatch.setattr(runner, "load_settings", lambda: {"sample_above_rows": 100, "sample_rows": 50})
    contract = load_contracts()["salesforce_lead_scores"]
    write_conforming(duckdb_warehouse, contract, 400)
    first = validate_contract(duckdb_warehouse, contract.suite)
    assert first.status == "passed" and first.sampled_rows is not None and 0 < first.sampled_rows < 400
    assert validate_contract(duckdb_warehouse, contract.suite).sampled_rows == first.sampled_rows

    # Every row a duplicate of another: whichever rows the sample holds, the whole table is counted.
    _sql(duckdb_warehouse, "update gold.salesforce_lead_scores set lead_id = 'L' || (rowid // 2)")
    outcome = validate_contract(duckdb_warehouse, contract.suite)
    [dupes] = outcome.failures
    assert (dupes.expectation, dupes.column, dupes.unexpected_count) == (
        "expect_column_values_to_be_unique",
        "lead_id",
        400,
    )
