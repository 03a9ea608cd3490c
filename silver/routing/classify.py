"""Infers the industry of every person whose records do not name one, and writes the guesses
to `silver.routing_classifications` for routing (dbt) to read. Every guess is kept with its
confidence and model version; dbt decides which are confident enough (var
`routing_min_confidence`), so changing the threshold needs no re-classification.

The table is rewritten whole each run (people come and go, erased people must leave it), from
the same inputs to the same rows, so a rerun changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyarrow as pa

from silver.routing.classifier import Classifier, TextRecord
from silver.routing.endpoint import EndpointClassifier
from silver.routing.offline import OfflineTextClassifier
from warehouse import Warehouse

SCHEMA = "silver"
TABLE = "routing_classifications"
BATCH = 5_000

# People none of whose Salesforce leads names an industry, with the free text they do have.
UNLABELLED_PEOPLE = """
select
    people.person_id,
    people.company,
    coalesce(people.company_domain, nullif(split_part(people.email, '@', 2), '')) as email_domain,
    people.title
from {silver}.int_people as people
where not exists (
    select 1
    from {silver}.identity_records as records
    inner join {silver}.stg_salesforce__leads as leads
        on records.source = 'salesforce_lead' and records.source_id = leads.lead_id
    where records.person_id = people.person_id and leads.industry is not null
)
order by people.person_id
"""


@dataclass(frozen=True)
class ClassificationRun:
    people: int
    labelled: int
    by_label: dict[str, int]
    model_version: str
    confidence_quartiles: list[float]


def default_classifier() -> Classifier:
    """The endpoint when LEADLOOP_CLASSIFIER_URL is set, else the shipped offline model."""
    offline = OfflineTextClassifier.load()
    return EndpointClassifier.from_env(offline.labels) or offline


def classify_missing_industry(store: Warehouse, classifier: Classifier) -> ClassificationRun:
    people = store.read_arrow(UNLABELLED_PEOPLE.format(silver=store.schema(SCHEMA))).to_pylist()
    records = [TextRecord(company=p["company"], email_domain=p["email_domain"], title=p["title"]) for p in people]
    guesses = []
    for start in range(0, len(records), BATCH):
        guesses.extend(classifier.predict(records[start : start + BATCH]))
    table = pa.table(
        {
            "person_id": pa.array([p["person_id"] for p in people], pa.string()),
            "attribute": pa.array(["industry"] * len(people), pa.string()),
            "label": pa.array([g.label for g in guesses], pa.string()),
            "confidence": pa.array([g.confidence for g in guesses], pa.float64()),
            "model_version": pa.array([g.model_version for g in guesses], pa.string()),
        }
    )
    store.replace_table(store.schema(SCHEMA), TABLE, table)
    confidences = sorted(g.confidence for g in guesses)
    quartiles = [round(confidences[int(q * (len(confidences) - 1))], 4) for q in (0.25, 0.5, 0.75)] if guesses else []
    return ClassificationRun(
        people=len(people),
        labelled=sum(1 for g in guesses if g.label),
        by_label=dict(sorted(Counter(g.label or "unknown" for g in guesses).items())),
        model_version=guesses[0].model_version if guesses else getattr(classifier, "model_version", ""),
        confidence_quartiles=quartiles,
    )
