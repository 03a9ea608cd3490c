"""Consent across every sync (issue 25), checked on what the CRMs hold after a loop: the
sandboxes' own state, read with the real client (Salesforce) and from the portal's state file
(HubSpot), against consent and erasure in the warehouse.

- No record of an erased person carries a Leadloop score: Salesforce Lead and Contact, HubSpot
  contact (the sync's clear took away what it had written before the erasure).
- No Leadloop task hangs on an erased person's record, nor on a person who had opted out of the
  task's channel when it was created.

Opted-out people keep their score on their records: a score is not a contact (issue 17 keeps
them scored and flagged `can_contact_<channel>`); consent governs what reaches them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC
from pathlib import Path
from typing import Any


def crm_consent_violations(warehouse: Any, sf: Any, world_dir: Path) -> list[tuple[str, str, str]]:
    """(object, record id, why) for everything the CRMs hold that consent or erasure forbids."""
    suppressed = {key for (key,) in warehouse.query("select record_key from silver.identity_suppressed_records")}
    found: list[tuple[str, str, str]] = []
    for sobject, source in (("Lead", "salesforce_lead"), ("Contact", "salesforce_contact")):
        soql = f"SELECT Id FROM {sobject} WHERE Lead_Score__c != null OR Lead_Grade__c != null"
        for record in sf.query_all(soql)["records"]:
            if f"{source}:{record['Id']}" in suppressed:
                found.append((sobject, record["Id"], "erased person scored"))
    portal = sqlite3.connect(f"file:{world_dir / 'hubspot.sqlite'}?mode=ro", uri=True)
    try:
        rows = portal.execute("select id, properties from objects where object_type = 'contacts'").fetchall()
    finally:
        portal.close()
    for record_id, properties in rows:
        values = json.loads(properties)
        held = any(values.get(name) not in (None, "") for name in ("leadloop_score", "leadloop_grade"))
        if held and f"hubspot_contact:{record_id}" in suppressed:
            found.append(("HubSpot contact", record_id, "erased person scored"))

    tasks = sf.query_all(
        "SELECT Id, WhoId, CreatedDate, Leadloop_Task_Key__c FROM Task WHERE Leadloop_Task_Key__c != null"
    )["records"]
    if tasks:
        actions = {
            key: (person, channel)
            for key, person, channel in warehouse.query("select action_key, person_id, channel from gold.lead_actions")
        }
        opted_out = {
            (person, channel): decided_at
            for person, channel, decided_at in warehouse.query(
                "select person_id, channel, decided_at from silver.int_person_consent where consent_state = 'opted_out'"
            )
        }
        for task in tasks:
            source = "salesforce_contact" if task["WhoId"].startswith("003") else "salesforce_lead"
            if f"{source}:{task['WhoId']}" in suppressed:
                found.append(("Task", task["Id"], "task for an erased person"))
            decided_at = opted_out.get(actions.get(task["Leadloop_Task_Key__c"], (None, None)))
            if decided_at is not None and utc_text(decided_at) <= task["CreatedDate"][:19]:
                found.append(("Task", task["Id"], "task on a channel the person had opted out of"))
    return found


def utc_text(value: Any) -> str:
    """A warehouse timestamp as `YYYY-MM-DDTHH:MM:SS` UTC, comparable with the API's stamps."""
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S")
