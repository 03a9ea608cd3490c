"""A person's latent buying intent: the one number (`propensity` in `truth/`) that drives both
what the person does (web visits, product use, mail callbacks, campaign responses) and whether
they convert.

Propensity is the person's true probability of converting. Most people are not in market and
convert now and then, at a rate their fit (seniority, company size, industry, source) moves; a
minority — likelier the better the fit — is in market and converts several times as often. What
people do follows the same numbers, so signals carry real information and a model trained on
them can approach the truth's ranking: website visits follow being in market (`visit_chance`),
product sign-ups and mailer callbacks the propensity (`engagement_chance`). What no source shows
is the small noise term, and the buyer who researches without ever leaving their email.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# Calibrated on the generator's fit (mean ~0.46, sd ~0.18): about one person in nine converts,
# in-market people (~15%) at ~40%, the rest at ~5%.
FIT_MEAN, FIT_SD = 0.46, 0.18
BASE_LOGIT = -2.9
FIT_WEIGHT = 0.8  # per standard deviation of fit
IN_MARKET_WEIGHT = 2.2
IN_MARKET_SHARE = 0.15  # at average fit; exp(0.5 z) times that at fit z
NOISE_SD = 0.3  # logit noise no source reveals


def in_market(fit: np.ndarray, u_in_market: np.ndarray) -> np.ndarray:
    """Who is in market (bool per person): likelier the better the fit. Its own function so the
    generator can write it to the truth: what the propensity model may hope to see is fit and,
    through engagement, this bit; the noise is what no source shows."""
    z = (np.asarray(fit, dtype=float) - FIT_MEAN) / FIT_SD
    return np.asarray(u_in_market) < np.clip(IN_MARKET_SHARE * np.exp(0.5 * z), 0.0, 0.9)


def propensity(fit: np.ndarray, u_in_market: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """True P(convert) per person from fit (the generator's 0–1 blend), a uniform draw that
    decides who is in market, and standard normal noise."""
    z = (np.asarray(fit, dtype=float) - FIT_MEAN) / FIT_SD
    logit = BASE_LOGIT + FIT_WEIGHT * z + IN_MARKET_WEIGHT * in_market(fit, u_in_market) + NOISE_SD * np.asarray(noise)
    return 1.0 / (1.0 + np.exp(-logit))


def visit_chance(person: Mapping[str, Any], floor: float, in_market_lift: float, default: float) -> float:
    """A person's chance to visit the website on a day: `floor`, plus `in_market_lift` while they
    are in market; `default` when the person carries no in-market bit (callers that pass bare
    people, e.g. tests).

    Visits follow being in market, not the propensity as a whole: a buyer evaluating a product
    researches it whatever their title or company size, and fit is what the CRM fields already
    show. Tied to the propensity (floor + slope × propensity, as the product and the mailers
    still are), the website showed fit twice and hid a low-fit buyer: in a 30k-lead world one
    in-market person in eight showed no engagement at all, and the model's AUC stayed 0.039
    under the truth's (bench/propensity_ceiling.py).
    """
    market = person.get("in_market")
    if market is None:
        return default
    return min(0.95, floor + in_market_lift * bool(market))


def engagement_chance(floor: float, slope: float, person_propensity: float | None, default: float) -> float:
    """The chance of an engagement draw: `floor + slope × propensity`, at most 0.95; `default`
    when the person carries no propensity (callers that pass bare people, e.g. tests)."""
    if person_propensity is None:
        return default
    return min(0.95, floor + slope * float(person_propensity))
