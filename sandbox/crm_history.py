"""What a sales team did with the leads: conversions, accounts, contacts, opportunities won and
lost, logged calls and emails, campaigns and their members.

Outcomes follow each person's latent propensity (the number the ground truth records), so a
predictive model trained on bronze can be measured against it: a likelier person converts more
often, and a converted person's opportunity is more often won. Deterministic for the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from sandbox.salesforce.schema import (
    ACCOUNT,
    CAMPAIGN,
    CAMPAIGN_MEMBER,
    CONTACT,
    OPPORTUNITY,
    TASK,
)
from sandbox.salesforce.store import make_id, stored_datetime

OPPORTUNITY_SHARE = 0.8  # of conversions
TASKS_PER_UNCONVERTED_LEAD = 0.15
CAMPAIGN_MEMBER_SHARE = 0.25
OPEN_STAGES = ("Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review")
STAGE_PROBABILITY = {
    "Prospecting": 10.0,
    "Qualification": 20.0,
    "Proposal/Price Quote": 60.0,
    "Negotiation/Review": 80.0,
    "Closed Won": 100.0,
    "Closed Lost": 0.0,
}
CAMPAIGNS = (
    ("Webinar: Scoring that sales trusts", "Webinar"),
    ("Webinar: Reverse ETL in practice", "Webinar"),
    ("Newsletter 2026-Q3", "Email"),
    ("Newsletter 2026-Q4", "Email"),
    ("Refinance mailer A", "Direct Mail"),
    ("Refinance mailer B", "Direct Mail"),
    ("RevOps Summit 2026", "Conference"),
    ("Data Council 2026", "Conference"),
    ("Search ads: lead scoring", "Advertisement"),
    ("Social ads: pipeline", "Advertisement"),
    ("Customer stories", "Email"),
    ("Product launch", "Webinar"),
)
TASK_SUBJECTS = {
    "Call": ("Call", "Discovery call", "Follow-up call", "Left voicemail"),
    "Email": ("Email: intro", "Email: pricing", "Email: case study", "Email: follow-up"),
    "Task": ("Send proposal", "Prepare demo", "Check in after trial", "Update account plan"),
}


@dataclass
class History:
    accounts: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    campaign_members: list[dict[str, Any]] = field(default_factory=list)
    contact_truth: list[tuple[str, str, str]] = field(default_factory=list)
    outcome_truth: list[tuple] = field(default_factory=list)

    def by_object(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        return [
            (ACCOUNT, self.accounts),
            (CONTACT, self.contacts),
            (OPPORTUNITY, self.opportunities),
            (CAMPAIGN, self.campaigns),
            (CAMPAIGN_MEMBER, self.campaign_members),
            (TASK, self.tasks),
        ]


def _stamp(value: datetime) -> str:
    return stored_datetime(value)


def build_history(
    seed: int,
    leads: list[dict[str, Any]],
    person_of_lead: list[int],
    propensity: list[float],
    company_of: list[int],
    companies: dict[str, list],
    user_ids: list[str],
    now: datetime,
) -> History:
    """Converts some leads in place (Status, IsConverted, Converted*Id) and returns the records
    their conversion and the team's activity left in the org."""
    rng = np.random.default_rng([seed, 2])
    history = History()
    today = now.date()
    first_lead: dict[int, int] = {}
    for i, person in enumerate(person_of_lead):
        first_lead.setdefault(person, i)

    persons = sorted(first_lead)
    u_convert = rng.random(len(persons))
    u_opp = rng.random(len(persons))
    u_won = rng.random(len(persons))
    u_open = rng.random(len(persons))
    u_days = rng.integers(7, 120, len(persons)).tolist()
    u_amount = rng.lognormal(9.5, 0.8, len(persons)).tolist()
    u_stage = rng.integers(0, len(OPEN_STAGES), len(persons)).tolist()
    account_of_company: dict[int, str] = {}

    for n, person in enumerate(persons):
        if u_convert[n] >= propensity[person]:  # propensity is P(convert): sandbox/intent.py
            continue
        i = first_lead[person]
        lead = leads[i]
        created = datetime.fromisoformat(lead["CreatedDate"].replace("Z", "+00:00"))
        # Converted some days after creation; recent leads within the time left (not clipped to
        # one instant, which would give thousands of records the same modstamp).
        room = now - timedelta(hours=1) - created
        converted_on = created + min(timedelta(days=u_days[n]), room * u_open[n])
        converted_stamp = _stamp(converted_on)
        c = company_of[person]
        account_id = account_of_company.get(c)
        if account_id is None:
            account_id = make_id(ACCOUNT.key_prefix, len(history.accounts) + 1)
            account_of_company[c] = account_id
            history.accounts.append(_account(account_id, c, companies, lead, converted_stamp))
        contact_id = make_id(CONTACT.key_prefix, len(history.contacts) + 1)
        history.contacts.append(_contact(contact_id, account_id, lead, converted_stamp))
        history.contact_truth.append((contact_id, f"P{person:08d}", f"{propensity[person]:.4f}"))

        opportunity_id, stage, won = None, None, None
        if u_opp[n] < OPPORTUNITY_SHARE:
            opportunity_id = make_id(OPPORTUNITY.key_prefix, len(history.opportunities) + 1)
            close_on = converted_on.date() + timedelta(days=30 + u_days[n])
            if close_on <= today and u_open[n] < 0.85:
                won = bool(u_won[n] < 0.15 + 0.7 * propensity[person])
                stage = "Closed Won" if won else "Closed Lost"
            else:
                stage = OPEN_STAGES[u_stage[n]]
                close_on = max(close_on, today + timedelta(days=7))
            history.opportunities.append(
                {
                    "Id": opportunity_id,
                    "IsDeleted": 0,
                    "CreatedDate": converted_stamp,
                    "LastModifiedDate": converted_stamp,
                    "SystemModstamp": converted_stamp,
                    "Name": f"{lead['Company']} - {lead['LastName']}",
                    "AccountId": account_id,
                    "ContactId": contact_id,
                    "StageName": stage,
                    "Amount": float(round(u_amount[n], -2)),
                    "Probability": STAGE_PROBABILITY[stage],
                    "CloseDate": close_on.isoformat(),
                    "IsClosed": int(stage.startswith("Closed")),
                    "IsWon": int(stage == "Closed Won"),
                    "LeadSource": lead["LeadSource"],
                    "OwnerId": lead["OwnerId"],
                }
            )
        lead.update(
            LastModifiedDate=max(lead["LastModifiedDate"], converted_stamp),
            SystemModstamp=max(lead["SystemModstamp"], converted_stamp),
            Status="Closed - Converted",
            IsConverted=1,
            ConvertedDate=converted_on.date().isoformat(),
            ConvertedAccountId=account_id,
            ConvertedContactId=contact_id,
            ConvertedOpportunityId=opportunity_id,
        )
        history.outcome_truth.append(
            (
                f"P{person:08d}",
                lead["Id"],
                converted_on.date().isoformat(),
                contact_id,
                opportunity_id or "",
                stage or "",
                "" if won is None else int(won),
            )
        )
    # A lead recorded as converted by the old status draw but with no conversion behind it was
    # never converted: real orgs cannot hold that state.
    for lead in leads:
        if lead["Status"] == "Closed - Converted" and not lead.get("ConvertedContactId"):
            lead["Status"] = "Working - Contacted"
            lead["IsConverted"] = 0

    history.campaigns = _campaigns(user_ids, now)
    _campaign_members(rng, history, leads, person_of_lead, propensity, today)
    _tasks(rng, history, leads, today)
    return history


