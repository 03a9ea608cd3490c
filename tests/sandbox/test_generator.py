"""The world generator: deterministic by seed, realistic enough to score, truth for every record."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from pathlib import Path

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


def test_intent_truth_gives_each_persons_fit_and_in_market_behind_the_propensity(tmp_path):
    """truth/intent.csv holds the parts of each person's propensity: the same propensity as the
    lead truth, and the propensity sandbox/intent.py computes from that fit and in-market bit
    (noise aside), so benches can split the AUC gap into fit, in-market and noise."""
    import math

    from sandbox import intent

    summary = generate_world(tmp_path, leads=2000, seed=7)
    with open(tmp_path / "truth" / "leads.csv") as handle:
        lead_truth = {row["person_key"]: float(row["propensity"]) for row in csv.DictReader(handle)}
    with open(tmp_path / "truth" / "intent.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["people"] == len(lead_truth)
    assert all(lead_truth[row["person_key"]] == float(row["propensity"]) for row in rows)
    in_market = [row for row in rows if row["in_market"] == "1"]
    assert 0.08 < len(in_market) / len(rows) < 0.3
    for row in rows:
        z = (float(row["fit"]) - intent.FIT_MEAN) / intent.FIT_SD
        logit = intent.BASE_LOGIT + intent.FIT_WEIGHT * z + intent.IN_MARKET_WEIGHT * int(row["in_market"])
        noise = math.log(float(row["propensity"]) / (1 - float(row["propensity"]))) - logit
        assert abs(noise) < 6 * intent.NOISE_SD  # what is left is the small noise term, nothing else


def test_web_and_product_reach_everyone_and_mail_reaches_the_sample_the_truth_names(tmp_path, monkeypatch):
    """Anyone can show intent on the website or in the product, wherever their key falls (web
    and product once reached only the first 20,000 people); partners mail only the sample that
    truth/intent.csv marks `in_mail_sample`. A small sample makes a small world show both."""
    from sandbox import daily_sources

    monkeypatch.setattr(daily_sources, "MAIL_SAMPLE", 300)
    generate_world(tmp_path, leads=1500, seed=5)
    with open(tmp_path / "truth" / "intent.csv") as handle:
        rows = list(csv.DictReader(handle))
    keys = sorted(row["person_key"] for row in rows)
    sample = {row["person_key"] for row in rows if row["in_mail_sample"] == "1"}
    assert sample and sample <= set(keys[:300])
    with open(tmp_path / "truth" / "partner_records.csv") as handle:
        mailed = {row["person_key"] for row in csv.DictReader(handle)}
    assert mailed and mailed <= sample
    with open(tmp_path / "truth" / "web_events.csv") as handle:
        visitors = {row["person_key"] for row in csv.DictReader(handle)}
    with open(tmp_path / "truth" / "product_users.csv") as handle:
        users = {row["person_key"] for row in csv.DictReader(handle)}
    inside, outside = set(keys[:300]), set(keys[300:])
    for engaged in (visitors, users):
        # About the same share on either side of the mail sample's edge (keys are a random order).
        share_inside, share_outside = len(engaged & inside) / len(inside), len(engaged & outside) / len(outside)
        assert share_outside > 0.1 and abs(share_inside - share_outside) < 0.1


def test_every_generated_record_passes_the_orgs_own_validation(tmp_path):
    """Generated rows must be rows the org would accept: required fields set, picklists valid,
    and every reference pointing at a record of a type the field allows."""
    from sandbox.salesforce.schema import OBJECTS
    from sandbox.salesforce.validation import validate_record

    generate_world(tmp_path, leads=300, seed=5)
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    conn.row_factory = sqlite3.Row
    prefix_of = {obj.key_prefix: obj.name for obj in OBJECTS.values()}
    ids = {row[0] for obj in OBJECTS.values() for row in conn.execute(f'select "Id" from "{obj.name}"')}
    counts = {}
    for obj in OBJECTS.values():
        writable = [f.name for f in obj.fields if f.createable]
        rows = conn.execute(f'select * from "{obj.name}"').fetchall()
        counts[obj.name] = len(rows)
        for row in rows:
            payload = {name: row[name] for name in writable if row[name] is not None}
            for f in obj.fields:
                if f.type == "boolean" and f.name in payload:
                    payload[f.name] = bool(payload[f.name])
                if f.type == "reference" and row[f.name] is not None:
                    assert row[f.name] in ids, (obj.name, f.name)
                    assert prefix_of[row[f.name][:3]] in f.reference_to, (obj.name, f.name)
            validate_record(obj, payload, creating=True)
    assert all(counts[name] > 0 for name in ("Lead", "Contact", "Account", "Opportunity", "Task", "Campaign"))
    assert counts["CampaignMember"] > 0


def test_outcomes_follow_propensity_and_have_truth(tmp_path):
    """Likelier people convert and win more often; every contact and conversion is in the truth."""
    generate_world(tmp_path, leads=3000, seed=21)
    with open(tmp_path / "truth" / "leads.csv") as handle:
        propensity = {row["person_key"]: float(row["propensity"]) for row in csv.DictReader(handle)}
    with open(tmp_path / "truth" / "outcomes.csv") as handle:
        outcomes = {row["person_key"]: row for row in csv.DictReader(handle)}
    with open(tmp_path / "truth" / "contacts.csv") as handle:
        contact_people = {row["contact_id"]: row["person_key"] for row in csv.DictReader(handle)}
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    converted = dict(conn.execute('select "Id", "ConvertedContactId" from "Lead" where "IsConverted" = 1').fetchall())
    assert set(converted.values()) == set(contact_people) == {o["contact_id"] for o in outcomes.values()}
    assert {o["lead_id"] for o in outcomes.values()} == set(converted)
    ranked = sorted(propensity, key=propensity.get)
    low, high = ranked[: len(ranked) // 4], ranked[-len(ranked) // 4 :]
    rate = lambda group: sum(p in outcomes for p in group) / len(group)  # noqa: E731
    assert rate(high) > 2 * rate(low)
    closed = [o for o in outcomes.values() if o["won"] != ""]
    won = [propensity[o["person_key"]] for o in closed if o["won"] == "1"]
    lost = [propensity[o["person_key"]] for o in closed if o["won"] == "0"]
    assert won and lost and sum(won) / len(won) > sum(lost) / len(lost)
    stages = dict(conn.execute('select "Id", "StageName" from "Opportunity"').fetchall())
    assert all(stages[o["opportunity_id"]] == o["stage"] for o in outcomes.values() if o["opportunity_id"])


def test_intent_drives_conversion_and_engagement(tmp_path):
    """A minority of likely buyers converts at several times the base rate, and the same intent
    shows in what people do: who uses the product, on how many days, and who visits the website."""
    generate_world(tmp_path, leads=3000, seed=21)
    with open(tmp_path / "truth" / "leads.csv") as handle:
        propensity = {row["person_key"]: float(row["propensity"]) for row in csv.DictReader(handle)}
    with open(tmp_path / "truth" / "outcomes.csv") as handle:
        converted = {row["person_key"] for row in csv.DictReader(handle)}
    ranked = sorted(propensity, key=propensity.get, reverse=True)
    base = len(converted) / len(ranked)
    top = ranked[: len(ranked) // 10]
    assert 0.08 < base < 0.16
    assert sum(p in converted for p in top) / len(top) > 3 * base

    def mean(keys: set[str]) -> float:
        return sum(propensity[k] for k in keys) / len(keys)

    with open(tmp_path / "truth" / "product_users.csv") as handle:
        user_person = {row["user_id"]: row["person_key"] for row in csv.DictReader(handle)}
    users = set(user_person.values())
    assert mean(users) > 2 * mean(set(propensity) - users)
    conn = sqlite3.connect(tmp_path / "product.sqlite")
    days = conn.execute("select user_id, count(distinct substr(occurred_at, 1, 10)) from usage_events group by 1")
    active = {user_person[str(user_id)]: n for user_id, n in days}
    conn.close()
    busy = {k for k, n in active.items() if n >= 7}
    assert busy and mean(busy) > 2 * mean(users - busy)
    with open(tmp_path / "truth" / "web_events.csv") as handle:
        visitors = {row["person_key"] for row in csv.DictReader(handle)}
    assert mean(visitors) > 2 * mean(set(propensity) - visitors)
    # Website visits follow being in market (sandbox/intent.py's visit_chance): most buyers
    # leave a trail in the weeks before the first day, few of the rest do.
    with open(tmp_path / "truth" / "intent.csv") as handle:
        in_market = {row["person_key"] for row in csv.DictReader(handle) if row["in_market"] == "1"}
    others = set(propensity) - in_market
    assert len(visitors & in_market) / len(in_market) > 0.8
    assert len(visitors & others) / len(others) < 0.3


def test_duplicate_leads_carry_each_kind_of_noise(tmp_path):
    """A person's second lead differs the way real duplicates do, and the truth still ties them."""
    from sandbox.noise import NICKNAMES

    generate_world(tmp_path, leads=2000, seed=4)
    with open(tmp_path / "truth" / "leads.csv") as handle:
        person_of = {row["lead_id"]: row["person_key"] for row in csv.DictReader(handle)}
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    conn.row_factory = sqlite3.Row
    by_person: dict[str, list] = {}
    for row in conn.execute('select * from "Lead" order by "Id"'):
        by_person.setdefault(person_of[row["Id"]], []).append(row)
    pairs = [(rows[0], other) for rows in by_person.values() for other in rows[1:]]
    assert pairs
    emails = [(a["Email"], b["Email"]) for a, b in pairs if b["Email"]]
    assert any("+" in b and "+" not in a for a, b in emails)  # plus-addressed alias
    assert any(
        b.split("@")[-1] in {"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de"}
        and a.strip().lower() != b
        for a, b in emails
    )  # personal address
    assert any(b != b.strip() for _, b in emails)
    assert any(NICKNAMES.get(a["FirstName"]) == b["FirstName"] for a, b in pairs)
    assert any(a["FirstName"] == b["LastName"] and a["LastName"] == b["FirstName"] for a, b in pairs)
    assert any(
        a["LastName"] != b["LastName"] and a["LastName"][0] == b["LastName"][0] and a["FirstName"] == b["FirstName"]
        for a, b in pairs
    )  # a typo
    assert any(
        a["Street"] != b["Street"] and b["Street"].endswith((" St", " Ave", " Rd", " Dr", " Ln", " Blvd"))
        for a, b in pairs
    )
    # Work and personal emails, local and international phone formats, in the population itself.
    phones = [r["Phone"] for rows in by_person.values() for r in rows if r["Phone"]]
    assert any(p.startswith("+") for p in phones) and any(p.startswith(("(", "0")) for p in phones)


