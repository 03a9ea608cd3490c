"""The trained match model kept between runs: reused while the data has not moved much and the
settings are the same, and then linking exactly as the run that trained it."""

import json
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import splink

from silver.identity.probabilistic import MatchConfig, training_fingerprint
from silver.identity.resolve import Resolution, resolve
from silver.identity.saved_model import SavedModel
from tests.unit.test_identity_matching import name_and_address_world

# A small world trains (rather than taking the shipped model) with the threshold lowered.
CONFIG = MatchConfig(min_training_profiles=100)


def _links(resolution: Resolution) -> pa.Table:
    return resolution.links.sort_by(
        [("record_key_l", "ascending"), ("record_key_r", "ascending"), ("rule", "ascending")]
    )


@pytest.fixture(scope="module")
def world() -> pa.Table:
    return name_and_address_world(300)


@pytest.fixture(scope="module")
def trained(world: pa.Table) -> Resolution:
    return resolve(world, config=CONFIG)


def test_a_trained_model_is_kept_with_what_it_was_trained_on(trained):
    kept = trained.model.to_keep
    assert kept is not None and kept.source == trained.model.source == "partly trained"  # no shared email
    assert kept.profiles == trained.model.profiles == 600
    assert kept.training_fingerprint == training_fingerprint(CONFIG)
    assert kept.splink_version == splink.__version__
    assert trained.model.retrained_because == "no saved model"
    assert "training" in trained.model.seconds
    # Parameters only: no record's values in what the warehouse keeps.
    assert "hughes" not in kept.model_json.lower() and "kingsway" not in kept.model_json.lower()


def test_a_reused_model_makes_exactly_the_links_of_the_run_that_trained_it(world, trained):
    kept = trained.model.to_keep
    again = resolve(world, config=CONFIG, saved_model=kept)
    assert again.model.source == "reused"
    assert "training" not in again.model.seconds and "reuse" in again.model.seconds
    assert again.model.saved == kept and again.model.to_keep is None  # nothing new to keep
    metadata = again.model.as_metadata()
    assert metadata["model_trained_at"] == kept.trained_at.isoformat(timespec="seconds")
    assert metadata["model_trained_on_profiles"] == 600 and metadata["model_retrained_because"] is None
    assert _links(again).equals(_links(trained))
    assert again.person_records().equals(trained.person_records())


def test_a_reused_model_scores_with_its_saved_parameters(world, trained):
    """Not a quiet retraining: with the saved name levels made evidence of nothing, only the
    pairs missing a given name still link (those two levels are set from each run's records,
    see `_reuse`); the trained model linked all three kinds of pair."""
    model = json.loads(trained.model.to_keep.model_json)
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] == "first_name_key_last_name_key":
            for level in comparison["comparison_levels"]:
                if level.get("m_probability") is not None:
                    level["m_probability"] = level["u_probability"]  # weight 0: no evidence either way
    doctored = replace(trained.model.to_keep, model_json=json.dumps(model))
    again = resolve(world, config=CONFIG, saved_model=doctored)
    assert again.model.source == "reused"
    assert trained.links_by_rule()["splink"] >= 0.95 * 300
    linked = {
        frozenset(pair)
        for pair in zip(again.links["record_key_l"].to_pylist(), again.links["record_key_r"].to_pylist(), strict=True)
    }
    assert linked == {frozenset((f"crm:{i}", f"export:{i}")) for i in range(2, 300, 3)}  # no given name


def test_a_day_of_new_records_reuses_the_model_a_tenth_more_trains_it_again(world, trained):
    kept = trained.model.to_keep
    keys = world["record_key"]
    # 5 % fewer records (an export's last rows not yet loaded): within the tenth, reused.
    fewer = world.filter(pc.invert(pc.is_in(keys, value_set=pa.array([f"export:{i}" for i in range(30)]))))
    assert resolve(fewer, config=CONFIG, saved_model=kept).model.source == "reused"
    # A fifth fewer: the population moved, the model learns again and says why.
    fifth = world.filter(pc.invert(pc.is_in(keys, value_set=pa.array([f"export:{i}" for i in range(120)]))))
    again = resolve(fifth, config=CONFIG, saved_model=kept)
    assert again.model.source == "partly trained"
    assert again.model.retrained_because == "profiles moved 20.0% since training (600 then, 480 now), more than 10%"
    assert again.model.to_keep is not None and again.model.to_keep.profiles == 480


def test_other_settings_or_another_splink_train_the_model_again(world, trained):
    kept = trained.model.to_keep
    stricter = replace(CONFIG, match_probability=0.999)
    assert training_fingerprint(stricter) != training_fingerprint(CONFIG) == training_fingerprint(CONFIG)
    again = resolve(world, config=stricter, saved_model=kept)
    assert again.model.source != "reused" and "training" in again.model.seconds
    assert again.model.retrained_because == "the match settings changed since the model was trained"
    older = replace(kept, splink_version="4.0.0")
    assert older.why_not_reusable(600, kept.training_fingerprint, splink.__version__) == (
        f"Splink {splink.__version__} runs, the model was trained with 4.0.0"
    )


def test_the_tenth_is_counted_either_way_from_the_training_count(trained):
    kept = replace(trained.model.to_keep, profiles=1000)
    fingerprint, version = kept.training_fingerprint, kept.splink_version
    assert kept.why_not_reusable(1100, fingerprint, version) is None
    assert kept.why_not_reusable(900, fingerprint, version) is None
    assert kept.why_not_reusable(1101, fingerprint, version) is not None
    assert kept.why_not_reusable(899, fingerprint, version) is not None


def test_below_the_training_threshold_the_shipped_model_is_used_whatever_was_kept(trained):
    small = name_and_address_world(20)
    resolution = resolve(small, config=CONFIG, saved_model=replace(trained.model.to_keep, profiles=40))
    assert resolution.model.source == "default" and resolution.model.to_keep is None
    assert resolution.model.retrained_because is None  # nothing was trained


def test_the_kept_model_survives_its_table(trained):
    kept = trained.model.to_keep
    assert SavedModel.from_table(kept.as_table()) == kept
    assert SavedModel.from_table(kept.as_table().slice(0, 0)) is None
    with pytest.raises(ValueError, match="holds 2 rows; it keeps one model"):
        SavedModel.from_table(pa.concat_tables([kept.as_table(), kept.as_table()]))


def test_the_training_threshold_is_a_setting(monkeypatch):
    monkeypatch.setenv("LEADLOOP_IDENTITY_MIN_TRAINING_PROFILES", "100")
    assert MatchConfig.from_env().min_training_profiles == 100
    monkeypatch.setenv("LEADLOOP_IDENTITY_MIN_TRAINING_PROFILES", "lots")
    with pytest.raises(ValueError, match="LEADLOOP_IDENTITY_MIN_TRAINING_PROFILES='lots': give a whole number"):
        MatchConfig.from_env()
