"""`leadloop generate --days N`: the world moves on, so incremental loads have something to find.

Each simulated day brings new leads (and, for most, a HubSpot contact), edits to existing leads
and contacts, a few deletions and opt-outs. Writes go through the sandboxes' own stores, so every
change gets a fresh `SystemModstamp` / `lastmodifieddate` exactly as an API write would, and the
ground truth grows with the new records. Deterministic for (seed, day).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sandbox import intent
from sandbox.crm_history import close_due_opportunities
from sandbox.daily_sources import MAIL_SAMPLE, first_leads, write_daily_sources
from sandbox.generator import FIRST_NAMES, LAST_NAMES, OUTCOME_HEADER, TITLES, WORLD_NOW
from sandbox.hubspot.server import iso_now
from sandbox.salesforce.schema import LEAD
from sandbox.salesforce.store import WORLD_USER_ID, Store, make_id
from sandbox.savepoint import savepoint

NEW_LEADS_PER_DAY = 0.005
CHANGED_PER_DAY = 0.01
DELETED_PER_DAY = 0.001
OPTED_OUT_PER_DAY = 0.002


def advance_world(world_dir: Path, days: int) -> dict[str, int]:
    world_dir = Path(world_dir)
    meta = json.loads((world_dir / "world.json").read_text())
    totals = {
        "new_leads": 0,
        "changed_leads": 0,
        "deleted_leads": 0,
        "opted_out": 0,
        "changed_contacts": 0,
        "closed_opportunities": 0,
    }
    store = Store(world_dir / "salesforce.sqlite")
    hubspot = sqlite3.connect(str(world_dir / "hubspot.sqlite"), isolation_level=None)
    # Read once and kept up to date: re-reading a 1M-lead truth every day took seconds a day.
    first_lead = first_leads(world_dir)
    with open(world_dir / "truth" / "contacts.csv") as handle:  # contacts are not added by a day
        contact_propensity = {row["contact_id"]: float(row["propensity"]) for row in csv.DictReader(handle)}
    try:
        for _ in range(days):
            meta["day"] += 1
            rng = np.random.default_rng([meta["seed"], meta["day"]])
            # A day's thousands of writes as one commit per store, not one each.
            with store.transaction(), savepoint(hubspot, "advance_day"):
                counts, lead_truth, intent_truth = _one_day(rng, meta, store, hubspot, world_dir, contact_propensity)
            for key, count in counts.items():
                totals[key] += count
            market = {row[0]: str(row[2]) for row in intent_truth}
            for lead_id, person_key, person_propensity in lead_truth:
                first_lead.setdefault(
                    person_key,
                    {
                        "lead_id": lead_id,
                        "person_key": person_key,
                        "propensity": person_propensity,
                        "in_market": market.get(person_key),
                    },
                )
            today = WORLD_NOW.date() + timedelta(days=meta["day"])
            write_daily_sources(world_dir, meta["seed"], today, first_day=WORLD_NOW.date(), first_lead=first_lead)
    finally:
        store.close()
        hubspot.close()
    (world_dir / "world.json").write_text(json.dumps(meta))
    return {**totals, "day": meta["day"]}


def _one_day(
    rng: np.random.Generator,
    meta: dict[str, Any],
    store: Store,
    hubspot: sqlite3.Connection,
    world_dir: Path,
    contact_propensity: dict[str, float],
) -> tuple[dict[str, int], list[tuple[str, str, str]], list[tuple[Any, ...]]]:
    """The day's changes, the ground truth of the day's new leads (lead id, person, propensity)
    and of their people's intent (truth/intent.csv's rows)."""
    live = [r["Id"] for r in store.select('select "Id" from "Lead" where "IsDeleted" = 0 order by "Id"', [])]
    n_live = len(live)
    picks = rng.permutation(n_live)
    n_changed = max(1, int(n_live * CHANGED_PER_DAY))
    n_deleted = int(n_live * DELETED_PER_DAY)
    n_opted = max(1, int(n_live * OPTED_OUT_PER_DAY))
    changed = [live[i] for i in picks[:n_changed]]
    deleted = [live[i] for i in picks[n_changed : n_changed + n_deleted]]
    opted = [live[i] for i in picks[n_changed + n_deleted : n_changed + n_deleted + n_opted]]

    titles = [t for t, _ in TITLES]
    for lead_id in changed:
        stamp = store.now()
        store.update(
            LEAD,
            lead_id,
            {
                "Title": titles[int(rng.integers(len(titles)))],
                "Status": "Working - Contacted",
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            },
        )
    for lead_id in deleted:
        stamp = store.now()
        store.update(LEAD, lead_id, {"IsDeleted": 1, "LastModifiedDate": stamp, "SystemModstamp": stamp})
    for lead_id in opted:
        stamp = store.now()
        store.update(LEAD, lead_id, {"HasOptedOutOfEmail": 1, "LastModifiedDate": stamp, "SystemModstamp": stamp})

    # New people: a template lead's company and attributes, a new name and email.
    n_new = max(1, int(n_live * NEW_LEADS_PER_DAY))
    total_leads = store.select('select count(*) from "Lead"', [])[0][0]
    new_rows, lead_truth, contact_rows, contact_truth, intent_truth = [], [], [], [], []
    for k in range(n_new):
        template = store.get(LEAD, live[int(rng.integers(n_live))]) if n_live else None
        # A lead from a name-and-address list has no email to take the company's domain from.
        for _ in range(20):
            if template is None or template["Email"]:
                break
            template = store.get(LEAD, live[int(rng.integers(n_live))])
        if template is None or not template["Email"]:
            break
        person = meta["people"]
        meta["people"] += 1
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
        domain = template["Email"].split("@")[-1].strip().lower()
        stamp = store.now()
        lead_id = make_id(LEAD.key_prefix, total_leads + k + 1)
        row = {
            **template,
            "Id": lead_id,
            "FirstName": first,
            "LastName": last,
            "Email": f"{first.lower()}.{last.lower()}{person % 97}@{domain}",
            "Status": "Open - Not Contacted",
            "IsDeleted": 0,
            "HasOptedOutOfEmail": 0,
            "EmailBouncedReason": None,
            "EmailBouncedDate": None,
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            "SystemModstamp": stamp,
            # Made by someone in the org, not copied from the template: the template may last
            # have been written by the integration user, whose changes incremental loads leave
            # out (no echo), and the new lead would never be loaded.
            "LastModifiedById": WORLD_USER_ID,
            "Lead_Score__c": None,
            "Lead_Grade__c": None,
            "Lead_Score_Reasons__c": None,
            "Leadloop_Key__c": None,
            "IsConverted": 0,
            "ConvertedDate": None,
            "ConvertedAccountId": None,
            "ConvertedContactId": None,
            "ConvertedOpportunityId": None,
        }
        new_rows.append(row)
        # A new person's intent as the generator draws it, at average fit (the template's is unknown).
        fit, u_market = np.array([intent.FIT_MEAN]), np.array([rng.random()])
        drawn = intent.propensity(fit, u_market, np.array([rng.normal()]))
        propensity = f"{float(drawn[0]):.4f}"
        lead_truth.append((lead_id, f"P{person:08d}", propensity))
        # Its parts, as the generator writes them for the first day's people (truth/intent.csv):
        # whether someone is in market decides how often they visit the website.
        mailed = int(person < MAIL_SAMPLE and (row["Country"] or "US") == "US")
        market = int(intent.in_market(fit, u_market)[0])
        intent_truth.append((f"P{person:08d}", f"{intent.FIT_MEAN:.6f}", market, propensity, mailed))
        if rng.random() < 0.6:
            contact_id = str(1000 + meta["contacts"])
            meta["contacts"] += 1
            now = iso_now()
            properties = {
                "email": row["Email"],
                "firstname": first,
                "lastname": last,
                "phone": row["Phone"],
                "company": row["Company"],
                "jobtitle": row["Title"],
                "lifecyclestage": "lead",
                "hs_lead_status": "NEW",
                "hs_email_optout": "false",
                "salesforceleadid": None,
            }
            contact_rows.append((contact_id, json.dumps(properties), now, now))
            contact_truth.append((contact_id, f"P{person:08d}", propensity))
    store.insert_many(LEAD, new_rows)
    hubspot.executemany("insert into objects values ('contacts', ?, ?, ?, ?, 0)", contact_rows)

    # Contact edits: a changed job title, as people get promoted.
    contact_ids = [r[0] for r in hubspot.execute("select id from objects where object_type = 'contacts' order by id")]
    n_contact_changes = max(1, int(len(contact_ids) * CHANGED_PER_DAY)) if contact_ids else 0
    for index in rng.permutation(len(contact_ids))[:n_contact_changes]:
        record_id = contact_ids[int(index)]
        (props,) = hubspot.execute(
            "select properties from objects where object_type = 'contacts' and id = ?", [record_id]
        ).fetchone()
        properties = {**json.loads(props), "jobtitle": titles[int(rng.integers(len(titles)))]}
        hubspot.execute(
            "update objects set properties = ?, updated_at = ? where object_type = 'contacts' and id = ?",
            [json.dumps(properties), iso_now(), record_id],
        )

    _append(world_dir / "truth" / "leads.csv", lead_truth)
    _append(world_dir / "truth" / "hubspot_contacts.csv", contact_truth)
    _append(world_dir / "truth" / "intent.csv", intent_truth)
    today = WORLD_NOW.date() + timedelta(days=meta["day"])
    closed = _close_opportunities(rng, store, world_dir, today, contact_propensity)
    counts = {
        "closed_opportunities": closed,
        "new_leads": len(new_rows),
        "changed_leads": len(changed),
        "deleted_leads": len(deleted),
        "opted_out": len(opted),
        "changed_contacts": n_contact_changes,
    }
    return counts, lead_truth, intent_truth


def _close_opportunities(
    rng: np.random.Generator, store: Store, world_dir: Path, today: date, propensity: dict[str, float]
) -> int:
    """Closes the day's due opportunities and records their outcome in the ground truth."""
    closed = close_due_opportunities(store, rng, today, propensity)
    if closed:
        path = world_dir / "truth" / "outcomes.csv"
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            stage = closed.get(row["opportunity_id"])
            if stage:
                row.update(stage=stage, won=str(int(stage == "Closed Won")))
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=OUTCOME_HEADER)
            writer.writeheader()
            writer.writerows(rows)
    return len(closed)


def _append(path: Path, rows: list[tuple]) -> None:
    with open(path, "a", newline="") as handle:
        csv.writer(handle).writerows(rows)