def test_some_duplicates_come_from_name_and_address_lists_with_one_slip(tmp_path):
    """Later leads from a list holding names and postal addresses only share no email, phone
    or company with the person's first lead, and differ from it by one slip the truth still ties."""
    generate_world(tmp_path, leads=3000, seed=4)
    with open(tmp_path / "truth" / "leads.csv") as handle:
        person_of = {row["lead_id"]: row["person_key"] for row in csv.DictReader(handle)}
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    conn.row_factory = sqlite3.Row
    by_person: dict[str, list] = {}
    for row in conn.execute('select * from "Lead" order by "Id"'):
        by_person.setdefault(person_of[row["Id"]], []).append(row)
    listed = [(rows[0], b) for rows in by_person.values() for b in rows[1:] if b["Company"] == "[not provided]"]
    assert len(listed) > 20
    assert all(b["Email"] is None and b["Phone"] is None for _, b in listed)
    fields = ("FirstName", "LastName", "Street", "City", "PostalCode")
    differing = [tuple(f for f in fields if a[f] != b[f]) for a, b in listed]
    assert {("FirstName",), ("LastName",), ("Street",), ("City",), ("PostalCode",), ("FirstName", "LastName")} <= set(
        differing
    )
    assert any(a["FirstName"] and b["FirstName"] is None for a, b in listed)  # a missing given name


