"""Scoring identity resolution against the generator's ground truth: which person each record
was made for, and pairwise precision/recall of a resolution. Used by the benchmark and tests."""

import csv
from pathlib import Path

import pyarrow as pa

# truth file → (record source, id column)
TRUTH_FILES = {
    "leads.csv": ("salesforce_lead", "lead_id"),
    "contacts.csv": ("salesforce_contact", "contact_id"),
    "hubspot_contacts.csv": ("hubspot_contact", "contact_id"),
    "product_users.csv": ("product_user", "user_id"),
}


def truth_keys(world: Path) -> pa.Table:
    """`record_key` → the generator's `person_key`, for every record it wrote."""
    keys, people = [], []
    for name, (source, column) in TRUTH_FILES.items():
        with open(world / "truth" / name, newline="") as handle:
            for row in csv.DictReader(handle):
                keys.append(f"{source}:{row[column]}")
                people.append(row["person_key"])
    with open(world / "truth" / "partner_records.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == "mailed" and not row["defect"]:
                keys.append(f"partner_mail:{row['tracking']}")
                people.append(row["person_key"])
    return pa.table({"record_key": keys, "person_key": people})


def _pairs(counts: pa.Array) -> int:
    values = counts.to_numpy()
    return int((values * (values - 1) // 2).sum())


def pairwise(predicted: pa.Table, truth: pa.Table) -> dict[str, float | int]:
    """Pairwise precision, recall and F1 of `predicted` (`record_key`, `person_id`) over the
    records both it and the truth know."""
    scored = predicted.join(truth, "record_key", join_type="inner")
    both = scored.group_by(["person_id", "person_key"]).aggregate([("record_key", "count")])
    true_positive = _pairs(both["record_key_count"])
    predicted_pairs = _pairs(scored.group_by("person_id").aggregate([("record_key", "count")])["record_key_count"])
    true_pairs = _pairs(scored.group_by("person_key").aggregate([("record_key", "count")])["record_key_count"])
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    return {
        "records_scored": scored.num_rows,
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(2 * precision * recall / (precision + recall), 5) if precision + recall else 0.0,
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "clusters_predicted": len(set(scored["person_id"].to_pylist())),
        "clusters_true": len(set(scored["person_key"].to_pylist())),
    }


# Slices of record pairs scored on their own: the pairs no shared key gives away, and people abroad.
SLICES = {
    "name_and_address_only": "not (coalesce(l.email_key = r.email_key, false)"
    " or coalesce(l.phone_e164 = r.phone_e164, false) or coalesce(l.company_key = r.company_key, false))",
    "non_us": "coalesce(l.country_key, '') <> 'US' and coalesce(r.country_key, '') <> 'US'",
}


def pairwise_slices(predicted: pa.Table, truth: pa.Table) -> dict[str, dict[str, float | int]]:
    """Pairwise precision and recall within each of `SLICES`, over the records both `predicted`
    (`record_key`, `person_id` and the match keys `email_key`, `phone_e164`, `company_key`,
    `country_key`) and the truth know: a slice's true pairs are the truth's pairs it holds, its
    predicted pairs the resolution's."""
    import duckdb

    with duckdb.connect() as con:
        con.register("predicted", predicted)
        con.register("truth", truth)
        con.execute(
            "create temp table scored as select p.*, t.person_key from predicted p join truth t using (record_key)"
        )
        out = {}
        for name, condition in SLICES.items():
            # Two equi-joins (same predicted person; same true person), not one join on an `or`,
            # which DuckDB can only answer pair by pair.
            pairs = f"""
                select distinct a, b, same_predicted, same_true from (
                    select l.record_key as a, r.record_key as b, true as same_predicted,
                           l.person_key = r.person_key as same_true
                    from scored l join scored r on l.person_id = r.person_id and l.record_key < r.record_key
                    where {condition}
                    union all
                    select l.record_key, r.record_key, l.person_id = r.person_id, true
                    from scored l join scored r on l.person_key = r.person_key and l.record_key < r.record_key
                    where {condition}
                )
            """
            tp, predicted_pairs, true_pairs = con.sql(
                f"select count(*) filter (same_predicted and same_true), count(*) filter (same_predicted),"
                f" count(*) filter (same_true) from ({pairs})"
            ).fetchall()[0]
            out[name] = {
                "precision": round(tp / predicted_pairs, 5) if predicted_pairs else 1.0,
                "recall": round(tp / true_pairs, 5) if true_pairs else 1.0,
                "true_pairs": true_pairs,
                "predicted_pairs": predicted_pairs,
            }
    return out
