"""The world generator: a deterministic population of companies and people, seeded into the
Salesforce sandbox, with the ground truth written beside it.

Nothing in the pipeline may read `truth/`; tests and benchmarks use it to measure identity
resolution and scoring against what really happened. No wall clock is read: the same seed
gives byte-identical state.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.salesforce.schema import INDUSTRIES, LEAD, LEAD_SOURCES, LEAD_STATUSES, RATINGS, USER
from sandbox.salesforce.store import Store, make_id, stored_datetime

WORLD_NOW = datetime(2026, 11, 1, tzinfo=UTC)

FIRST_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Priya",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Carlos",
    "Sofia",
    "Mateo",
    "Lucia",
    "Ahmed",
    "Fatima",
    "Olga",
    "Ivan",
    "Lars",
    "Ingrid",
    "Pierre",
    "Camille",
    "Hans",
    "Greta",
    "Aisha",
    "Kwame",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Nguyen",
    "Patel",
    "Kim",
    "Chen",
    "Muller",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Tanaka",
    "Sato",
    "Okafor",
    "Novak",
]
COMPANY_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Dynamic",
    "Pied",
    "Piper",
    "Aperture",
    "Black",
    "Mesa",
    "Oscorp",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Virtucon",
    "Blue",
    "Sun",
    "Zorg",
    "Nimbus",
    "Vertex",
    "Summit",
    "Harbor",
    "Cobalt",
    "Ember",
    "Quantum",
    "Atlas",
    "Beacon",
    "Cascade",
    "Meridian",
]
COMPANY_SUFFIXES = ("Inc", "LLC", "Group", "Corp", "Labs", "Systems", "Partners", "Holdings")
TITLES = (
    ("Chief Executive Officer", 0.02),
    ("CTO", 0.02),
    ("Chief Financial Officer", 0.01),
    ("VP Sales", 0.04),
    ("VP of Engineering", 0.04),
    ("Vice President, Marketing", 0.03),
    ("Director of IT", 0.06),
    ("Director, Operations", 0.05),
    ("Head of Data", 0.04),
    ("Marketing Manager", 0.09),
    ("IT Manager", 0.08),
    ("Product Manager", 0.07),
    ("Software Engineer", 0.12),
    ("Data Analyst", 0.10),
    ("Sales Representative", 0.08),
    ("Consultant", 0.08),
    ("Intern", 0.07),
)
COUNTRIES = (("US", 0.7), ("GB", 0.1), ("DE", 0.07), ("CA", 0.08), ("FR", 0.05))
US_STATES = ("CA", "NY", "TX", "WA", "MA", "IL", "FL", "CO", "GA", "NC")


def _choice(rng: np.random.Generator, options: tuple, n: int, weights: tuple | None = None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, dtype=float) / float(np.sum(weights))
    return rng.choice(np.asarray(options, dtype=object), size=n, p=p)


def generate_world(out_dir: Path, leads: int, seed: int) -> dict[str, Any]:
    """Writes `salesforce.sqlite` (the sandbox's state) and `truth/leads.csv`; replaces any world there."""
    out_dir = Path(out_dir)
    for stale in (
        "salesforce.sqlite",
        "salesforce.sqlite-wal",
        "salesforce.sqlite-shm",
        "hubspot.sqlite",
        "hubspot.sqlite-wal",
        "hubspot.sqlite-shm",
    ):
        (out_dir / stale).unlink(missing_ok=True)
    for stale_dir in ("truth", "partners", "landing"):
        shutil.rmtree(out_dir / stale_dir, ignore_errors=True)
    (out_dir / "product.sqlite").unlink(missing_ok=True)
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    users = _users()
    people = max(1, int(round(leads / 1.05)))
    companies = max(1, people // 4)

    # Companies: size is heavy-tailed, revenue follows size with noise.
    company_names = [
        f"{COMPANY_WORDS[a]} {COMPANY_WORDS[b]} {COMPANY_SUFFIXES[c]}"
        for a, b, c in zip(
            rng.integers(0, len(COMPANY_WORDS), companies),
            rng.integers(0, len(COMPANY_WORDS), companies),
            rng.integers(0, len(COMPANY_SUFFIXES), companies),
            strict=True,
        )
    ]
    employees = np.clip(np.round(rng.lognormal(4.5, 1.8, companies)), 1, 50_000).astype(int)
    revenue = np.round(employees * rng.lognormal(11.8, 0.6, companies), -3)
    industry = _choice(rng, INDUSTRIES, companies, (20, 15, 12, 14, 12, 9, 8, 10))
    country = _choice(rng, tuple(c for c, _ in COUNTRIES), companies, tuple(w for _, w in COUNTRIES))

    # People, each working at one company.
    company_of = rng.integers(0, companies, people)
    first = _choice(rng, tuple(FIRST_NAMES), people)
    last = _choice(rng, tuple(LAST_NAMES), people)
    title = _choice(rng, tuple(t for t, _ in TITLES), people, tuple(w for _, w in TITLES))
    source = _choice(rng, LEAD_SOURCES, people, (30, 10, 12, 20, 13, 15))
    has_phone = rng.random(people) < 0.75
    phone_digits = rng.integers(2_000_000_000, 9_999_999_999, people)
    seniority = np.array([_seniority(t) for t in title])
    fit = (
        0.35 * seniority
        + 0.25 * (np.log10(employees[company_of]) / np.log10(50_000))
        + 0.2 * np.isin(industry[company_of], ("Technology", "Financial Services", "Healthcare"))
        + 0.2 * np.isin(source, ("Web", "Partner Referral", "Webinar"))
    )
    propensity = np.clip(fit * 0.8 + rng.normal(0, 0.08, people), 0, 1)

    # Leads: every person once, some twice (a re-submitted form with a differently cased email).
    extra = leads - people
    person_of_lead = np.concatenate([np.arange(people), rng.integers(0, people, max(extra, 0))])[:leads]
    # Timestamps as numpy datetimes rendered once, in the store's `…sssZ` form.
    now64 = np.datetime64(WORLD_NOW.replace(tzinfo=None), "ms")
    created64 = now64 - rng.integers(3600, 730 * 86400, leads).astype("timedelta64[s]")
    modified64 = np.minimum(created64 + rng.integers(0, 30 * 86400, leads).astype("timedelta64[s]"), now64)
    created_text = np.char.add(np.datetime_as_string(created64, unit="ms"), "Z")
    modified_text = np.char.add(np.datetime_as_string(modified64, unit="ms"), "Z")
    status = _choice(rng, LEAD_STATUSES, leads, (45, 30, 10, 15))
    rating = _choice(rng, RATINGS + (None,), leads, (15, 30, 30, 25))
    owner = _choice(rng, tuple(u["Id"] for u in users), leads)
    opted_out = rng.random(leads) < 0.06
    do_not_call = rng.random(leads) < 0.04
    state_pick = rng.integers(0, len(US_STATES), leads)
    postal = rng.integers(10_000, 99_999, leads)
    industry_blank = rng.random(leads) < 0.08
    # Drawn from a side stream so adding it left every other seeded value where it was.
    title_blank = np.random.default_rng([seed, 1]).random(people) < 0.05

    # Plain lists: indexing numpy arrays one element at a time is what made this loop slow.
    (person_of_lead, company_of, first, last, title, source, has_phone, phone_digits, employees, revenue) = (
        a.tolist()
        for a in (person_of_lead, company_of, first, last, title, source, has_phone, phone_digits, employees, revenue)
    )
    (industry, country, created_text, modified_text, status, rating, owner, propensity) = (
        a.tolist() for a in (industry, country, created_text, modified_text, status, rating, owner, propensity)
    )
    (opted_out, do_not_call, state_pick, postal, industry_blank, title_blank) = (
        a.tolist() for a in (opted_out, do_not_call, state_pick, postal, industry_blank, title_blank)
    )
    rows, truth = [], []
    for i in range(leads):
        p = int(person_of_lead[i])
        c = int(company_of[p])
        duplicate = i >= people
        domain = company_names[c].split()[0].lower() + company_names[c].split()[1].lower() + ".com"
        email = f"{first[p].lower()}.{last[p].lower()}{p % 97}@{domain}"
        if duplicate:
            email = email.upper() if i % 2 else f"  {email}"
        lead_id = make_id(LEAD.key_prefix, i + 1)
        is_us = country[c] == "US"
        rows.append(
            {
                "Id": lead_id,
                "IsDeleted": 0,
                "CreatedDate": str(created_text[i]),
                "LastModifiedDate": str(modified_text[i]),
                "SystemModstamp": str(modified_text[i]),
                "FirstName": str(first[p]),
                "LastName": str(last[p]),
                "Company": company_names[c],
                "Email": email,
                "Phone": f"+1 ({str(phone_digits[p])[:3]}) {str(phone_digits[p])[3:6]}-{str(phone_digits[p])[6:]}"
                if has_phone[p]
                else None,
                "Title": None if title_blank[p] else str(title[p]),
                "Industry": None if industry_blank[i] else str(industry[c]),
                "LeadSource": str(source[p]),
                "Status": str(status[i]),
                "Rating": rating[i],
                "NumberOfEmployees": int(employees[c]),
                "AnnualRevenue": float(revenue[c]),
                "OwnerId": str(owner[i]),
                "IsConverted": int(status[i] == "Closed - Converted"),
                "Country": str(country[c]),
                "State": US_STATES[state_pick[i]] if is_us else None,
                "PostalCode": f"{postal[i]:05d}" if is_us else None,
                "HasOptedOutOfEmail": int(opted_out[i]),
                "DoNotCall": int(do_not_call[i]),
                "Lead_Score__c": None,
                "Lead_Grade__c": None,
                "Lead_Score_Reasons__c": None,
                "Leadloop_Key__c": None,
            }
        )
        truth.append((lead_id, f"P{p:08d}", f"{propensity[p]:.4f}"))

    contacts, contact_truth = _hubspot_contacts(rng, rows, person_of_lead, propensity)
    _write_hubspot(out_dir / "hubspot.sqlite", contacts, users)

    store = Store(out_dir / "salesforce.sqlite")
    try:
        store.insert_many(USER, users)
        store.insert_many(LEAD, rows)
    finally:
        store.close()
    with open(out_dir / "truth" / "leads.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead_id", "person_key", "propensity"])
        writer.writerows(truth)
    with open(out_dir / "truth" / "hubspot_contacts.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["contact_id", "person_key", "propensity"])
        writer.writerows(contact_truth)
    from sandbox.daily_sources import write_daily_sources

    write_daily_sources(out_dir, seed, WORLD_NOW.date(), first_day=WORLD_NOW.date())
    (out_dir / "world.json").write_text(
        json.dumps({"seed": seed, "leads": leads, "people": people, "contacts": len(contacts), "day": 0})
    )
    return {
        "leads": leads,
        "hubspot_contacts": len(contacts),
        "people": people,
        "companies": companies,
        "users": len(users),
        "seed": seed,
    }


def _hubspot_contacts(
    rng: np.random.Generator, leads: list[dict[str, Any]], person_of_lead: np.ndarray, propensity: np.ndarray
) -> tuple[list[tuple], list[tuple]]:
    """Six in ten people also exist in HubSpot, with the noise two systems accumulate: another
    case for the email, a phone typed without formatting, a missing last name, and for some the
    Salesforce lead id a sync once copied over."""
    first_lead_of: dict[int, dict[str, Any]] = {}
    for lead, person in zip(leads, person_of_lead, strict=True):
        first_lead_of.setdefault(int(person), lead)
    people = sorted(first_lead_of)
    chosen = [p for p, pick in zip(people, rng.random(len(people)), strict=True) if pick < 0.6]
    noise = rng.random((len(chosen), 4))
    contacts, truth = [], []
    for n, person in enumerate(chosen):
        lead = first_lead_of[person]
        contact_id = str(1000 + n)
        email = lead["Email"].strip().lower()
        properties = {
            "email": email.upper() if noise[n, 0] < 0.1 else email,
            "firstname": lead["FirstName"],
            "lastname": None if noise[n, 1] < 0.03 else lead["LastName"],
            "phone": "".join(ch for ch in lead["Phone"] if ch.isdigit())
            if lead["Phone"] and noise[n, 2] < 0.5
            else lead["Phone"],
            "company": lead["Company"],
            "jobtitle": lead["Title"],
            "lifecyclestage": "lead",
            "hs_lead_status": "NEW",
            "hs_email_optout": "true" if lead["HasOptedOutOfEmail"] else "false",
            "salesforceleadid": lead["Id"] if noise[n, 3] < 0.2 else None,
        }
        stamp = lead["LastModifiedDate"]
        contacts.append((contact_id, properties, lead["CreatedDate"], stamp))
        truth.append((contact_id, f"P{person:08d}", f"{propensity[person]:.4f}"))
    return contacts, truth


def _write_hubspot(path: Path, contacts: list[tuple], users: list[dict[str, Any]]) -> None:
    import json
    import sqlite3

    from sandbox.hubspot.server import create_schema

    conn = sqlite3.connect(str(path))
    create_schema(conn)
    conn.executemany(
        "insert into objects values ('contacts', ?, ?, ?, ?, 0)",
        [(cid, json.dumps(props), created, updated) for cid, props, created, updated in contacts],
    )
    conn.executemany(
        "insert into owners values (?, ?)",
        [
            (
                str(100 + i),
                json.dumps(
                    {
                        "id": str(100 + i),
                        "email": u["Email"],
                        "firstName": u["FirstName"],
                        "lastName": u["LastName"],
                        "type": "PERSON",
                        "userId": 5000 + i,
                        "createdAt": u["CreatedDate"],
                        "updatedAt": u["LastModifiedDate"],
                        "archived": False,
                        "teams": [],
                    }
                ),
            )
            for i, u in enumerate(users)
        ],
    )
    conn.commit()
    conn.close()


def _seniority(title: str) -> float:
    lowered = title.lower()
    if "chief" in lowered or lowered in {"cto", "ceo", "cfo"}:
        return 1.0
    if lowered.startswith("vp") or "vice president" in lowered:
        return 0.8
    if "director" in lowered or "head of" in lowered:
        return 0.6
    if "manager" in lowered:
        return 0.4
    return 0.1


def _users() -> list[dict[str, Any]]:
    users = []
    for i in range(8):
        stamp = stored_datetime(WORLD_NOW - timedelta(days=900 - i))
        first, last = FIRST_NAMES[(i * 7) % len(FIRST_NAMES)], LAST_NAMES[(i * 11) % len(LAST_NAMES)]
        users.append(
            {
                "Id": make_id(USER.key_prefix, i + 1),
                "IsDeleted": 0,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "FirstName": first,
                "LastName": last,
                "Email": f"{first.lower()}.{last.lower()}@leadloop-sandbox.example",
                "IsActive": 1,
            }
        )
    return users