def _account(account_id: str, c: int, companies: dict[str, list], lead: dict[str, Any], stamp: str) -> dict:
    return {
        "Id": account_id,
        "IsDeleted": 0,
        "CreatedDate": stamp,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
        "Name": companies["name"][c],
        "Website": f"https://www.{companies['domain'][c]}",
        "Phone": None,
        "Industry": companies["industry"][c],
        "Type": "Prospect",
        "NumberOfEmployees": int(companies["employees"][c]),
        "AnnualRevenue": float(companies["revenue"][c]),
        "BillingStreet": None,
        "BillingCity": None,
        "BillingState": lead["State"],
        "BillingPostalCode": None,
        "BillingCountry": companies["country"][c],
        "OwnerId": lead["OwnerId"],
    }


def _contact(contact_id: str, account_id: str, lead: dict[str, Any], stamp: str) -> dict:
    return {
        "Id": contact_id,
        "IsDeleted": 0,
        "CreatedDate": stamp,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
        "AccountId": account_id,
        "FirstName": lead["FirstName"],
        "LastName": lead["LastName"],
        "Email": (lead["Email"] or "").strip().lower() or None,
        "Phone": lead["Phone"],
        "MobilePhone": None,
        "Title": lead["Title"],
        "LeadSource": lead["LeadSource"],
        "MailingStreet": lead.get("Street"),
        "MailingCity": lead.get("City"),
        "MailingState": lead["State"],
        "MailingPostalCode": lead["PostalCode"],
        "MailingCountry": lead["Country"],
        "OwnerId": lead["OwnerId"],
        "HasOptedOutOfEmail": lead["HasOptedOutOfEmail"],
        "DoNotCall": lead["DoNotCall"],
        # The conversion copies the lead's bounce along with the address it is about.
        "EmailBouncedReason": lead.get("EmailBouncedReason"),
        "EmailBouncedDate": lead.get("EmailBouncedDate"),
        "Lead_Score__c": None,
        "Lead_Grade__c": None,
        "Lead_Score_Reasons__c": None,
        "Leadloop_Key__c": None,
    }


