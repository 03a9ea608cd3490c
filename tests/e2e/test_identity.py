"""People from the whole loop, on each warehouse: identity resolution measured against the
generator's truth, a golden record per person, and person ids that survive a rerun."""

import csv

import pytest

from sandbox.identity_truth import pairwise, truth_keys

pytestmark = pytest.mark.e2e


def test_records_resolve_into_the_true_people_with_stable_ids(looped):
    warehouse, world_dir = looped.warehouse, looped.world_dir
    resolved = warehouse.read_arrow("select record_key, person_id from silver.identity_records")
    scores = pairwise(resolved, truth_keys(world_dir))
    # Every record the generator wrote is resolved, and into the people it was written for.
    assert scores["records_scored"] == len(truth_keys(world_dir)) == resolved.num_rows
    assert scores["precision"] >= 0.995 and scores["recall"] >= 0.98, scores

    people = warehouse.query("select count(*), count(distinct person_id) from silver.int_people")
    assert people == [(scores["clusters_predicted"], scores["clusters_predicted"])]
    # Every link explains itself: a rule, or Splink's weight and the fields that agreed.
    unexplained = warehouse.query(
        "select count(*) from silver.identity_links where agreed_on is null or agreed_on = ''"
        " or (rule = 'splink' and match_weight is null)"
    )
    assert unexplained == [(0,)]

    # Enrichment: every person has a status; an enriched one carries the vendor file's row.
    statuses = dict(warehouse.query("select enrichment_status, count(*) from silver.person_enrichment group by 1"))
    assert sum(statuses.values()) == scores["clusters_predicted"]
    assert statuses.get("enriched", 0) > 0 and set(statuses) <= {"enriched", "not_found", "provider_error"}
    with open(world_dir / "reference" / "firmographics.csv", newline="") as handle:
        vendor = {row["domain"]: row for row in csv.DictReader(handle)}
    enriched = warehouse.query(
        "select company_domain, industry, employees from silver.person_enrichment where enrichment_status = 'enriched'"
    )
    assert all((vendor[d]["industry"], int(vendor[d]["employees"])) == (i, e) for d, i, e in enriched)
    enrichment_before = warehouse.query("select * from silver.person_enrichment order by person_id")

    # A stranger arrives between the runs (entered by a rep: what Leadloop's own integration user
    # writes is not a source change): nobody already resolved changes id, and the stranger is a
    # person of their own.
    stranger = looped.rep.Lead.create(
        {
            "FirstName": "Zelda",
            "LastName": "Quartermain",
            "Company": "Nowhere Ltd",
            "Email": "zq@nowhere.example",
            "Status": "Open - Not Contacted",
        }
    )["id"]
    looped.run()
    again = dict(warehouse.query("select record_key, person_id from silver.identity_records"))
    before = dict(zip(resolved["record_key"].to_pylist(), resolved["person_id"].to_pylist(), strict=True))
    assert {key: again[key] for key in before} == before
    assert again[f"salesforce_lead:{stranger}"] not in before.values()
    # The rerun answers known people from the cache: the same rows, fetch times included.
    enrichment_after = warehouse.query("select * from silver.person_enrichment order by person_id")
    known_people = set(before.values())
    assert [row for row in enrichment_after if row[0] in known_people] == enrichment_before
