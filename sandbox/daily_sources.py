"""The day's non-CRM sources for a world: partner drops, web events and the product database.

People are read back from the world itself (Salesforce leads joined to the ground truth), so
`generate_world` and `advance_world` feed the same population.

Web events and the product database reach every person: whether someone visits follows whether
they are in market, whether they sign up their propensity (sandbox/intent.py), so a buyer
anywhere in the world can show intent, and the truth's propensity never carries intent that no
source could have shown. (They used to reach only the first 20,000 people by key, so in a
100k-lead world four people in five could show no engagement at all while their truth still
carried it.) Partners mail a sample: the first `MAIL_SAMPLE` people by key (a random sample, as
keys are drawn independently of everything else), US addresses only; `truth/intent.csv` says who
is in it (`in_mail_sample`).
"""

from __future__ import annotations

import csv
import os
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from sandbox.partners import write_partner_drops
from sandbox.product_db import write_product_db
from sandbox.product_db_postgres import mirror_to_postgres
from sandbox.web_events import write_web_events, write_web_history

# The same variable ingestion reads: the simulated product team writes where Leadloop will look.
PRODUCT_DB_ENV = "LEADLOOP_PRODUCT_DB_URL"

# Partners mail a sample: every partner draws a tenth of it a day, and a day's pieces must fit
# the barcode's serial (sandbox/partners.py), which a million mailable people would not.
MAIL_SAMPLE = 20_000


def first_leads(world_dir: Path) -> dict[str, dict[str, str]]:
    """Person key → the ground truth's row of the person's first lead (`lead_id`, `propensity`),
    with whether the person is in market (`in_market`, "1"/"0", from truth/intent.csv)."""
    first_lead: dict[str, dict[str, str]] = {}
    with open(world_dir / "truth" / "leads.csv") as handle:
        for row in csv.DictReader(handle):
            first_lead.setdefault(row["person_key"], row)
    intent_file = world_dir / "truth" / "intent.csv"
    if intent_file.is_file():
        with open(intent_file) as handle:
            for row in csv.DictReader(handle):
                if row["person_key"] in first_lead:
                    first_lead[row["person_key"]]["in_market"] = row["in_market"]
    return first_lead


def world_people(
    world_dir: Path, limit: int | None = None, first_lead: dict[str, dict[str, str]] | None = None
) -> list[dict[str, Any]]:
    """One dict per person (from the person's first lead), in person-key order, at most `limit`
    (None: everyone). `first_lead` is `first_leads(world_dir)` when the caller keeps it up to
    date itself (reading a 1M-lead truth file costs seconds, once a simulated day)."""
    first_lead = first_leads(world_dir) if first_lead is None else first_lead
    chosen = sorted(first_lead)[:limit]
    ids = [first_lead[key]["lead_id"] for key in chosen]
    conn = sqlite3.connect(world_dir / "salesforce.sqlite")
    conn.row_factory = sqlite3.Row
    leads: dict[str, sqlite3.Row] = {}
    for start in range(0, len(ids), 900):
        batch = ids[start : start + 900]
        marks = ", ".join("?" * len(batch))
        for row in conn.execute(f'select * from "Lead" where "Id" in ({marks})', batch):
            leads[row["Id"]] = row
    conn.close()
    people = []
    for key in chosen:
        lead = leads.get(first_lead[key]["lead_id"])
        if lead is None:
            continue
        people.append(
            {
                "person_key": key,
                "first_name": lead["FirstName"],
                "last_name": lead["LastName"],
                "email": (lead["Email"] or "").strip().lower(),
                "phone": lead["Phone"],
                "company": lead["Company"],
                "title": lead["Title"],
                "street": lead["Street"],
                "city": lead["City"],
                "state": lead["State"],
                "postal_code": lead["PostalCode"],
                "country": lead["Country"],
                "propensity": float(first_lead[key]["propensity"]),
                "in_market": _flag(first_lead[key].get("in_market")),
            }
        )
    return people


def _flag(value: str | None) -> bool | None:
    return None if value in (None, "") else value == "1"


def write_daily_sources(
    world_dir: Path, seed: int, day: date, first_day: date, first_lead: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    people = world_people(world_dir, first_lead=first_lead)
    mail_sample = people[:MAIL_SAMPLE]  # in person-key order
    written: dict[str, Any] = {"partners": write_partner_drops(mail_sample, world_dir, seed, day, since=first_day)}
    if day == first_day:
        # The weeks before the world's first day, as the product database has them: the
        # engagement rules look back that far. Oldest first, so the truth file grows by appends.
        written["web_history"] = write_web_history(people, world_dir, seed, first_day)
    written |= {
        "web_events": write_web_events(people, world_dir, seed, day),
        "product_db": write_product_db(people, world_dir, seed, day),
    }
    # The product database lives where the pipeline is told to read it.
    url = os.environ.get(PRODUCT_DB_ENV, "")
    if url.startswith(("postgresql", "postgres")):
        written["product_db_postgres"] = mirror_to_postgres(world_dir, url)
    return written