def _campaigns(user_ids: list[str], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for n, (name, kind) in enumerate(CAMPAIGNS):
        start = now.date() - timedelta(days=600 - 45 * n)
        end = start + timedelta(days=30)
        stamp = _stamp(datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo) - timedelta(days=14))
        rows.append(
            {
                "Id": make_id(CAMPAIGN.key_prefix, n + 1),
                "IsDeleted": 0,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "Name": name,
                "Type": kind,
                "Status": "Completed" if end < now.date() else "In Progress",
                "StartDate": start.isoformat(),
                "EndDate": end.isoformat(),
                "IsActive": int(end >= now.date()),
                "OwnerId": user_ids[n % len(user_ids)],
            }
        )
    return rows


def _campaign_members(
    rng: np.random.Generator,
    history: History,
    leads: list[dict[str, Any]],
    person_of_lead: list[int],
    propensity: list[float],
    today: date,
) -> None:
    """A quarter of leads were touched by one campaign; likelier people respond more often."""
    picked = np.flatnonzero(rng.random(len(leads)) < CAMPAIGN_MEMBER_SHARE).tolist()
    which = rng.integers(0, len(history.campaigns), len(picked)).tolist()
    u_respond = rng.random(len(picked)).tolist()
    for n, (i, c) in enumerate(zip(picked, which, strict=True)):
        lead, campaign = leads[i], history.campaigns[c]
        responded = u_respond[n] < 0.1 + propensity[person_of_lead[i]]
        start = date.fromisoformat(campaign["StartDate"])
        added = datetime.combine(start, datetime.min.time()) + timedelta(seconds=int(u_respond[n] * 30 * 86400))
        stamp = max(lead["CreatedDate"], stored_datetime(added))
        history.campaign_members.append(
            {
                "Id": make_id(CAMPAIGN_MEMBER.key_prefix, n + 1),
                "IsDeleted": 0,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "CampaignId": campaign["Id"],
                "LeadId": lead["Id"],
                "ContactId": lead.get("ConvertedContactId"),
                "Status": "Responded" if responded else "Sent",
                "HasResponded": int(responded),
                "FirstRespondedDate": min(start + timedelta(days=3), today).isoformat() if responded else None,
            }
        )


def _tasks(rng: np.random.Generator, history: History, leads: list[dict[str, Any]], today: date) -> None:
    """Logged calls and emails: every converted lead's contact has a few, other leads some."""
    subtypes = tuple(TASK_SUBJECTS)
    u_task = (rng.random(len(leads)) < TASKS_PER_UNCONVERTED_LEAD).tolist()
    u_subtype = rng.integers(0, len(subtypes), (len(leads), 2)).tolist()
    u_subject = rng.integers(0, 4, (len(leads), 2)).tolist()
    for i, lead in enumerate(leads):
        contact_id = lead.get("ConvertedContactId")
        count = 2 if contact_id else int(u_task[i])
        for k in range(count):
            subtype = subtypes[u_subtype[i][k]]
            subjects = TASK_SUBJECTS[subtype]
            stamp = lead["LastModifiedDate"]
            done = stamp[:10] < today.isoformat() or k == 0
            history.tasks.append(
                {
                    "Id": make_id(TASK.key_prefix, len(history.tasks) + 1),
                    "IsDeleted": 0,
                    "CreatedDate": stamp,
                    "LastModifiedDate": stamp,
                    "SystemModstamp": stamp,
                    "WhoId": contact_id or lead["Id"],
                    "WhatId": lead.get("ConvertedOpportunityId") if contact_id else None,
                    "Subject": subjects[u_subject[i][k]],
                    "Status": "Completed" if done else "Not Started",
                    "Priority": "Normal",
                    "ActivityDate": stamp[:10],
                    "Description": None,
                    "TaskSubtype": subtype,
                    "OwnerId": lead["OwnerId"],
                    "Leadloop_Task_Key__c": None,
                }
            )


def close_due_opportunities(store: Any, rng: np.random.Generator, today: date, propensity: dict[str, float]) -> dict:
    """A simulated day's sales outcomes: open opportunities whose close date has come are won or
    lost (likelier people win more often), through the store so each gets a fresh modstamp.

    `propensity` maps a contact id to its person's propensity. Returns opportunity id → stage.
    """
    due = store.select(
        'select "Id", "ContactId" from "Opportunity" where "IsClosed" = 0 and "IsDeleted" = 0'
        ' and "CloseDate" <= ? order by "Id"',
        [today.isoformat()],
    )
    closed = {}
    for row in due:
        won = bool(rng.random() < 0.15 + 0.7 * propensity.get(row["ContactId"], 0.0))
        stage = "Closed Won" if won else "Closed Lost"
        stamp = store.now()
        store.update(
            OPPORTUNITY,
            row["Id"],
            {
                "StageName": stage,
                "IsClosed": 1,
                "IsWon": int(won),
                "Probability": STAGE_PROBABILITY[stage],
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            },
        )
        closed[row["Id"]] = stage
    return closed
