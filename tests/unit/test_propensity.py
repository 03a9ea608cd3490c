"""The propensity model and its guard: a model that learned something is published; shuffled
labels, too few outcomes or a training session that raises publish nothing, and the last good
model (or, before any, the rule score alone) keeps scoring. Pure frames for the model; tiny
hand-made silver/gold tables on both warehouses for the session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from scoring.propensity import RULES_ONLY, run_propensity
from scoring.propensity_features import assemble, feature_columns
from scoring.propensity_model import GuardConfig, ModelRefused, PropensityModel, train

GUARD = GuardConfig(min_positives=10, min_holdout_positives=3, auc_floor=0.7)


def _world(n: int = 240, seed: int = 7) -> dict[str, pd.DataFrame]:
    """People whose demo requests and VP titles raise their odds of converting; the rule score
    is fit plus engagement points."""
    rng = np.random.default_rng(seed)
    ids = [f"per_{i:04d}" for i in range(n)]
    demo = rng.poisson(0.6, n)
    vp = rng.random(n) < 0.3
    converted = rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 1.6 * demo + 1.5 * vp)))
    people = pd.DataFrame(
        {
            "person_id": ids,
            "fit_score": np.where(vp, 20, 5).astype(float),
            "engagement_score": (demo * 10).astype(float),
            "score": np.where(vp, 20, 5) + demo * 10,
            "first_seen_at": pd.date_range("2026-01-01", periods=n, freq="D", tz="UTC"),
        }
    )
    fit = pd.DataFrame(
        {"person_id": [i for i, v in zip(ids, vp, strict=True) if v], "rule_id": "title_vp", "points": 20}
    )
    engagement = pd.DataFrame({"person_id": ids, "rule_id": "demo_request", "events": demo})
    engagement = engagement[engagement["events"] > 0]
    outcome = pd.DataFrame({"person_id": [i for i, c in zip(ids, converted, strict=True) if c]})
    # Company size, unknown for every fifth person.
    numbers = pd.DataFrame(
        {"person_id": ids, "attribute": "number_of_employees", "value_number": rng.lognormal(4.5, 1.8, n).round()}
    ).iloc[[i for i in range(n) if i % 5]]
    return {"people": people, "fit": fit, "engagement": engagement, "outcome": outcome, "numbers": numbers}


def _frame(world: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return assemble(
        world["people"], world["fit"], world["engagement"], set(world["outcome"]["person_id"]), world["numbers"]
    )


def test_numeric_attributes_become_a_log_value_and_a_known_flag():
    """A rule's threshold keeps one bit of a company's size; the model gets the whole of it, and
    an unknown size reads as unknown, not as a one-person company."""
    world = _world()
    frame = _frame(world).set_index("person_id")
    sizes = world["numbers"].set_index("person_id")["value_number"]
    known = frame.index.isin(sizes.index)
    assert (frame["known:number_of_employees"] == known.astype(float)).all()
    assert np.allclose(frame.loc[sizes.index, "log:number_of_employees"], np.log10(1 + sizes))
    assert (frame.loc[~known, "log:number_of_employees"] == 0).all()
    assert {"log:number_of_employees", "known:number_of_employees"} <= set(feature_columns(frame.reset_index()))


def test_a_model_that_learned_the_signal_is_published_with_its_metrics():
    model = train(_frame(_world()), GUARD)
    assert model.metrics["auc"] >= GUARD.auc_floor
    assert {"top_decile_lift", "ece", "rule_score_auc", "training_rows", "positives"} <= set(model.metrics)
    assert dict(zip(model.features, model.coef, strict=True))["events:demo_request"] > 0
    # Plain JSON round trip: the stored version predicts what the trained one does.
    again = PropensityModel.from_json(model.to_json())
    frame = _frame(_world())
    assert again.version == model.version
    assert np.allclose(again.predict(frame), model.predict(frame))


def test_shuffled_labels_and_too_few_outcomes_are_refused():
    frame = _frame(_world())
    shuffled = frame.assign(converted=np.random.default_rng(1).permutation(frame["converted"].to_numpy()))
    with pytest.raises(ModelRefused, match="below the floor"):
        train(shuffled, GUARD)
    with pytest.raises(ModelRefused, match="too few outcomes to learn from"):
        train(frame.assign(converted=0), GUARD)


def _load(warehouse, world: dict[str, pd.DataFrame]) -> None:
    """The silver and gold tables the features query reads, with only the columns it reads."""
    people = world["people"]
    ids = people["person_id"].tolist()
    tables = {
        ("gold", "lead_scores"): people[["person_id", "fit_score", "engagement_score", "score"]],
        ("silver", "int_people"): people[["person_id", "first_seen_at"]],
        ("silver", "int_person_fit_matches"): world["fit"],
        ("silver", "int_person_engagement_matches"): world["engagement"],
        ("silver", "int_person_fit_attributes"): world["numbers"],
        ("silver", "identity_records"): pd.DataFrame(
            {"person_id": ids, "source": "salesforce_lead", "source_id": [f"L{i}" for i in ids]}
        ),
        ("silver", "stg_salesforce__leads"): pd.DataFrame(
            {"lead_id": [f"L{i}" for i in ids], "is_converted": people["person_id"].isin(world["outcome"]["person_id"])}
        ),
        ("silver", "stg_salesforce__opportunities"): pd.DataFrame(
            {"contact_id": ["C1"], "is_won": [True], "is_deleted": [False]}
        ),
    }
    for (schema, table), frame in tables.items():
        warehouse.replace_table(schema, table, pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False))


def _raise(frame: pd.DataFrame, guard: GuardConfig) -> PropensityModel:
    raise RuntimeError("solver diverged")


def test_a_session_publishes_scores_and_a_bad_one_keeps_the_last_good_model(warehouse):
    world = _world()
    _load(warehouse, world)

    # Before any model: a failing session leaves people with their rule score only.
    first = run_propensity(warehouse, GUARD, trainer=_raise)
    assert (first.model_version, first.published) == (RULES_ONLY, False)
    assert "training failed: RuntimeError: solver diverged; no model yet" in first.reason
    assert warehouse.query("select count(*) from gold.lead_propensity where propensity is null")[0][0] == 240

    good = run_propensity(warehouse, GUARD)
    assert good.published and good.metrics["auc"] >= GUARD.auc_floor
    scores = dict(warehouse.query("select person_id, propensity from gold.lead_propensity"))
    assert len(scores) == 240 and all(1 <= v <= 99 for v in scores.values())
    assert warehouse.query("select count(distinct model_version) from gold.lead_propensity") == [(1,)]
    sessions = warehouse.query("select count(*) from gold.propensity_models")[0][0]
    assert run_propensity(warehouse, GUARD).model_version == good.model_version  # same data: same model,
    assert warehouse.query("select count(*) from gold.propensity_models")[0][0] == sessions  # no new session

    # Outcomes that no longer follow the features: refused, and the good model keeps scoring.
    world["outcome"] = world["people"][["person_id"]].sample(frac=0.3, random_state=3)
    _load(warehouse, world)
    refused = run_propensity(warehouse, GUARD)
    assert not refused.published
    assert "below the floor" in refused.reason and f"kept model {good.model_version}" in refused.reason
    assert dict(warehouse.query("select person_id, propensity from gold.lead_propensity")) == scores
    failed = run_propensity(warehouse, GUARD, trainer=_raise)
    assert failed.model_version == good.model_version
    statuses = [s for (s,) in warehouse.query("select status from gold.propensity_models order by session")]
    assert statuses == ["failed", "published", "refused", "failed"]