def test_people_abroad_have_their_own_postcode_address_and_phone_formats(tmp_path):
    import re

    generate_world(tmp_path, leads=3000, seed=4)
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    rows = conn.execute('select "Country", "PostalCode", "Street", "Phone" from "Lead"').fetchall()
    formats = {
        "US": r"^\d{5}$",
        "GB": r"^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$",
        "DE": r"^\d{5}$",
        "CA": r"^[A-Z]\d[A-Z] \d[A-Z]\d$",
        "AU": r"^\d{4}$",
    }
    first_leads = rows[: len(rows) * 9 // 10]  # later leads may carry a typo
    for country, pattern in formats.items():
        codes = [code for cc, code, _, _ in first_leads if cc == country]
        assert codes and all(re.match(pattern, code) for code in codes), (country, codes[:5])
    assert any(
        street.startswith(tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) and "straße" in street
        for cc, _, street, _ in rows
        if cc == "DE"
    )
    assert any(phone and phone.startswith(("+61", "(08)")) for cc, _, _, phone in rows if cc == "AU")


def test_hubspot_companies_and_deals_are_associated_like_the_salesforce_records(tmp_path):
    import json

    summary = generate_world(tmp_path, leads=1500, seed=8)
    conn = sqlite3.connect(tmp_path / "hubspot.sqlite")
    kinds = dict(conn.execute("select object_type, count(*) from objects group by 1").fetchall())
    assert kinds == {
        "contacts": summary["hubspot_contacts"],
        "companies": summary["hubspot_companies"],
        "deals": summary["hubspot_deals"],
    }
    assert summary["hubspot_deals"] > 0
    pairs = conn.execute("select from_type, from_id, to_type, to_id from associations").fetchall()
    contact_company = {f: t for ft, f, tt, t in pairs if (ft, tt) == ("contacts", "companies")}
    assert len(contact_company) == summary["hubspot_contacts"]  # every contact has its employer
    deals = {
        did: json.loads(props)
        for did, props in conn.execute("select id, properties from objects where object_type = 'deals'")
    }
    with open(tmp_path / "truth" / "hubspot_deals.csv") as handle:
        deal_truth = {row["deal_id"]: row for row in csv.DictReader(handle)}
    assert set(deal_truth) == set(deals)
    sf = sqlite3.connect(tmp_path / "salesforce.sqlite")
    amounts = dict(sf.execute('select "Id", "Amount" from "Opportunity"').fetchall())
    assert all(float(deals[d]["amount"]) == amounts[t["opportunity_id"]] for d, t in deal_truth.items())
    deal_contact = {f: t for ft, f, tt, t in pairs if (ft, tt) == ("deals", "contacts")}
    with open(tmp_path / "truth" / "hubspot_contacts.csv") as handle:
        contact_person = {row["contact_id"]: row["person_key"] for row in csv.DictReader(handle)}
    assert all(contact_person[deal_contact[d]] == t["person_key"] for d, t in deal_truth.items())


def test_hubspot_contacts_are_the_same_people_with_noise_and_have_truth(tmp_path):
    import json

    summary = generate_world(tmp_path, leads=400, seed=9)
    conn = sqlite3.connect(tmp_path / "hubspot.sqlite")
    contacts = {
        cid: json.loads(props)
        for cid, props in conn.execute("select id, properties from objects where object_type = 'contacts'")
    }
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


def test_companies_carry_their_industry_in_text_or_not_and_the_truth_says_which(tmp_path):
    """Names, domains and titles carry the industry as real ones do (or do not), with the kind
    of signal in the truth; a department added to a title never adds a word the fit rules read."""
    import re

    from sandbox.industry_signal import DEPARTMENTS, NAME_WORDS, SIGNAL_KINDS

    summary = generate_world(tmp_path, leads=1000, seed=4)
    with open(tmp_path / "truth" / "companies.csv") as handle:
        companies = list(csv.DictReader(handle))
    assert len(companies) == summary["companies"]
    kinds = {kind: [c for c in companies if c["industry_signal"] == kind] for kind in SIGNAL_KINDS}
    assert all(kinds[k] for k in ("none", "name", "domain", "title"))
    words = {w.lower() for industry_words in NAME_WORDS.values() for w in industry_words}
    for company in kinds["name"]:
        own = {w.lower() for w in NAME_WORDS[company["industry"]]}
        assert own & set(company["name"].lower().split()), company
        assert any(w in company["domain"] for w in own), company
    for company in kinds["none"] + kinds["title"]:
        assert not words & set(company["name"].lower().split()), company
    conn = sqlite3.connect(tmp_path / "salesforce.sqlite")
    titles = [t for (t,) in conn.execute('select "Title" from "Lead" where "Title" like \'%, %\'')]
    assert len(titles) > 100
    with open(Path(__file__).parents[2] / "dbt_project" / "seeds" / "fit_rules.csv") as handle:
        patterns = [r["match_value"] for r in csv.DictReader(handle) if r["attribute"] == "title"]
    for department in (d for ds in DEPARTMENTS.values() for d in ds):
        assert not any(re.search(p, department.lower()) for p in patterns), department
