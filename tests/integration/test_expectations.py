"""GX contracts on both warehouses: passed, failed (with what failed), and errored kept apart."""

from __future__ import annotations

import dataclasses
import json

import pytest

from expectations.runner import ValidationOutcome, validate_table
from tests.support import write_lead_scores
from warehouse import Warehouse

PASSWORD = "s3cr3t-pw"

GOOD_ROWS = [
    ("00Q000000000001", 90, "A", "VP title; Target industry", 4),
    ("00Q000000000002", 55, "B", "Inbound web lead", 2),
    ("00Q000000000003", 0, "D", "No scoring rule matched", 0),
]


def _validate(warehouse: Warehouse) -> ValidationOutcome:
    outcome = validate_table(warehouse, "salesforce_lead_scores", "gold", "salesforce_lead_scores")
    json.dumps(outcome.to_metadata(), allow_nan=False)  # Dagster metadata must be plain JSON
    return outcome


def test_good_scores_pass(warehouse: Warehouse) -> None:
    write_lead_scores(warehouse, GOOD_ROWS)
    outcome = _validate(warehouse)
    assert outcome.status == "passed", outcome.failures or outcome.error
    assert outcome.success and outcome.failures == [] and outcome.error is None
    assert outcome.row_count == 3 and outcome.evaluated >= 8
    assert outcome.target == "gold.salesforce_lead_scores"


def test_duckdb_schema_other_than_main_reads_that_schema(duckdb_warehouse: Warehouse) -> None:
    """The trap: GX's SQL route on DuckDB misreads non-`main` schemas and reports false failures.

    A same-named table with bad data in `main` makes any such mix-up visible both ways.
    """
    write_lead_scores(duckdb_warehouse, GOOD_ROWS)
    with duckdb_warehouse.connect() as conn:
        conn.execute("create table main.salesforce_lead_scores as select * from gold.salesforce_lead_scores")
        conn.execute("update main.salesforce_lead_scores set score = 140, grade = 'Z'")

    outcome = _validate(duckdb_warehouse)
    assert outcome.status == "passed", outcome.failures or outcome.error
    assert outcome.row_count == 3

    decoy = validate_table(duckdb_warehouse, "salesforce_lead_scores", "main", "salesforce_lead_scores")
    assert decoy.status == "failed"
    assert {f.column for f in decoy.failures} == {"score", "grade"}


@pytest.mark.parametrize(
    ("bad_row", "expectation", "column", "sample", "unexpected"),
    [
        pytest.param(
            ("00Q000000000001", 10, "D", "dup", 1),
            "expect_column_values_to_be_unique",
            "lead_id",
            "00Q000000000001",
            2,  # GX counts every row sharing the value, the original included
            id="duplicate-lead_id",
        ),
        pytest.param(
            ("00Q000000000009", 140, "A", "too high", 9),
            "expect_column_values_to_be_between",
            "score",
            140,
            1,
            id="score-140",
        ),
        pytest.param(
            ("00Q000000000009", 40, "Z", "bad grade", 1),
            "expect_column_values_to_be_in_set",
            "grade",
            "Z",
            1,
            id="grade-Z",
        ),
        pytest.param(
            ("00Q000000000009", None, "C", "no score", 1),
            "expect_column_values_to_not_be_null",
            "score",
            None,
            1,
            id="null-score",
        ),
    ],
)
def test_each_broken_rule_fails_and_names_itself(
    warehouse: Warehouse, bad_row: tuple, expectation: str, column: str, sample: object, unexpected: int
) -> None:
    write_lead_scores(warehouse, [*GOOD_ROWS, bad_row])
    outcome = _validate(warehouse)
    assert outcome.status == "failed" and not outcome.success and outcome.error is None
    [failure] = outcome.failures
    assert (failure.expectation, failure.column) == (expectation, column)
    assert failure.unexpected_count == unexpected
    assert len(failure.sample) <= 5
    if sample is not None:
        assert sample in failure.sample
    metadata = outcome.to_metadata()
    assert metadata["status"] == "failed" and metadata["expectations_failed"] == 1
    assert metadata["failures"][0]["expectation"] == expectation


def test_an_empty_table_fails_the_row_count_contract(warehouse: Warehouse) -> None:
    write_lead_scores(warehouse, [])
    outcome = _validate(warehouse)
    assert outcome.status == "failed"
    assert [f.expectation for f in outcome.failures] == ["expect_table_row_count_to_be_between"]
    assert outcome.failures[0].observed == 0 and outcome.row_count == 0


def _with_password(warehouse: Warehouse) -> Warehouse:
    """The test server trusts loopback and ignores passwords, so one can ride along to be leaked."""
    return warehouse if warehouse.is_duckdb else dataclasses.replace(warehouse, password=PASSWORD)


def test_a_missing_table_is_errored_not_failed(warehouse: Warehouse) -> None:
    warehouse = _with_password(warehouse)
    with warehouse.connect() as conn:
        conn.cursor().execute("create schema gold")
    outcome = _validate(warehouse)
    assert outcome.status == "errored" and not outcome.success
    assert outcome.failures == [] and outcome.evaluated == 0
    assert outcome.error is not None and "gold.salesforce_lead_scores does not exist" in outcome.error
    assert "\n" not in outcome.error
    metadata = json.dumps(outcome.to_metadata())
    assert '"status": "errored"' in metadata and PASSWORD not in metadata


def test_a_missing_column_fails_the_contract_naming_it(warehouse: Warehouse) -> None:
    """A required column that is gone is the source breaking its promise: a failure naming each
    missing column (the platform could still look), never a GX error about a metric."""
    warehouse = _with_password(warehouse)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema gold")
        cur.execute("create table gold.salesforce_lead_scores (lead_id varchar, score integer, reasons varchar)")
        cur.execute("insert into gold.salesforce_lead_scores values ('00Q000000000001', 50, 'ok')")
    outcome = _validate(warehouse)
    assert outcome.status == "failed" and outcome.error is None, outcome.error
    missing = {(f.expectation, f.column) for f in outcome.failures}
    assert missing == {("expect_column_to_exist", "grade"), ("expect_column_to_exist", "rules_matched")}
    assert "grade" in outcome.headline and "\n" not in outcome.headline
    assert PASSWORD not in json.dumps(outcome.to_metadata())


def test_a_refused_connection_is_errored_without_the_password() -> None:
    warehouse = Warehouse.from_url(f"postgresql://leadloop:{PASSWORD}@127.0.0.1:1/leadloop")
    outcome = validate_table(warehouse, "salesforce_lead_scores", "gold", "salesforce_lead_scores")
    assert outcome.status == "errored" and outcome.failures == []
    assert outcome.error is not None and "\n" not in outcome.error
    assert warehouse.display in outcome.error
    assert PASSWORD not in json.dumps(outcome.to_metadata())


def test_a_missing_duckdb_file_is_errored_and_not_created(duckdb_warehouse: Warehouse) -> None:
    assert duckdb_warehouse.path is not None and not duckdb_warehouse.path.exists()
    outcome = _validate(duckdb_warehouse)
    assert outcome.status == "errored" and "gold.salesforce_lead_scores does not exist" in (outcome.error or "")
    assert not duckdb_warehouse.path.exists()


def test_an_unknown_suite_is_a_programming_error(duckdb_warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="unknown GX suite"):
        validate_table(duckdb_warehouse, "no_such_suite", "gold", "salesforce_lead_scores")
