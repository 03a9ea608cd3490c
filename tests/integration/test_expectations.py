"""GX contracts on both warehouses: passed, failed (with what failed), and errored kept apart."""

from __future__ import annotations

import json

import pytest

from expectations.runner import validate_table
from tests.support import write_lead_scores

GOOD_ROWS = [
    ("00Q000000000001", 90, "A", "VP title; Target industry", 4),
    ("00Q000000000002", 55, "B", "Inbound web lead", 2),
    ("00Q000000000003", 0, "D", "No scoring rule matched", 0),
]


def test_good_scores_pass_on_a_schema_other_than_main(warehouse):
    write_lead_scores(warehouse, GOOD_ROWS)
    outcome = validate_table(warehouse, "lead_scores", "gold", "lead_scores")
    assert outcome.status == "passed", outcome.failures
    assert outcome.success and outcome.row_count == 3 and outcome.evaluated >= 8


@pytest.mark.parametrize(
    ("bad_row", "expectation", "column", "sample"),
    [
        (("00Q000000000001", 10, "D", "dup", 1), "expect_column_values_to_be_unique", "lead_id", "00Q000000000001"),
        (("00Q000000000009", 140, "A", "too high", 9), "expect_column_values_to_be_between", "score", 140),
        (("00Q000000000009", 40, "Z", "bad grade", 1), "expect_column_values_to_be_in_set", "grade", "Z"),
    ],
)
def test_each_broken_rule_fails_and_names_itself(warehouse, bad_row, expectation, column, sample):
    write_lead_scores(warehouse, [*GOOD_ROWS, bad_row])
    outcome = validate_table(warehouse, "lead_scores", "gold", "lead_scores")
    assert outcome.status == "failed"
    [failure] = outcome.failures
    assert (failure.expectation, failure.column) == (expectation, column)
    assert sample in failure.sample
    assert failure.unexpected_count == (2 if expectation.endswith("unique") else 1)
    json.dumps(outcome.to_metadata())


def test_an_empty_table_fails_the_row_count_contract(warehouse):
    write_lead_scores(warehouse, [])
    outcome = validate_table(warehouse, "lead_scores", "gold", "lead_scores")
    assert outcome.status == "failed"
    assert [f.expectation for f in outcome.failures] == ["expect_table_row_count_to_be_between"]


def test_a_missing_table_is_errored_not_failed(warehouse):
    outcome = validate_table(warehouse, "lead_scores", "gold", "lead_scores")
    assert outcome.status == "errored" and not outcome.success
    assert outcome.failures == []
    assert "gold.lead_scores does not exist" in outcome.error
    assert "\n" not in outcome.error
    metadata = outcome.to_metadata()
    assert metadata["status"] == "errored"
    json.dumps(metadata)


def test_an_unknown_suite_is_a_programming_error(duckdb_warehouse):
    with pytest.raises(ValueError, match="unknown GX suite"):
        validate_table(duckdb_warehouse, "no_such_suite", "gold", "lead_scores")
