"""The diff and the exactly-once bookkeeping, on both warehouses.

The planner and the state always run against the real `warehouse` fixture (DuckDB and Postgres);
only the CRM is replaced, by a destination that confirms or rejects records on command.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from reverse_etl.destinations import RecordResult
from reverse_etl.destinations.salesforce import SalesforceDestination
from reverse_etl.executor import run_sync
from reverse_etl.planner import RecordChange, payload_hash, plan_sync, to_destination_value
from reverse_etl.spec import SpecError, SyncSpec, all_specs, load_spec
from tests.support import write_lead_scores
from warehouse import Warehouse

SPEC = load_spec("lead_scores_to_salesforce")
Row = tuple[Any, ...]


class FakeCrm:
    """Stands in for the CRM only: confirms every record except those told to fail."""

    def __init__(self, reject: dict[str, str] | None = None, crash_on_call: int | None = None) -> None:
        self.reject = dict(reject or {})
        self.crash_on_call = crash_on_call
        self.calls: list[list[RecordChange]] = []

    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]:
        self.calls.append(list(changes))
        if self.crash_on_call is not None and len(self.calls) >= self.crash_on_call:
            raise RuntimeError("worker killed")
        return [RecordResult(c.key, c.key not in self.reject, self.reject.get(c.key)) for c in changes]

    @property
    def sent_keys(self) -> list[str]:
        return [c.key for call in self.calls for c in call]


def _rows(n: int = 10, score: int = 50) -> list[Row]:
    return [(f"00Q{i:015d}", score + i, "B", f"title matched {i}", 1) for i in range(n)]


def _state(warehouse: Warehouse) -> dict[str, str]:
    return dict(warehouse.query("select record_key, payload from reverse_etl.sync_state"))


def _rejections(warehouse: Warehouse) -> list[tuple[str, str, int]]:
    return [
        (k, e, int(a))
        for k, e, a in warehouse.query("select record_key, error, attempts from reverse_etl.sync_rejections")
    ]


def _runs(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    return warehouse.query(
        "select dry_run, planned, sent, succeeded, failed, unchanged, status from reverse_etl.sync_runs "
        "order by started_at"
    )


# ---------------------------------------------------------------------------------------- diff


def test_first_run_is_all_new_and_second_run_sends_nothing(warehouse):
    rows = _rows()
    write_lead_scores(warehouse, rows)
    crm = FakeCrm()

    first = run_sync(SPEC, warehouse, crm)
    assert (first.planned, first.planned_new, first.sent, first.succeeded, first.failed) == (10, 10, 10, 10, 0)
    assert set(_state(warehouse)) == {r[0] for r in rows}
    assert crm.calls[0][0].payload == {
        "Lead_Score__c": 50.0,
        "Lead_Grade__c": "B",
        "Lead_Score_Reasons__c": "title matched 0",
    }

    assert plan_sync(SPEC, warehouse).changes == []
    second = run_sync(SPEC, warehouse, crm)
    assert (second.planned, second.sent, second.unchanged, second.source_rows) == (0, 0, 10, 10)
    assert len(crm.calls) == 1
    assert _runs(warehouse) == [(False, 10, 10, 10, 0, 0, "success"), (False, 0, 0, 0, 0, 10, "success")]


def test_one_changed_score_is_exactly_one_change(warehouse):
    rows = _rows()
    write_lead_scores(warehouse, rows)
    run_sync(SPEC, warehouse, FakeCrm())

    rows[4] = (rows[4][0], 99, *rows[4][2:])
    write_lead_scores(warehouse, rows)
    plan = plan_sync(SPEC, warehouse)
    assert [(c.key, c.reason, c.payload["Lead_Score__c"]) for c in plan.changes] == [(rows[4][0], "changed", 99.0)]
    assert plan.unchanged == 9
    crm = FakeCrm()
    assert run_sync(SPEC, warehouse, crm).succeeded == 1
    assert crm.sent_keys == [rows[4][0]]


def test_a_column_the_sync_does_not_send_never_causes_a_write(warehouse):
    rows = _rows()
    write_lead_scores(warehouse, rows)
    run_sync(SPEC, warehouse, FakeCrm())
    write_lead_scores(warehouse, [(*r[:4], 7) for r in rows])  # rules_matched is not mapped
    assert plan_sync(SPEC, warehouse).changes == []


def test_a_score_changed_back_and_forth_is_sent_each_time(warehouse):
    rows = _rows(3)
    key = rows[1][0]
    write_lead_scores(warehouse, rows)
    run_sync(SPEC, warehouse, FakeCrm())
    for score in (80, 51, 80):
        write_lead_scores(warehouse, [rows[0], (key, score, "B", rows[1][3], 1), rows[2]])
        crm = FakeCrm()
        result = run_sync(SPEC, warehouse, crm)
        assert (result.planned_changed, crm.sent_keys) == (1, [key])
        assert f'"Lead_Score__c":{float(score)}' in _state(warehouse)[key]
    assert run_sync(SPEC, warehouse, FakeCrm()).planned == 0


# ---------------------------------------------------------------------------------------- rejections


def test_a_rejected_record_stays_unsynced_is_retried_and_clears_on_success(warehouse):
    rows = _rows(5)
    bad = rows[2][0]
    write_lead_scores(warehouse, rows)
    error = "STRING_TOO_LONG: Lead Score Reasons: data value too large (Lead_Score_Reasons__c)"

    first = run_sync(SPEC, warehouse, FakeCrm(reject={bad: error}))
    assert (first.succeeded, first.failed, first.error_codes) == (4, 1, {"STRING_TOO_LONG": 1})
    assert bad not in _state(warehouse)
    assert _rejections(warehouse) == [(bad, error, 1)]
    assert _runs(warehouse)[-1][-1] == "partial"

    plan = plan_sync(SPEC, warehouse)
    assert [(c.key, c.reason) for c in plan.changes] == [(bad, "retry")]
    crm = FakeCrm(reject={bad: error})
    again = run_sync(SPEC, warehouse, crm)
    assert (again.planned_retry, again.sent, again.failed, crm.sent_keys) == (1, 1, 1, [bad])
    assert _rejections(warehouse) == [(bad, error, 2)]
    assert _runs(warehouse)[-1][-1] == "failed"

    fixed = run_sync(SPEC, warehouse, FakeCrm())
    assert (fixed.planned_retry, fixed.succeeded, fixed.failed) == (1, 1, 0)
    assert _rejections(warehouse) == []
    assert bad in _state(warehouse)
    assert run_sync(SPEC, warehouse, FakeCrm()).planned == 0


def test_outcomes_written_many_rows_a_statement_keep_every_record(warehouse, monkeypatch):
    """State rows go in multi-row statements; a batch that spans several keeps every outcome."""
    from reverse_etl import state

    monkeypatch.setattr(state, "ROWS_PER_STATEMENT", 2)
    rows = _rows(7)
    bad = {rows[1][0]: "FIELD_CUSTOM_VALIDATION_EXCEPTION: one", rows[4][0]: "FIELD_CUSTOM_VALIDATION_EXCEPTION: two"}
    bad[rows[6][0]] = "FIELD_CUSTOM_VALIDATION_EXCEPTION: three"
    write_lead_scores(warehouse, rows)

    run_sync(SPEC, warehouse, FakeCrm(reject=bad))
    assert sorted(_state(warehouse)) == sorted(r[0] for r in rows if r[0] not in bad)
    assert sorted(_rejections(warehouse)) == sorted((k, e, 1) for k, e in bad.items())

    run_sync(SPEC, warehouse, FakeCrm())
    assert sorted(_state(warehouse)) == sorted(r[0] for r in rows)
    assert _rejections(warehouse) == []


def test_a_rejected_change_is_retried_even_after_the_value_returns_to_the_confirmed_one(warehouse):
    """The open rejection is the reason to send, so it cannot be left dangling."""
    rows = _rows(2)
    key = rows[0][0]
    write_lead_scores(warehouse, rows)
    run_sync(SPEC, warehouse, FakeCrm())
    write_lead_scores(warehouse, [(key, 90, *rows[0][2:]), rows[1]])
    run_sync(SPEC, warehouse, FakeCrm(reject={key: "FIELD_CUSTOM_VALIDATION_EXCEPTION: no"}))
    write_lead_scores(warehouse, rows)
    assert [(c.key, c.reason) for c in plan_sync(SPEC, warehouse).changes] == [(key, "retry")]
    run_sync(SPEC, warehouse, FakeCrm())
    assert _rejections(warehouse) == []


def test_a_missing_per_record_result_is_a_failure_not_a_success(warehouse):
    class Forgetful(FakeCrm):
        def write(self, spec, changes):
            return super().write(spec, changes)[1:]

    write_lead_scores(warehouse, _rows(3))
    result = run_sync(SPEC, warehouse, Forgetful())
    assert (result.succeeded, result.failed) == (2, 1)
    assert _rejections(warehouse)[0][1].startswith("NO_RESULT")


# ---------------------------------------------------------------------------------------- dry run, crash


def test_dry_run_shows_the_plan_and_writes_no_state(warehouse):
    write_lead_scores(warehouse, _rows())
    crm = FakeCrm()
    result = run_sync(SPEC, warehouse, crm, dry_run=True, run_id="dry-1")
    assert (result.dry_run, result.planned, result.planned_new, result.sent) == (True, 10, 10, 0)
    assert crm.calls == []
    assert _state(warehouse) == {}
    assert _rejections(warehouse) == []
    assert warehouse.query("select run_id, dry_run, planned, sent, status from reverse_etl.sync_runs") == [
        ("dry-1", True, 10, 0, "dry_run")
    ]
    assert run_sync(SPEC, warehouse, crm).planned_new == 10


def test_a_crash_mid_run_keeps_what_was_confirmed(warehouse):
    rows = _rows(7)
    write_lead_scores(warehouse, rows)
    spec = dataclasses.replace(SPEC, batch_size=3)
    with pytest.raises(RuntimeError, match="worker killed"):
        run_sync(spec, warehouse, FakeCrm(crash_on_call=2), run_id="crashed")
    assert set(_state(warehouse)) == {r[0] for r in rows[:3]}
    assert warehouse.query("select status, succeeded from reverse_etl.sync_runs where run_id = 'crashed'") == [
        ("error", 3)
    ]

    crm = FakeCrm()
    resumed = run_sync(spec, warehouse, crm)
    assert crm.sent_keys == [r[0] for r in rows[3:]]
    assert [len(call) for call in crm.calls] == [3, 1]
    assert resumed.succeeded == 4


def test_a_retried_step_reusing_its_run_id_overwrites_its_run_row(warehouse):
    write_lead_scores(warehouse, _rows(2))
    run_sync(SPEC, warehouse, FakeCrm(), run_id="dagster-run")
    run_sync(SPEC, warehouse, FakeCrm(), run_id="dagster-run")
    assert warehouse.query("select count(*), max(unchanged) from reverse_etl.sync_runs") == [(1, 2)]


# ---------------------------------------------------------------------------------------- source quirks


def test_duplicate_and_null_keys(warehouse):
    rows = _rows(3)
    same, clash = rows[0], rows[1]
    write_lead_scores(
        warehouse, [*rows, same, (clash[0], 1, "D", "other", 0), (None, 5, "C", "x", 1), ("", 5, "C", "x", 1)]
    )
    crm = FakeCrm()
    result = run_sync(SPEC, warehouse, crm)
    assert sorted(crm.sent_keys) == sorted([same[0], rows[2][0]])
    assert (result.conflicting_keys, result.null_keys, result.source_rows) == (1, 2, 7)
    assert [(k, e.split(":")[0], a) for k, e, a in _rejections(warehouse)] == [(clash[0], "DUPLICATE_SOURCE_KEY", 1)]
    assert result.to_metadata()["status"] == "partial"


def test_a_key_contradicted_after_it_was_confirmed_is_left_out_of_every_count(warehouse):
    """The planner walks the source once: a key whose first row it already counted (unchanged,
    or under the threshold of a change) and a later row contradicts is taken back out."""
    rows = _rows(3)
    write_lead_scores(warehouse, rows)
    run_sync(SPEC, warehouse, FakeCrm())
    # The same keys spelled with a space: one contradicting row comes before its key's first
    # (which it makes a change), the other after (its key already counted unchanged).
    before, after = (f" {rows[0][0]}", 1, "D", "other", 0), (f"{rows[1][0]} ", 2, "D", "other", 0)
    write_lead_scores(warehouse, [*rows, before, after])
    crm = FakeCrm()
    result = run_sync(SPEC, warehouse, crm)
    assert crm.sent_keys == []
    assert (result.conflicting_keys, result.unchanged, result.planned, result.source_rows) == (2, 1, 0, 5)
    # A removal it is not: the key is still in the source.
    assert result.planned_clear == 0


def test_numbers_hash_the_same_whatever_type_the_warehouse_returns():
    as_int = {"Lead_Score__c": to_destination_value(70), "Lead_Grade__c": "A"}
    as_decimal = {"Lead_Grade__c": "A", "Lead_Score__c": to_destination_value(Decimal("70"))}
    as_float = {"Lead_Score__c": to_destination_value(70.0), "Lead_Grade__c": "A"}
    assert payload_hash(as_int) == payload_hash(as_decimal) == payload_hash(as_float)


def test_any_mapped_value_change_changes_the_hash():
    base = {"Lead_Score__c": 70.0, "Lead_Grade__c": "A", "Lead_Score_Reasons__c": "VP title"}
    for field, value in [("Lead_Score__c", 71.0), ("Lead_Grade__c", "B"), ("Lead_Score_Reasons__c", None)]:
        assert payload_hash({**base, field: value}) != payload_hash(base)


def test_values_stay_json_native():
    assert to_destination_value(True) is True
    assert to_destination_value(None) is None
    assert to_destination_value(float("nan")) is None


# ---------------------------------------------------------------------------------------- specs


def test_the_shipped_spec_maps_gold_scores_to_lead_fields():
    [spec] = [s for s in all_specs() if s.name == "lead_scores_to_salesforce"]
    assert (spec.source_schema, spec.source_table, spec.key) == ("gold", "salesforce_lead_scores", "lead_id")
    assert (spec.destination, spec.object, spec.operation) == ("salesforce", "Lead", "update")
    assert spec.fields == {"score": "Lead_Score__c", "grade": "Lead_Grade__c", "reasons": "Lead_Score_Reasons__c"}
    assert spec.batch_size == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: x\nsource: {schema: gold, table: t, key: k}\ndestination: {kind: salesforce, object: Lead}\n"
            "fields: {a: A__c}\nbatch_size: 500\n",
            "batch_size must be between 1 and 200",
        ),
        ("name: x\nfields: {a: A__c}\n", "missing or malformed"),
        (
            "name: x\nsource: {schema: gold, table: t, key: k}\ndestination: {kind: salesforce, object: Lead}\n"
            'fields: {"a\\" from x; --": A__c}\n',
            "not a plain SQL identifier",
        ),
        (
            "name: x\nsource: {schema: gold, table: t, key: k}\n"
            "destination: {kind: salesforce, object: Task, operation: insert_once, external_id: K__c, "
            "keep_changes_by_people: true}\nfields: {a: A__c}\n",
            "keep_changes_by_people is for operation update only",
        ),
    ],
)
def test_malformed_specs_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_spec(path)
    with pytest.raises(SpecError, match="no sync spec"):
        load_spec("no_such_sync")


# ---------------------------------------------------------------------------------------- Salesforce failures
# The sandbox cannot be made to fail on demand, so whole-call failures use a stand-in client.


class FlakyClient:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = list(failures)
        self.calls = 0

    def restful(self, path: str, method: str = "GET", json: dict | None = None, **kwargs: Any) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        assert json is not None
        return [{"id": r["Id"], "success": True, "errors": []} for r in json["records"]]


def _changes(n: int) -> list[RecordChange]:
    return [RecordChange(f"00Q{i:015d}", {"Lead_Score__c": 1.0}, "h", "new") for i in range(n)]


def _server_error(status: int) -> SalesforceGeneralError:
    return SalesforceGeneralError(
        "u", status, "composite/sobjects", [{"errorCode": "SERVER_UNAVAILABLE", "message": "x"}]
    )


def test_transient_failures_are_retried_a_bounded_number_of_times():
    client = FlakyClient([_server_error(503), requests.ConnectionError("reset")])
    results = SalesforceDestination(client, backoff=0).write(SPEC, _changes(3))  # type: ignore[arg-type]
    assert client.calls == 3 and all(r.success for r in results)

    client = FlakyClient([_server_error(503)] * 4)
    spec = dataclasses.replace(SPEC, batch_size=2)
    results = SalesforceDestination(client, attempts=4, backoff=0).write(spec, _changes(3))  # type: ignore[arg-type]
    assert client.calls == 5  # four attempts for the first batch, then the second batch goes through
    assert [r.success for r in results] == [False, False, True]
    assert results[0].error == "SERVER_UNAVAILABLE: x"


def test_a_client_error_is_not_retried_and_fails_only_its_batch():
    bad = SalesforceMalformedRequest("u", 400, "composite/sobjects", [{"errorCode": "MALFORMED", "message": "m"}])
    client = FlakyClient([bad])
    spec = dataclasses.replace(SPEC, batch_size=2)
    results = SalesforceDestination(client, backoff=0).write(spec, _changes(4))  # type: ignore[arg-type]
    assert client.calls == 2
    assert [(r.success, r.error) for r in results] == [(False, "MALFORMED: m")] * 2 + [(True, None)] * 2
