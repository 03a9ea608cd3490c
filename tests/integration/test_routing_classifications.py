"""The classifier asset's body on both warehouses: only people whose records name no industry
are classified, every guess keeps its confidence and version, and a rerun writes the same rows."""

from __future__ import annotations

from silver.routing.classifier import feature_index
from silver.routing.classify import classify_missing_industry
from silver.routing.offline import OfflineTextClassifier


def _tiny_model() -> OfflineTextClassifier:
    n = 4096
    coef = [[0.0] * n, [0.0] * n]
    coef[1][feature_index("c:bank", n)] = 8.0
    return OfflineTextClassifier(
        {
            "name": "tiny",
            "labels": ["Retail", "Financial Services"],
            "n_features": n,
            "coef": coef,
            "intercept": [0.2, 0.0],
        },
        "tiny@1",
    )


def _silver(warehouse) -> None:
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute("create schema if not exists silver")
        cur.execute(
            "create table silver.int_people (person_id varchar, company varchar, company_domain varchar, "
            "email varchar, title varchar)"
        )
        cur.execute("create table silver.identity_records (person_id varchar, source varchar, source_id varchar)")
        cur.execute("create table silver.stg_salesforce__leads (lead_id varchar, industry varchar)")
        cur.execute(
            "insert into silver.int_people values "
            "('p1', 'First Bank', 'firstbank.com', 'ann@firstbank.com', 'CFO'), "
            "('p2', 'Corner Shop', null, 'bob@gmail.com', null), "
            "('p3', 'Known Corp', 'known.com', 'cid@known.com', null)"
        )
        cur.execute(
            "insert into silver.identity_records values ('p1', 'salesforce_lead', 'L1'), "
            "('p3', 'salesforce_lead', 'L3'), ('p3', 'salesforce_lead', 'L4')"
        )
        cur.execute("insert into silver.stg_salesforce__leads values ('L1', null), ('L3', null), ('L4', 'Retail')")


def test_people_without_an_industry_are_classified_once(warehouse):
    _silver(warehouse)
    run = classify_missing_industry(warehouse, _tiny_model())
    assert (run.people, run.labelled, run.model_version) == (2, 2, "tiny@1")
    assert run.by_label == {"Financial Services": 1, "Retail": 1}
    query = (
        "select person_id, attribute, label, confidence >= 0.6, model_version "
        "from silver.routing_classifications order by person_id"
    )
    rows = warehouse.query(query)
    assert rows == [
        ("p1", "industry", "Financial Services", True, "tiny@1"),
        ("p2", "industry", "Retail", False, "tiny@1"),
    ]
    classify_missing_industry(warehouse, _tiny_model())
    assert warehouse.query(query) == rows
