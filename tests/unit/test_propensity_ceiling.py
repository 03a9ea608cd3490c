"""The scoring bench's observable ceiling: E[true propensity | the model's features], cross-fitted,
so it measures what the features carry and not a memory of each person's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.scoring_scale import observable_ceiling


def _people(n: int, seed: int = 0) -> tuple[pd.DataFrame, dict[str, float]]:
    rng = np.random.default_rng(seed)
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    hidden = rng.normal(size=n)  # what the truth knows and no feature shows
    people = pd.DataFrame(
        {"person_id": [f"per_{i:05d}" for i in range(n)], "fit:signal": signal, "events:noise": noise}
    )
    truth = 1 / (1 + np.exp(-(signal + hidden)))
    return people, dict(zip(people["person_id"], truth, strict=True))


def test_the_ceiling_follows_what_the_features_carry_and_not_the_hidden_part():
    people, truth = _people(3000)
    ceiling = observable_ceiling(people, truth)
    values = np.array([truth[p] for p in ceiling.index])
    signal = people.set_index("person_id").loc[ceiling.index, "fit:signal"].to_numpy()
    # E[truth | signal]: the truth averaged over the hidden part.
    expected = (1 / (1 + np.exp(-(signal[:, None] + np.random.default_rng(1).normal(size=400))))).mean(axis=1)
    assert np.corrcoef(ceiling.to_numpy(), expected)[0, 1] > 0.9
    # Cross-fitted: the hidden part of each person's truth is not learned back (in-sample, this
    # correlation is 0.56).
    assert abs(np.corrcoef(ceiling.to_numpy() - expected, values - expected)[0, 1]) < 0.1


def test_scaled_copies_get_their_base_persons_estimate_and_never_train_it():
    people, truth = _people(600)
    copies = people.assign(person_id=people["person_id"] + "~1")
    both = pd.concat([people, copies], ignore_index=True)
    truth_both = {**truth, **{f"{p}~1": v for p, v in truth.items()}}
    ceiling = observable_ceiling(both, truth_both)
    assert len(ceiling) == 1200
    for person in people["person_id"].head(50):
        assert ceiling[person] == ceiling[f"{person}~1"]
    # Out of fold by base person: a copy in training would let a person's hidden part through.
    alone = observable_ceiling(people, truth)
    assert np.allclose(alone.sort_index().to_numpy(), ceiling[people["person_id"]].sort_index().to_numpy())
