"""Person features and observed outcomes for the propensity model, read from silver and gold.

Outcomes are what the CRM recorded (a converted lead, a won opportunity on a person's Contact),
never the generator's truth files, so the model learns what a real org could learn. Features are
the rule matches RevOps already maintain (fit rule points, engagement events per rule), the
numeric fit attributes themselves (employees, revenue: a rule's threshold keeps one bit of them,
the model can use the whole, on a log scale) and the two rule scores: a new rule in the seeds or
a new numeric attribute becomes a new feature without code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse import Warehouse

PEOPLE_SQL = """
select scores.person_id, scores.fit_score, scores.engagement_score, scores.score, people.first_seen_at
from {gold}.lead_scores as scores
left join {silver}.int_people as people on people.person_id = scores.person_id
"""
FIT_SQL = "select person_id, rule_id, points from {silver}.int_person_fit_matches"
ENGAGEMENT_SQL = "select person_id, rule_id, events from {silver}.int_person_engagement_matches"
NUMBER_SQL = (
    "select person_id, attribute, value_number from {silver}.int_person_fit_attributes where value_number is not null"
)
# A person converted when any of their leads did, or when an opportunity on any of their
# Contacts was won.
OUTCOME_SQL = """
select distinct ids.person_id
from {silver}.identity_records as ids
join {silver}.stg_salesforce__leads as leads on leads.lead_id = ids.source_id
where ids.source = 'salesforce_lead' and leads.is_converted
union
select distinct ids.person_id
from {silver}.identity_records as ids
join {silver}.stg_salesforce__opportunities as opps on opps.contact_id = ids.source_id
where ids.source = 'salesforce_contact' and opps.is_won and not opps.is_deleted
"""
BASE_FEATURES = ("fit_score", "engagement_score", "score")


def read_people(warehouse: Warehouse) -> pd.DataFrame:
    """One row per scored person: features (`fit:<rule>`, `events:<rule>`, `log:<attribute>` and
    `known:<attribute>`, the two rule scores), `score` (the rule score, a feature and the
    baseline), `first_seen_at` and `converted` (0/1)."""
    # Arrow, not Python tuples: at 1M people the match tables have millions of rows.
    people, fit, engagement, numbers, outcome = (
        warehouse.read_arrow(warehouse.qualify(sql)).to_pandas()
        for sql in (PEOPLE_SQL, FIT_SQL, ENGAGEMENT_SQL, NUMBER_SQL, OUTCOME_SQL)
    )
    return assemble(people, fit, engagement, set(outcome["person_id"]), numbers)


def assemble(
    people: pd.DataFrame,
    fit: pd.DataFrame,
    engagement: pd.DataFrame,
    converted: set[str],
    numbers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The wide frame from the long rule-match tables (pure, so tests need no warehouse).
    `numbers` (person_id, attribute, value_number) become `log:<attribute>` = log10(1 + max(v, 0))
    and `known:<attribute>` (0/1): an unknown size then reads as unknown, not as a tiny company."""
    frame = people.set_index("person_id")
    for prefix, long, value in (("fit", fit, "points"), ("events", engagement, "events")):
        if len(long):
            wide = long.groupby(["person_id", "rule_id"])[value].sum().unstack(fill_value=0)
            wide.columns = [f"{prefix}:{rule}" for rule in wide.columns]
            frame = frame.join(wide, how="left")
    if numbers is not None and len(numbers):
        values = numbers.groupby(["person_id", "attribute"])["value_number"].max().unstack()
        logged = np.log10(1.0 + values.astype(float).clip(lower=0.0))
        frame = frame.join(logged.add_prefix("log:"), how="left")
        frame = frame.join(values.notna().astype(float).add_prefix("known:"), how="left")
    feature_columns = [c for c in frame.columns if c in BASE_FEATURES or ":" in c]
    frame[feature_columns] = frame[feature_columns].astype(float).fillna(0.0)
    frame["converted"] = frame.index.isin(converted).astype(int)
    frame["first_seen_at"] = pd.to_datetime(frame["first_seen_at"], utc=True)
    return frame.reset_index().sort_values("person_id", kind="stable").reset_index(drop=True)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return sorted(c for c in frame.columns if c in BASE_FEATURES or ":" in c)
