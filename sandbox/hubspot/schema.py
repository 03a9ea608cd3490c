"""HubSpot object types and their default properties, as `GET /crm/v3/properties/{type}` lists them."""

from __future__ import annotations

from typing import Any

OBJECT_TYPES = ("contacts", "companies", "deals")

PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
FIELD_TYPES = {"text", "textarea", "number", "select", "radio", "checkbox", "booleancheckbox", "date"}

_LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
# HubSpot's categories of a hard bounce, as its contact property `hs_email_hard_bounce_reason_enum` holds them.
HARD_BOUNCE_REASONS = [
    "UNKNOWN_USER",
    "MAILBOX_FULL",
    "DNS_FAILURE",
    "POLICY",
    "SPAM",
    "CONTENT",
    "OTHER",
]
_LEAD_STATUS = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED"]


def _prop(
    name: str,
    type_: str = "string",
    field_type: str = "text",
    options: list[str] | None = None,
    group: str = "contactinformation",
    read_only: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.replace("_", " ").title(),
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False} for i, o in enumerate(options or [])],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": name in {"email", "domain"},
        "hidden": False,
        "formField": not read_only,
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": True, "readOnlyValue": read_only},
        "createdAt": "2020-01-01T00:00:00Z",
        "updatedAt": "2020-01-01T00:00:00Z",
        "archived": False,
        "hubspotDefined": True,
    }


# Contacts keep their modification stamp in `lastmodifieddate`; companies and deals in
# `hs_lastmodifieddate` (a real portal has no `lastmodifieddate` on them).
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
_DEAL_STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
]


def _common(object_type: str) -> list[dict[str, Any]]:
    return [
        _prop("hs_object_id", "number", "number", read_only=True),
        _prop("createdate", "datetime", "date", read_only=True),
        _prop(MODIFIED_PROPERTY[object_type], "datetime", "date", read_only=True),
        _prop("hubspot_owner_id", "enumeration", "select"),
    ]


DEFAULT_PROPERTIES: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        *_common("contacts"),
        _prop("email"),
        _prop("firstname"),
        _prop("lastname"),
        _prop("phone"),
        _prop("company"),
        _prop("jobtitle"),
        # The postal address, as HubSpot's standard contact properties hold it.
        _prop("address"),
        _prop("city"),
        _prop("state"),
        _prop("zip"),
        _prop("country"),
        _prop("lifecyclestage", "enumeration", "radio", _LIFECYCLE),
        _prop("hs_lead_status", "enumeration", "radio", _LEAD_STATUS),
        _prop("hs_email_optout", "bool", "booleancheckbox", ["true", "false"]),
        # Set by HubSpot when an email to the contact hard-bounced; empty while none has.
        _prop("hs_email_hard_bounce_reason_enum", "enumeration", "select", HARD_BOUNCE_REASONS, read_only=True),
        _prop("salesforceleadid"),
    ],
    "companies": [
        *_common("companies"),
        _prop("name"),
        _prop("domain"),
        _prop("industry"),
        _prop("numberofemployees", "number", "number"),
        _prop("annualrevenue", "number", "number"),
    ],
    "deals": [
        *_common("deals"),
        _prop("dealname"),
        _prop("amount", "number", "number"),
        _prop("pipeline", "enumeration", "select", ["default"]),
        _prop("dealstage", "enumeration", "radio", _DEAL_STAGES),
        _prop("closedate", "datetime", "date"),
    ],
}

# What a read returns when it names no properties, as a real portal answers (plus the stamps).
DEFAULT_READ = {
    "contacts": ["createdate", "email", "firstname", "lastname", "lastmodifieddate", "hs_object_id"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": [
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ],
}
# Free-text `query` in search matches these (HubSpot's default searchable properties).
SEARCHABLE = {
    "contacts": ["firstname", "lastname", "email", "phone", "company", "hs_object_id"],
    "companies": ["name", "domain", "phone", "website", "hs_object_id"],
    "deals": ["dealname", "hs_object_id"],
}

# Properties HubSpot maintains itself; writes to them are refused.
READ_ONLY = {
    "hs_object_id",
    "createdate",
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "hs_email_hard_bounce_reason_enum",
}
