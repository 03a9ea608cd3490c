"""A day's identity run scores only the pairs whose score may have moved, and links exactly as
scoring every pair does, on DuckDB and on Postgres."""

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from silver.identity.incremental import PAIRS_TABLE
from silver.identity.run import previous_prediction, run_identity
from tests.integration.test_identity_model_reuse import _identity, stage_leads
from tests.unit.test_identity_matching import name_and_address_world


def _a_day_later(world: pa.Table) -> pa.Table:
    """One record deleted (its person's other record stands alone), one moved house, a third copy
    of a person with a typo in the given name, and someone new."""
    rows = [row for row in world.to_pylist() if row["record_key"] != "export:5"]
    for row in rows:
        if row["record_key"] == "crm:10":
            row["street"], row["postal_code"] = "99 Neue Straße", "29999"
    copy = next(row for row in rows if row["record_key"] == "crm:21")
    late = {**copy, "record_key": "late:21", "first_name": copy["first_name"][:-1] + "x"}
    newcomer = {**copy, "record_key": "new:1", "first_name": "Zenobia", "last_name": "Quarrington"}
    return pa.Table.from_pylist([*rows, late, newcomer], schema=world.schema)


def _records(warehouse) -> pa.Table:
    """Every column identity keeps of each record: its keys and the hash they were made from."""
    return warehouse.read_arrow(f"select * from {warehouse.schema('silver')}.identity_records order by record_key")


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"], indirect=True)
def test_a_day_scores_the_changed_pairs_and_links_as_scoring_every_pair(warehouse, tmp_path):
    landing = str(tmp_path / "landing")
    world = name_and_address_world(300)
    stage_leads(warehouse, world)
    first = run_identity(warehouse, landing).resolution.model.scope
    assert first is not None and not first.incremental and first.reason == "no pairs kept from an earlier run"
    kept = warehouse.query(f"select count(*) from {warehouse.schema('silver')}.{PAIRS_TABLE}")[0][0]
    assert kept >= 290  # the typo'd and swapped copies: each person's two profiles, and some neighbours

    stage_leads(warehouse, _a_day_later(world))
    day = run_identity(warehouse, landing).resolution
    scope = day.model.scope
    assert scope is not None and scope.incremental, scope
    assert day.standardized == 3  # the moved house, the late copy, the newcomer; the rest carried
    profiles = day.model.profiles
    # New profiles (the moved house, the late copy, the newcomer) and those whose names' or
    # city's frequency moved: a few, not the world's 600.
    assert 3 <= scope.dirty_profiles < profiles / 4
    assert scope.watched_pairs >= 280
    incremental = _identity(warehouse)
    keys_carried = _records(warehouse)
    keys = (k.removeprefix("salesforce_lead:") for k in incremental[0]["record_key"].to_pylist())
    person = dict(zip(keys, incremental[0]["person_id"].to_pylist(), strict=True))
    assert person["late:21"] == person["crm:21"] == person["export:21"]
    assert person["crm:7"] == person["export:7"]  # an unchanged person, linked by a kept pair
    assert person["new:1"] != person["crm:21"]

    again = run_identity(warehouse, landing).resolution.model.scope
    assert again is not None and again.incremental and again.dirty_profiles == 0
    assert _identity(warehouse) == incremental
    assert _records(warehouse).equals(keys_carried)  # carried keys are the keys standardizing gives

    every = run_identity(warehouse, landing, rebuild=True).resolution
    assert every.model.scope is not None and not every.model.scope.incremental
    assert every.model.source == day.model.source == "default"  # the same model scored both
    assert _identity(warehouse) == incremental
    assert _records(warehouse).equals(keys_carried)  # carried keys are the keys standardizing gives
    splink = pc.equal(every.links["rule"], "splink")
    assert pc.sum(splink).as_py() > 250


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"], indirect=True)
def test_a_run_that_scored_nothing_leaves_no_pairs_and_the_next_scores_every_pair(warehouse, tmp_path):
    landing = str(tmp_path / "landing")
    world = name_and_address_world(200)
    stage_leads(warehouse, world)
    run_identity(warehouse, landing)
    assert previous_prediction(warehouse) is not None

    stage_leads(warehouse, world.slice(0, 1))  # one record: one profile, no pair to score
    alone = run_identity(warehouse, landing).resolution.model
    assert alone.scope is None and alone.to_carry is None
    assert previous_prediction(warehouse) is None  # an empty state, not the one before

    stage_leads(warehouse, world)
    again = run_identity(warehouse, landing).resolution.model.scope
    assert again is not None and not again.incremental and again.reason == "no pairs kept from an earlier run"
