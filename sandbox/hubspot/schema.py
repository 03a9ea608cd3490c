"""HubSpot object types and their default properties, as `GET /crm/v3/properties/{type}` lists them."""

from __future__ import annotations

from typing import Any

OBJECT_TYPES = ("contacts", "companies", "deals")

PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
FIELD_TYPES = {"text", "textarea", "number", "select", "radio", "checkbox", "booleancheckbox", "date"}

_LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
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


_COMMON = [
    _prop("hs_object_id", "number", "number", read_only=True),
    _prop("createdate", "datetime", "date", read_only=True),
    _prop("lastmodifieddate", "datetime", "date", read_only=True),
    _prop("hubspot_owner_id", "enumeration", "select"),
]

DEFAULT_PROPERTIES: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        *_COMMON,
        _prop("email"),
        _prop("firstname"),
        _prop("lastname"),
        _prop("phone"),
        _prop("company"),
        _prop("jobtitle"),
        _prop("lifecyclestage", "enumeration", "radio", _LIFECYCLE),
        _prop("hs_lead_status", "enumeration", "radio", _LEAD_STATUS),
        _prop("hs_email_optout", "bool", "booleancheckbox", ["true", "false"]),
        _prop("salesforceleadid"),
    ],
    "companies": [
        *_COMMON,
        _prop("name"),
        _prop("domain"),
        _prop("industry"),
        _prop("numberofemployees", "number", "number"),
        _prop("annualrevenue", "number", "number"),
    ],
    "deals": [
        *_COMMON,
        _prop("dealname"),
        _prop("amount", "number", "number"),
        _prop("dealstage"),
        _prop("closedate", "datetime", "date"),
    ],
}

# Properties HubSpot maintains itself; writes to them are refused.
READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate"}
