"""Emails that bounced: the world's undeliverable addresses, as the CRMs record them.

Real lists hold addresses with a slip in the domain (`acme.con`, `gmial.com`) and addresses
that once worked; mail to them bounces, and the CRMs say so: Salesforce's bounce management
fills `EmailBouncedReason` / `EmailBouncedDate` on the Lead (and the Contact it converts to),
HubSpot `hs_email_hard_bounce_reason_enum` on the contact. Most typo'd addresses bounce, a few
good ones do too (a full mailbox, a person who left). Drawn from a stream of its own, so every
other seeded value of the world stays where it was; the ground truth lists each bounce.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from sandbox.noise import typo
from sandbox.salesforce.store import stored_datetime

TYPO_DOMAIN_SHARE = 0.02  # of people with one lead: their address has a slip in the domain
TYPO_BOUNCE_RATE = 0.85
GOOD_BOUNCE_RATE = 0.03
# (Salesforce's reason text, HubSpot's category) per kind of bounce.
DOMAIN_NOT_FOUND = ("550 5.1.2 Host unknown: domain name not found", "DNS_FAILURE")
GOOD_ADDRESS_BOUNCES = (
    ("550 5.1.1 Recipient address rejected: user unknown", "UNKNOWN_USER"),
    ("552 5.2.2 Mailbox full", "MAILBOX_FULL"),
    ("550 5.7.1 Message rejected by the recipient's policy", "POLICY"),
)
TRUTH_HEADER = ["lead_id", "person_key", "typo_in_domain", "bounced_at", "reason", "hubspot_reason"]


def bounce_emails(
    leads: list[dict[str, Any]], person_of_lead: list[int], seed: int, now: datetime
) -> tuple[dict[str, str], list[tuple]]:
    """Puts slips into some domains and bounces on some leads, in place.

    Only a person with one lead gets a slip, so all their records (the HubSpot contact and the
    Contact copy the lead) carry the same address and identity's links are untouched. Returns
    lead id → HubSpot bounce category, and the truth rows.
    """
    draws = np.random.default_rng([seed, 17]).random((len(leads), 4)).tolist()
    leads_of = Counter(person_of_lead)
    hubspot_reason: dict[str, str] = {}
    truth: list[tuple] = []
    for lead, person, (u_typo, u_bounce, u_kind, u_when) in zip(leads, person_of_lead, draws, strict=True):
        email = lead["Email"]
        if not email:
            continue
        slipped = leads_of[person] == 1 and u_typo < TYPO_DOMAIN_SHARE
        if slipped:
            local, _, domain = email.partition("@")
            label, dot, rest = domain.partition(".")
            if len(label) >= 4:
                lead["Email"] = f"{local}@{typo(label, u_kind)}{dot}{rest}"
            else:  # too short to slip inside: the top-level domain is mistyped instead
                lead["Email"] = f"{local}@{label}{dot}{rest}n"
        if u_bounce >= (TYPO_BOUNCE_RATE if slipped else GOOD_BOUNCE_RATE):
            continue
        reason, category = (
            DOMAIN_NOT_FOUND if slipped else GOOD_ADDRESS_BOUNCES[int(u_kind * len(GOOD_ADDRESS_BOUNCES))]
        )
        created = datetime.fromisoformat(lead["CreatedDate"].replace("Z", "+00:00"))
        # Bounced some time after the lead arrived (a first email goes out soon after).
        bounced = created + (now - created) * u_when * 0.5
        bounced_at = stored_datetime(min(bounced, now - timedelta(seconds=1)))
        lead["EmailBouncedReason"], lead["EmailBouncedDate"] = reason, bounced_at
        hubspot_reason[lead["Id"]] = category
        truth.append((lead["Id"], f"P{person:08d}", int(slipped), bounced_at, reason, category))
    return hubspot_reason, truth


def carry_to_hubspot(contacts: list[tuple], hubspot_reason: dict[str, str]) -> None:
    """A HubSpot contact holding the bounced lead's own address bounced there too (a contact
    that gave another address did not)."""
    for contact in contacts:
        properties, lead = contact[2], contact[6]
        category = hubspot_reason.get(lead["Id"])
        if category and (properties.get("email") or "").strip().lower() == lead["Email"].strip().lower():
            properties["hs_email_hard_bounce_reason_enum"] = category
