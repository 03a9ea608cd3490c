"""The diff's building blocks: a change is a change on every warehouse, and only then."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reverse_etl.planner import payload_hash, to_destination_value
from reverse_etl.spec import SpecError, all_specs, load_spec


def test_numbers_hash_the_same_whatever_type_the_warehouse_returns():
    as_int = {"Lead_Score__c": to_destination_value(70), "Lead_Grade__c": "A"}
    as_decimal = {"Lead_Grade__c": "A", "Lead_Score__c": to_destination_value(Decimal("70"))}
    as_float = {"Lead_Score__c": to_destination_value(70.0), "Lead_Grade__c": "A"}
    assert payload_hash(as_int) == payload_hash(as_decimal) == payload_hash(as_float)


def test_any_mapped_value_change_changes_the_hash():
    base = {"Lead_Score__c": 70.0, "Lead_Grade__c": "A", "Lead_Score_Reasons__c": "VP title"}
    for field, value in [("Lead_Score__c", 71.0), ("Lead_Grade__c", "B"), ("Lead_Score_Reasons__c", None)]:
        assert payload_hash({**base, field: value}) != payload_hash(base)


def test_booleans_and_nulls_stay_json_native():
    assert to_destination_value(True) is True
    assert to_destination_value(None) is None


def test_the_shipped_spec_maps_gold_scores_to_lead_fields():
    [spec] = [s for s in all_specs() if s.name == "lead_scores_to_salesforce"]
    assert (spec.source_schema, spec.source_table, spec.key) == ("gold", "lead_scores", "lead_id")
    assert spec.fields == {"score": "Lead_Score__c", "grade": "Lead_Grade__c", "reasons": "Lead_Score_Reasons__c"}
    assert spec.batch_size == 200


def test_a_batch_larger_than_the_api_allows_is_refused(tmp_path):
    path = tmp_path / "too_big.yaml"
    path.write_text(
        "name: x\nsource: {schema: gold, table: t, key: k}\ndestination: {kind: salesforce, object: Lead}\n"
        "fields: {a: A__c}\nbatch_size: 500\n"
    )
    with pytest.raises(SpecError, match="batch_size must be between 1 and 200"):
        load_spec(path)
    path.write_text("name: x\nfields: {a: A__c}\n")
    with pytest.raises(SpecError, match="missing or malformed"):
        load_spec(path)
