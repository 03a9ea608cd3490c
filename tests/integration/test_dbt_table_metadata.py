"""Each dbt materialization carries its row count and typed columns, read from the warehouse after
dbt finished, on both warehouses; a failing step still hands over what it produced."""

from __future__ import annotations

import pytest
from dagster import AssetCheckResult, AssetKey, AssetMaterialization, Output, TableColumn, TableSchema

from orchestration.dbt_table_metadata import with_table_metadata

SCORES = AssetKey(["silver", "scores"])
RECENT = AssetKey(["silver", "recent_scores"])


@pytest.fixture
def built(warehouse):
    warehouse.query("create schema if not exists silver")
    warehouse.query("create table silver.scores (person_id varchar, score integer)")
    warehouse.query("insert into silver.scores values ('p1', 10), ('p2', 20), ('p3', 30)")
    warehouse.query("create view silver.recent_scores as select * from silver.scores where score > 15")
    return warehouse


def _key_of(event):
    return {"silver__scores": SCORES, "silver__recent_scores": RECENT}.get(event.output_name)


def test_row_counts_and_typed_columns_with_the_dbt_descriptions(built):
    check = AssetCheckResult(asset_key=SCORES, check_name="unique_person_id", passed=True)
    events = [Output(None, "silver__scores", metadata={"unique_id": "model.x.scores"}), check]
    events.append(Output(None, "silver__recent_scores"))
    documented = {SCORES: TableSchema([TableColumn("score", "", description="0-100, explained")])}

    out = list(with_table_metadata(iter(events), built, _key_of, documented))

    assert out[1] is check
    table, view = out[0].metadata, out[2].metadata
    assert table["dagster/row_count"].value == 3
    assert table["unique_id"].value == "model.x.scores"
    columns = table["dagster/column_schema"].value.columns
    assert [c.name for c in columns] == ["person_id", "score"]
    assert columns[1].type.lower() in {"integer", "int32"} and columns[1].description == "0-100, explained"
    assert "dagster/row_count" not in view  # counting a view would run it
    assert [c.name for c in view["dagster/column_schema"].value.columns] == ["person_id", "score"]


def test_a_failed_step_hands_over_its_events_then_fails(built):
    def failing():
        yield AssetMaterialization(SCORES)
        raise RuntimeError("dbt test failed")

    out = []
    with pytest.raises(RuntimeError, match="dbt test failed"):
        for event in with_table_metadata(failing(), built, lambda e: e.asset_key):
            out.append(event)
    assert out[0].metadata["dagster/row_count"].value == 3
