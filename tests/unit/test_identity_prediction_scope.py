"""What decides whether a day's identity run may score only the changed pairs: how far the model's
parameters and the term frequencies moved, against the ceiling the last run left."""

import json
import math

import duckdb
import pyarrow as pa

from silver.identity import incremental
from silver.identity.incremental import (
    BAND_BITS,
    DIRTY_BITS,
    PAIRS_SCHEMA,
    PredictionState,
    Scope,
    parameter_drift,
    previous_profiles_sql,
    scope,
    weight_of,
)
from silver.identity.probabilistic import MATCH_PROBABILITY, default_model
from silver.identity.profiles import profiles
from silver.identity.standardize import standardize
from tests.unit.test_identity_matching import name_and_address_world


def _level(model: dict, comparison: str, label: str) -> dict:
    found = next(c for c in model["comparisons"] if c["output_column_name"] == comparison)
    return next(level for level in found["comparison_levels"] if level["label_for_charts"] == label)


def test_parameter_drift_is_the_largest_move_of_a_level_weight_and_of_u_where_term_frequencies_count():
    before = default_model()
    assert set(parameter_drift(before, before).values()) == {0.0}

    after = json.loads(json.dumps(before))
    _level(after, "city_key", "Exact match on city_key")["m_probability"] /= 2  # one bit less
    _level(after, "postal_key", "Exact match on postal_key")["u_probability"] *= 4  # two bits less
    drift = parameter_drift(before, after)
    assert drift is not None
    assert math.isclose(drift["city_key"], 1.0)
    # The postcode has no term-frequency level: only its weight moved, not a TF adjustment's u.
    assert math.isclose(drift["postal_key"], 2.0)
    assert drift["prior"] == 0.0 and drift["email_key"] == 0.0

    after["probability_two_random_records_match"] *= 2
    assert math.isclose(parameter_drift(before, after)["prior"], 1.0, rel_tol=1e-4)

    other_blocks = {
        **before,
        "blocking_rules_to_generate_predictions": before["blocking_rules_to_generate_predictions"][:1],
    }
    assert parameter_drift(before, other_blocks) is None


def _profiles_of(world: pa.Table) -> pa.Table:
    """The profiles a run on `world` leaves for the next, as silver's records give them back."""
    with duckdb.connect() as con:
        con.register("records", standardize(world))
        return con.sql(previous_profiles_sql("records")).to_arrow_table()


def _scope_now(con: duckdb.DuckDBPyConnection, world: pa.Table, before: pa.Table, ceiling: float) -> Scope:
    """The scope of a run on `world` after a run that left the profiles `before`, under the shipped
    model both times; `con` keeps its profiles."""
    model = default_model()
    con.register("records", standardize(world))
    profiles(con)
    state = PredictionState(json.dumps(model), ceiling, PAIRS_SCHEMA.empty_table(), before)
    return scope(con, model, MATCH_PROBABILITY, state)


BAND = weight_of(MATCH_PROBABILITY) - BAND_BITS


def test_the_same_profiles_under_the_same_model_are_all_clean():
    world = name_and_address_world(60)
    with duckdb.connect() as con:
        chosen = _scope_now(con, world, _profiles_of(world), BAND)
        assert chosen.incremental and chosen.dirty_profiles == 0 and chosen.drift_bits == 0.0
        assert con.sql("select count(*) from profiles where dirty").fetchall() == [(0,)]


def test_a_new_profile_dirties_those_sharing_its_rare_name_and_a_ceiling_at_the_threshold_scores_every_pair():
    world = name_and_address_world(60)
    before = _profiles_of(world)
    # A second record of the first person at another address: a new profile, and their full name
    # now on two profiles instead of one (its frequency doubles: a move of one bit).
    row = world.slice(0, 1).to_pylist()[0]
    late = pa.Table.from_pylist([{**row, "record_key": "late:0", "street": "1 Elm Way"}], schema=world.schema)
    later = pa.concat_tables([world, late])
    with duckdb.connect() as con:
        chosen = _scope_now(con, later, before, BAND)
        assert chosen.incremental and chosen.dirty_profiles >= 2
        # Every other value moved by no more than the profile count did: a clean, tiny drift.
        assert 0 < chosen.drift_bits <= 2 * DIRTY_BITS
        same_name = con.sql(
            "select count(*) from profiles p join records r on r.record_key = p.first_record_key"
            " where p.dirty and r.record_key in ('crm:0', 'late:0')"
        ).fetchall()[0][0]
        assert same_name == 2

    with duckdb.connect() as con:
        chosen = _scope_now(con, later, before, weight_of(MATCH_PROBABILITY))
        assert not chosen.incremental and chosen.reason.startswith("pairs left unscored may have reached")


def test_kept_pairs_that_chain_into_one_large_group_are_not_rescored_group_by_group(monkeypatch):
    world = name_and_address_world(60)
    before = _profiles_of(world)
    keys = sorted(before["profile_key"].to_pylist())
    chain = pa.table({"profile_key_l": keys[:-1], "profile_key_r": keys[1:]}, schema=PAIRS_SCHEMA)
    model = default_model()
    with duckdb.connect() as con:
        con.register("records", standardize(world))
        profiles(con)
        state = PredictionState(json.dumps(model), BAND, chain, before)
        chosen = scope(con, model, MATCH_PROBABILITY, state)
        assert chosen.incremental and chosen.watched_pairs == len(keys) - 1
        # One group of every profile: all its pairs would be compared, ~60 times the kept pairs.
        monkeypatch.setattr(incremental, "GROUP_PAIRS_PER_KEPT_PAIR", 0.5)
        profiles(con)
        chosen = scope(con, model, MATCH_PROBABILITY, state)
        assert not chosen.incremental and "chain into groups of" in chosen.reason
