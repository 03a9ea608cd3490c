"""The world generator: a deterministic population of companies and people, seeded into the
Salesforce sandbox, with the ground truth written beside it.

Nothing in the pipeline may read `truth/`; tests and benchmarks use it to measure identity
resolution and scoring against what really happened. No wall clock is read: the same seed
gives byte-identical state.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sandbox import intent
from sandbox.consent_history import consent_decisions, contacts_created
from sandbox.crm_history import build_history
from sandbox.email_bounces import TRUTH_HEADER as BOUNCE_HEADER
from sandbox.email_bounces import bounce_emails, carry_to_hubspot
from sandbox.industry_signal import company_text, person_titles
from sandbox.noise import (
    STREET_TYPES,
    abbreviate_street,
    bare_phone,
    email_alias,
    nickname,
    personal_email,
    typo,
)
from sandbox.partners import CITIES, STREET_NAMES
from sandbox.salesforce.schema import CONTACT, INDUSTRIES, LEAD, LEAD_SOURCES, LEAD_STATUSES, RATINGS, USER
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
PERSONAL_EMAIL_SHARE = 0.1
# How a person's second lead differs from the first: each is one thing real forms and imports do.
DUPLICATE_VARIANTS = (
    "cased email",
    "padded email",
    "email alias",
    "personal email",
    "typo in last name",
    "nickname",
    "swapped names",
    "abbreviated street",
)
# Noise real exports carry besides (drawn from their own stream, so the variants above stay put):
# each is one slip a person or an import makes in a name or an address.
ADDRESS_VARIANTS = (
    "typo in first name",
    "typo in last name",
    "typo in street",
    "typo in city",
    "typo in postcode",
    "house number changed",
    "missing first name",
    "swapped names",
    "nickname",
)
# Of a person's later leads, this share comes from a list with name and postal address only
# (no email, no phone, the company as Salesforce's web-to-lead fills a blank: "[not provided]"),
# and carries one of `ADDRESS_VARIANTS`.
NAME_AND_ADDRESS_ONLY_SHARE = 0.3
NOT_PROVIDED = "[not provided]"
# Of US companies, this share is Australian (drawn from a side stream: other countries stay put).
AUSTRALIAN_SHARE = 0.08
# Each country's cities with the letters/digits its postcodes start with.
CITIES_BY_COUNTRY = {
    "GB": (("London", "SW"), ("Manchester", "M"), ("Leeds", "LS"), ("Bristol", "BS"), ("Glasgow", "G")),
    "DE": (("Berlin", "10"), ("Hamburg", "20"), ("München", "80"), ("Köln", "50"), ("Frankfurt am Main", "60")),
    "CA": (("Toronto", "M"), ("Vancouver", "V"), ("Montréal", "H"), ("Calgary", "T"), ("Ottawa", "K")),
    "AU": (("Sydney", "2"), ("Melbourne", "3"), ("Brisbane", "4"), ("Adelaide", "5"), ("Perth", "6")),
    "FR": (("Paris", "75"), ("Lyon", "69"), ("Marseille", "13"), ("Toulouse", "31"), ("Nantes", "44")),
}
_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
# Per person of the first day: the generator's 0–1 fit, whether they are in market, the propensity,
# and whether direct-mail partners can reach them (sandbox/daily_sources.py: web events and the
# product database reach everyone, partners mail a sample of US addresses).
INTENT_HEADER = ["person_key", "fit", "in_market", "propensity", "in_mail_sample"]
OUTCOME_HEADER = [
    "person_key",
    "lead_id",
    "converted_on",
    "contact_id",
    "opportunity_id",
    "stage",
    "won",
]


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
    for stale_dir in ("truth", "partners", "landing", "reference"):
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
    # Latent intent (sandbox/intent.py); who is in market comes from a side stream, so adding it
    # left every other seeded value where it was.
    in_market_u = np.random.default_rng([seed, 19]).random(people)
    propensity = intent.propensity(fit, in_market_u, rng.normal(0, 1, people))

    # Leads: every person once, some twice (a re-submitted form with a differently cased email).
    extra = leads - people
    person_of_lead = np.concatenate([np.arange(people), rng.integers(0, people, max(extra, 0))])[:leads]
    # Timestamps as numpy datetimes rendered once, in the store's `…sssZ` form.
    now64 = np.datetime64(WORLD_NOW.replace(tzinfo=None), "ms")
    created64 = now64 - rng.integers(3600, 730 * 86400, leads).astype("timedelta64[s]")
    # Edited up to 30 days after creation, but never after "now": scaled into the time left
    # rather than clipped, so no pile of records shares the world's last millisecond.
    age_s = (now64 - created64).astype("timedelta64[s]").astype(np.int64)
    edit_s = rng.integers(0, 30 * 86400, leads)
    modified64 = created64 + np.where(edit_s < age_s, edit_s, edit_s % np.maximum(age_s, 1)).astype("timedelta64[s]")
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

    # Drawn from side streams so adding them left every other seeded value where it was.
    side = np.random.default_rng([seed, 3])
    street_no = side.integers(1, 9900, people).tolist()
    street_name = side.integers(0, len(STREET_NAMES), people).tolist()
    street_type = side.integers(0, len(STREET_TYPES), people).tolist()
    city_pick = side.integers(0, len(CITIES), people).tolist()
    personal_share = (side.random(people) < PERSONAL_EMAIL_SHARE).tolist()
    local_phone = (side.random(people) < 0.3).tolist()
    variant = side.integers(0, len(DUPLICATE_VARIANTS), leads).tolist()
    u_noise = side.random(leads).tolist()
    # International addresses and the noise of name-and-address lists, from streams of their own.
    place = np.random.default_rng([seed, 6])
    australian = (place.random(companies) < AUSTRALIAN_SHARE).tolist()
    place_pick = place.integers(0, 5, people).tolist()
    place_code = place.integers(0, 10**6, people).tolist()
    list_noise = np.random.default_rng([seed, 7])
    address_only = (list_noise.random(leads) < NAME_AND_ADDRESS_ONLY_SHARE).tolist()
    address_variant = list_noise.integers(0, len(ADDRESS_VARIANTS), leads).tolist()
    address_u = list_noise.random(leads).tolist()

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
    country = ["AU" if cc == "US" and au else cc for cc, au in zip(country, australian, strict=True)]
    # Names, domains and titles that carry (or do not carry) the company's industry, with the
    # kind of signal kept in the truth (sandbox/industry_signal.py).
    company_names, domains, industry_signal = company_text(seed, company_names, industry)
    title = person_titles(seed, title, company_of, industry, industry_signal)
    street_types = tuple(STREET_TYPES)
    rows, truth = [], []
    for i in range(leads):
        p = int(person_of_lead[i])
        c = int(company_of[p])
        duplicate = i >= people
        work_email = f"{first[p].lower()}.{last[p].lower()}{p % 97}@{domains[c]}"
        email = (
            personal_email(first[p], last[p], p, u_noise[p % leads])
            if personal_share[p] and not duplicate
            else work_email
        )
        first_name, last_name = str(first[p]), str(last[p])
        cc = country[c]
        phone = _phone(cc, phone_digits[p], local_phone[p]) if has_phone[p] else None
        if cc == "US":
            city, state = CITIES[city_pick[p]]
            street = f"{street_no[p]} {STREET_NAMES[street_name[p]]} {street_types[street_type[p]]}"
            postal_code = f"{postal[p % leads]:05d}"
        else:
            city, state, postal_code, street = _foreign_address(
                cc, place_pick[p], place_code[p], street_no[p] % 200 + 1, STREET_NAMES[street_name[p]]
            )
        company = company_names[c]
        if duplicate and address_only[i]:
            # A list with name and postal address only, and one slip in them.
            email, phone, company = None, None, NOT_PROVIDED
            first_name, last_name, street, city, postal_code = _slip(
                ADDRESS_VARIANTS[address_variant[i]], address_u[i], first_name, last_name, street, city, postal_code
            )
        elif duplicate:
            kind = DUPLICATE_VARIANTS[variant[i]]
            u = u_noise[i]
            if kind == "cased email":
                email = email.upper()
            elif kind == "padded email":
                email = f"  {email} "
            elif kind == "email alias":
                email = email_alias(email, u)
            elif kind == "personal email":
                email = personal_email(first_name, last_name, p, u)
                phone = bare_phone(phone) if phone else None
            elif kind == "typo in last name":
                last_name = typo(last_name, u)
            elif kind == "nickname":
                first_name = nickname(first_name)
            elif kind == "swapped names":
                first_name, last_name = last_name, first_name
            elif kind == "abbreviated street":
                street, phone = abbreviate_street(street), None
        lead_id = make_id(LEAD.key_prefix, i + 1)
        rows.append(
            {
                "Id": lead_id,
                "IsDeleted": 0,
                "CreatedDate": str(created_text[i]),
                "LastModifiedDate": str(modified_text[i]),
                "SystemModstamp": str(modified_text[i]),
                "FirstName": first_name,
                "LastName": last_name,
                "Company": company,
                "Email": email,
                "Phone": phone,
                "Title": None if title_blank[p] else str(title[p]),
                "Industry": None if industry_blank[i] else str(industry[c]),
                "LeadSource": str(source[p]),
                "Status": str(status[i]),
                "Rating": rating[i],
                "NumberOfEmployees": int(employees[c]),
                "AnnualRevenue": float(revenue[c]),
                "OwnerId": str(owner[i]),
                "IsConverted": 0,
                "Street": street,
                "City": city,
                "Country": str(cc),
                "State": state,
                "PostalCode": postal_code,
                "HasOptedOutOfEmail": int(opted_out[i]),
                "DoNotCall": int(do_not_call[i]),
                "EmailBouncedReason": None,  # sandbox/email_bounces.py bounces some
                "EmailBouncedDate": None,
                "ConvertedDate": None,
                "ConvertedAccountId": None,
                "ConvertedContactId": None,
                "ConvertedOpportunityId": None,
                "Lead_Score__c": None,
                "Lead_Grade__c": None,
                "Lead_Score_Reasons__c": None,
                "Leadloop_Key__c": None,
            }
        )
        truth.append((lead_id, f"P{p:08d}", f"{propensity[p]:.4f}"))

    company_table = {
        "name": company_names,
        "domain": domains,
        "industry": industry,
        "employees": employees,
        "revenue": revenue,
        "country": country,
    }
    hubspot_bounces, bounce_truth = bounce_emails(rows, person_of_lead, seed, WORLD_NOW)
    history = build_history(
        seed, rows, person_of_lead, propensity, company_of, company_table, [u["Id"] for u in users], WORLD_NOW
    )
    contacts, contact_truth = _hubspot_contacts(rng, rows, person_of_lead, propensity, seed)
    carry_to_hubspot(contacts, hubspot_bounces)
    hubspot_companies, hubspot_deals, associations, deal_truth = _hubspot_companies_and_deals(
        contacts, contact_truth, company_of, company_table, history
    )
    _write_hubspot(out_dir / "hubspot.sqlite", contacts + hubspot_companies + hubspot_deals, associations, users)

    store = Store(out_dir / "salesforce.sqlite")
    try:
        store.insert_many(USER, users)
        store.insert_many(LEAD, rows)
        for obj, records in history.by_object():
            store.insert_many(obj, records)
        store.add_history(LEAD, consent_decisions(rows, seed))
        store.add_history(CONTACT, contacts_created(history.contacts))
    finally:
        store.close()
    _write_truth(out_dir / "truth" / "leads.csv", ["lead_id", "person_key", "propensity"], truth)
    _write_truth(out_dir / "truth" / "hubspot_contacts.csv", ["contact_id", "person_key", "propensity"], contact_truth)
    _write_truth(out_dir / "truth" / "contacts.csv", ["contact_id", "person_key", "propensity"], history.contact_truth)
    _write_truth(out_dir / "truth" / "outcomes.csv", OUTCOME_HEADER, history.outcome_truth)
    # The propensity's parts (sandbox/intent.py) per person, so a bench can say how much of the
    # truth's AUC the fit features and the engagement can reach (bench/propensity_ceiling.py).
    # Whether partners mail a person: the first MAIL_SAMPLE people by key, US addresses only
    # (a person's first lead is lead p and carries the company's country).
    from sandbox.daily_sources import MAIL_SAMPLE

    market, fit_values = intent.in_market(fit, in_market_u).tolist(), fit.tolist()
    mailed = [int(p < MAIL_SAMPLE and country[company_of[p]] == "US") for p in range(people)]
    _write_truth(
        out_dir / "truth" / "intent.csv",
        INTENT_HEADER,
        [
            (f"P{p:08d}", f"{fit_values[p]:.6f}", int(market[p]), f"{propensity[p]:.4f}", mailed[p])
            for p in range(people)
        ],
    )
    _write_truth(out_dir / "truth" / "email_bounces.csv", BOUNCE_HEADER, bounce_truth)
    _write_truth(out_dir / "truth" / "hubspot_deals.csv", ["deal_id", "person_key", "opportunity_id"], deal_truth)
    _write_truth(
        out_dir / "truth" / "companies.csv",
        ["company_key", "name", "domain", "industry", "industry_signal"],
        [
            (f"C{c:08d}", name, domain, ind, kind)
            for c, (name, domain, ind, kind) in enumerate(
                zip(company_names, domains, industry, industry_signal, strict=True)
            )
        ],
    )
    write_firmographics(out_dir / "reference" / FIRMOGRAPHICS_FILE, company_table)
    from sandbox.daily_sources import write_daily_sources

    write_daily_sources(out_dir, seed, WORLD_NOW.date(), first_day=WORLD_NOW.date())
    (out_dir / "world.json").write_text(
        json.dumps({"seed": seed, "leads": leads, "people": people, "contacts": len(contacts), "day": 0})
    )
    return {
        "leads": leads,
        "hubspot_contacts": len(contacts),
        "hubspot_companies": len(hubspot_companies),
        "hubspot_deals": len(hubspot_deals),
        "people": people,
        "companies": companies,
        "accounts": len(history.accounts),
        "contacts": len(history.contacts),
        "opportunities": len(history.opportunities),
        "tasks": len(history.tasks),
        "campaign_members": len(history.campaign_members),
        "users": len(users),
        "seed": seed,
    }


FIRMOGRAPHICS_FILE = "firmographics.csv"
FIRMOGRAPHICS_COVERAGE = 0.9


def write_firmographics(path: Path, companies: dict[str, Any]) -> None:
    """The reference data an enrichment vendor would sell: firmographics by company domain.

    Like a real vendor's, it is incomplete: about one company in ten (chosen by a hash of the
    domain, so the same world always lacks the same ones) is not in it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["domain", "company_name", "industry", "employees", "annual_revenue", "country"])
        seen: set[str] = set()
        for name, domain, industry, employees, revenue, country in zip(
            companies["name"],
            companies["domain"],
            companies["industry"],
            companies["employees"],
            companies["revenue"],
            companies["country"],
            strict=True,
        ):
            digest = int(hashlib.sha256(domain.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            if domain in seen or digest >= FIRMOGRAPHICS_COVERAGE:
                continue
            seen.add(domain)
            writer.writerow([domain, name, industry, int(employees), int(revenue), country])


def _write_truth(path: Path, header: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _foreign_address(country: str, pick: int, code: int, number: int, name: str) -> tuple[str, None, str, str]:
    """City, state (none), postcode and street line in the country's own formats: "M1 4BT" and
    "14 Oak Road" in Britain, "10115" and "Eichenstraße 14" in Germany, "M5V 3L9" in Canada,
    a four-digit code in Australia."""
    city, prefix = CITIES_BY_COUNTRY[country][pick]
    letter = _LETTERS[code % len(_LETTERS)]
    letter2 = _LETTERS[(code // 20) % len(_LETTERS)]
    if country == "GB":
        postcode = f"{prefix}{1 + code % 20} {code // 400 % 10}{letter}{letter2}"
        street = f"{number} {name} {('Road', 'Street', 'Lane')[code % 3]}"
    elif country == "DE":
        postcode = f"{prefix}{code % 1000:03d}"
        street = f"{name}straße {number}"
    elif country == "CA":
        postcode = f"{prefix}{code % 10}{letter} {code // 10 % 10}{letter2}{code // 100 % 10}"
        street = f"{number} {name} Street"
    elif country == "AU":
        postcode = f"{prefix}{code % 1000:03d}"
        street = f"{number} {name} Street"
    else:
        postcode = f"{prefix}{code % 1000:03d}"
        street = f"{number} rue {name}"
    return city, None, postcode, street


def _slip(
    kind: str, u: float, first: str | None, last: str, street: str, city: str, postcode: str | None
) -> tuple[str | None, str, str, str, str | None]:
    """One of `ADDRESS_VARIANTS` applied to a name and an address."""
    if kind == "typo in first name" and first:
        first = typo(first, u)
    elif kind == "typo in last name":
        last = typo(last, u)
    elif kind == "typo in street":
        number, _, rest = street.partition(" ")
        street = f"{number} {typo(rest, u)}" if number.isdigit() else typo(street, u)
    elif kind == "typo in city":
        city = typo(city, u)
    elif kind == "typo in postcode" and postcode:
        postcode = typo(postcode, u)
    elif kind == "house number changed":
        digits = "".join(ch for ch in street if ch.isdigit())
        if digits:
            street = street.replace(digits, str(int(digits) + 1 + int(u * 9)), 1)
    elif kind == "missing first name":
        first = None
    elif kind == "swapped names" and first:
        first, last = last, first
    elif kind == "nickname" and first:
        first = nickname(first)
    return first, last, street, city, postcode


def _phone(country: str, digits: int, local: bool) -> str:
    """A plausible number in the country's own layout, international or as dialled at home."""
    area, exchange, line = 201 + digits % 789, 200 + (digits // 1000) % 800, digits % 10_000
    if country in {"US", "CA"}:
        return f"({area}) {exchange}-{line:04d}" if local else f"+1 ({area}) {exchange}-{line:04d}"
    if country == "GB":
        return f"020 7{exchange % 1000:03d} {line:04d}" if local else f"+44 20 7{exchange % 1000:03d} {line:04d}"
    if country == "DE":
        return f"030 {exchange}{line:04d}" if local else f"+49 30 {exchange}{line:04d}"
    if country == "AU":
        return f"(08) 8{exchange:03d} {line:04d}" if local else f"+61 8 8{exchange:03d} {line:04d}"
    return (
        f"01 {line // 100:02d} {line % 100:02d} {exchange % 100:02d} {area % 100:02d}"
        if local
        else (f"+33 1 {line // 100:02d} {line % 100:02d} {exchange % 100:02d} {area % 100:02d}")
    )


def _hubspot_contacts(
    rng: np.random.Generator,
    leads: list[dict[str, Any]],
    person_of_lead: list[int],
    propensity: list[float],
    seed: int,
) -> tuple[list[tuple], list[tuple]]:
    """Six in ten people also exist in HubSpot, with the noise two systems accumulate: another
    case for the email, a phone typed without formatting, a missing last name, a nickname, a
    typo, a personal address instead of the work one, and for some the Salesforce lead id a
    sync once copied over. Seven in ten carry a postal address, the country as a code or a name."""
    first_lead_of: dict[int, dict[str, Any]] = {}
    for lead, person in zip(leads, person_of_lead, strict=True):
        first_lead_of.setdefault(int(person), lead)
    people = sorted(first_lead_of)
    chosen = [p for p, pick in zip(people, rng.random(len(people)), strict=True) if pick < 0.6]
    noise = rng.random((len(chosen), 4))
    extra = np.random.default_rng([seed, 4]).random((len(chosen), 4)).tolist()
    # Side stream: adding the address left every other seeded value where it was.
    address_draw = np.random.default_rng([seed, 5]).random((len(chosen), 2)).tolist()
    contacts, truth = [], []
    for n, person in enumerate(chosen):
        lead = first_lead_of[person]
        contact_id = str(1000 + n)
        email = lead["Email"].strip().lower()
        first_name, last_name = lead["FirstName"], lead["LastName"]
        if extra[n][0] < 0.08:
            email = personal_email(first_name, last_name, person, extra[n][3])
        if extra[n][1] < 0.05:
            first_name = nickname(first_name)
        if extra[n][2] < 0.03:
            last_name = typo(last_name, extra[n][3])
        properties = {
            "email": email.upper() if noise[n, 0] < 0.1 else email,
            "firstname": first_name,
            "lastname": None if noise[n, 1] < 0.03 else last_name,
            "phone": bare_phone(lead["Phone"]) if lead["Phone"] and noise[n, 2] < 0.5 else lead["Phone"],
            "company": lead["Company"],
            "jobtitle": lead["Title"],
            "lifecyclestage": "customer" if lead["IsConverted"] else "lead",
            "hs_lead_status": "NEW",
            "hs_email_optout": "true" if lead["HasOptedOutOfEmail"] else "false",
            "salesforceleadid": lead["Id"] if noise[n, 3] < 0.2 else None,
        }
        if address_draw[n][0] < HUBSPOT_ADDRESS_SHARE:  # forms that asked for the postal address
            properties.update(
                {
                    "address": lead["Street"],
                    "city": lead["City"],
                    "state": lead["State"],
                    "zip": lead["PostalCode"],
                    # Portals hold the country as typed: the code, or its English name.
                    "country": COUNTRY_NAMES.get(lead["Country"], lead["Country"])
                    if address_draw[n][1] < 0.5
                    else lead["Country"],
                }
            )
        stamp = lead["LastModifiedDate"]
        contacts.append(("contacts", contact_id, properties, lead["CreatedDate"], stamp, person, lead))
        truth.append((contact_id, f"P{person:08d}", f"{propensity[person]:.4f}"))
    return contacts, truth


HUBSPOT_ADDRESS_SHARE = 0.7
COUNTRY_NAMES = {
    "US": "United States",
    "GB": "United Kingdom",
    "DE": "Germany",
    "CA": "Canada",
    "FR": "France",
    "AU": "Australia",
}
HUBSPOT_COMPANY_ID_BASE = 10_000_000
HUBSPOT_DEAL_ID_BASE = 20_000_000
HUBSPOT_DEAL_STAGES = {
    "Prospecting": "appointmentscheduled",
    "Qualification": "qualifiedtobuy",
    "Proposal/Price Quote": "presentationscheduled",
    "Negotiation/Review": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}
# HubSpot's default association type ids, one direction each; the sandbox answers both.
CONTACT_TO_COMPANY, DEAL_TO_CONTACT, DEAL_TO_COMPANY = 279, 3, 341


def _hubspot_companies_and_deals(
    contacts: list[tuple],
    contact_truth: list[tuple],
    company_of: list[int],
    companies: dict[str, list],
    history: Any,
) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple]]:
    """Companies for every HubSpot contact's employer, and a deal mirroring each Salesforce
    opportunity of a person HubSpot also knows, associated as HubSpot would."""
    opportunity_of_contact = {o["ContactId"]: o for o in history.opportunities}
    company_rows: dict[int, tuple] = {}
    deals, associations, deal_truth = [], [], []
    for (_, contact_id, _, created, _updated, person, lead), (_, person_key, _) in zip(
        contacts, contact_truth, strict=True
    ):
        c = company_of[person]
        company_id = str(HUBSPOT_COMPANY_ID_BASE + c)
        if c not in company_rows:
            company_rows[c] = (
                "companies",
                company_id,
                {
                    "name": companies["name"][c],
                    "domain": companies["domain"][c],
                    "industry": companies["industry"][c],
                    "numberofemployees": str(companies["employees"][c]),
                    "annualrevenue": str(companies["revenue"][c]),
                },
                created,
                created,
            )
        associations.append(("contacts", contact_id, "companies", company_id, CONTACT_TO_COMPANY))
        opportunity = opportunity_of_contact.get(lead.get("ConvertedContactId"))
        if opportunity is None:
            continue
        deal_id = str(HUBSPOT_DEAL_ID_BASE + len(deals))
        deals.append(
            (
                "deals",
                deal_id,
                {
                    "dealname": opportunity["Name"],
                    "amount": str(opportunity["Amount"]),
                    "dealstage": HUBSPOT_DEAL_STAGES[opportunity["StageName"]],
                    "pipeline": "default",
                    "closedate": f"{opportunity['CloseDate']}T00:00:00.000Z",
                },
                opportunity["CreatedDate"],
                opportunity["LastModifiedDate"],
            )
        )
        associations.append(("deals", deal_id, "contacts", contact_id, DEAL_TO_CONTACT))
        associations.append(("deals", deal_id, "companies", company_id, DEAL_TO_COMPANY))
        deal_truth.append((deal_id, person_key, opportunity["Id"]))
    contact_rows = [row[:5] for row in contacts]
    contacts[:] = contact_rows
    return [company_rows[c] for c in sorted(company_rows)], deals, associations, deal_truth


def _write_hubspot(path: Path, objects: list[tuple], associations: list[tuple], users: list[dict[str, Any]]) -> None:
    import sqlite3

    from sandbox.hubspot.associations import add_associations
    from sandbox.hubspot.server import create_schema

    conn = sqlite3.connect(str(path))
    create_schema(conn)
    conn.executemany(
        "insert into objects values (?, ?, ?, ?, ?, 0)",
        [(kind, oid, json.dumps(props), created, updated) for kind, oid, props, created, updated in objects],
    )
    add_associations(conn, associations)
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
