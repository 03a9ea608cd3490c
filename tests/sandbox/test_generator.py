"""The world generator: deterministic by seed, realistic enough to score, truth for every record."""

from __future__ import annotations

import csv
import hashlib
import sqlite3

from sandbox.generator import generate_world


def _lead_digest(world) -> str:
    conn = sqlite3.connect(world / "salesforce.sqlite")
    rows = conn.execute('select * from "Lead" order by "Id"').fetchall()
    conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_same_seed_same_world_different_seed_different_world(tmp_path):
    generate_world(tmp_path / "a", leads=300, seed=11)
    generate_world(tmp_path / "b", leads=300, seed=11)
    generate_world(tmp_path / "c", leads=300, seed=12)
    assert _lead_digest(tmp_path / "a") == _lead_digest(tmp_path / "b")
    assert _lead_digest(tmp_path / "a") != _lead_digest(tmp_path / "c")


def test_ground_truth_covers_every_lead_and_some_people_recur(tmp_path):
    summary = generate_world(tmp_path, leads=500, seed=3)
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    lead_ids = {row[0] for row in conn.execute('select "Id" from "Lead"')}
    with open(tmp_path / "truth" / "leads.csv") as handle:
        truth = list(csv.DictReader(handle))
    assert summary["leads"] == len(lead_ids) == 500
    assert {row["lead_id"] for row in truth} == lead_ids
    people = {row["person_key"] for row in truth}
    assert summary["people"] == len(people) < 500
    assert all(0.0 <= float(row["propensity"]) <= 1.0 for row in truth)


def test_leads_pass_the_orgs_own_validation(tmp_path):
    """Generated rows must be rows the org would accept: required fields set, picklists valid."""
    from sandbox.salesforce.schema import LEAD
    from sandbox.salesforce.validation import validate_record

    generate_world(tmp_path, leads=200, seed=5)
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    conn.row_factory = sqlite3.Row
    writable = [f.name for f in LEAD.fields if f.createable]
    for row in conn.execute('select * from "Lead"'):
        payload = {name: row[name] for name in writable if row[name] is not None}
        for f in LEAD.fields:
            if f.type == "boolean" and f.name in payload:
                payload[f.name] = bool(payload[f.name])
        validate_record(LEAD, payload, creating=True)


def test_hubspot_contacts_are_the_same_people_with_noise_and_have_truth(tmp_path):
    import json

    summary = generate_world(tmp_path, leads=400, seed=9)
    conn = sqlite3.connect(tmp_path / "hubspot.sqlite")
    contacts = {cid: json.loads(props) for cid, props in conn.execute("select id, properties from objects")}
    with open(tmp_path / "truth" / "hubspot_contacts.csv") as handle:
        truth = {row["contact_id"]: row["person_key"] for row in csv.DictReader(handle)}
    with open(tmp_path / "truth" / "leads.csv") as handle:
        lead_people = {row["person_key"] for row in csv.DictReader(handle)}
    assert summary["hubspot_contacts"] == len(contacts) == len(truth) > 0
    assert set(truth) == set(contacts)
    assert set(truth.values()) <= lead_people  # every contact is a person Salesforce knows too
    assert any(p["email"] != p["email"].lower() for p in contacts.values())  # noise, not copies
    assert any(p["salesforceleadid"] for p in contacts.values())


def test_the_world_includes_partner_drops_web_events_and_the_product_db(tmp_path):
    from ingestion.imb import normalize

    generate_world(tmp_path, leads=400, seed=2)
    partner_files = sorted(p.name for p in (tmp_path / "partners").rglob("*.*"))
    assert any(name.endswith(".xlsx") for name in partner_files)
    assert {name.split("_")[0] for name in partner_files} == {"northmail", "eastprint", "southpost", "westdirect"}
    assert list((tmp_path / "landing" / "web_events").rglob("*.jsonl"))
    conn = sqlite3.connect(tmp_path / "product.sqlite")
    assert conn.execute("select count(*) from users").fetchone()[0] > 0
    with open(tmp_path / "truth" / "partner_records.csv") as handle:
        records = list(csv.DictReader(handle))
    with open(tmp_path / "truth" / "leads.csv") as handle:
        people = {row["person_key"] for row in csv.DictReader(handle)}
    assert records and {r["person_key"] for r in records} <= people
    good = [r for r in records if not r["defect"] and r["tracking"]]
    assert all(len(normalize(r["tracking"] + r["routing"]).tracking) == 20 for r in good[:50])
