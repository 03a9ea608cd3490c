"""Object and field metadata: what `describe` returns and what writes are validated against.

A field missing here does not exist in the org: queries and writes naming it fail with
INVALID_FIELD, as they would against a real org whose admin never created it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
LEAD_SOURCES = ("Web", "Partner Referral", "Phone Inquiry", "Purchased List", "Webinar", "Other")
INDUSTRIES = (
    "Technology",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Government",
    "Media",
)
RATINGS = ("Hot", "Warm", "Cold")
OPPORTUNITY_STAGES = (
    "Prospecting",
    "Qualification",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Other")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
TASK_PRIORITIES = ("High", "Normal", "Low")
TASK_SUBTYPES = ("Task", "Email", "Call")
CAMPAIGN_TYPES = ("Webinar", "Email", "Direct Mail", "Conference", "Advertisement")
CAMPAIGN_STATUSES = ("Planned", "In Progress", "Completed", "Aborted")

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "picklist": "xsd:string",
    "url": "xsd:string",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "anyType": "xsd:anyType",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    external_id: bool = False
    id_lookup: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    required: bool = False  # required on create (nillable false and createable)
    # SQL over the stored columns for a field the org computes (Lead.Name from FirstName and
    # LastName): stored as a generated column, so SOQL selects and filters it like any other.
    computed: str = ""
    name_field: bool = False
    compound: str = ""  # the compound field this one is part of (FirstName -> Name)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.name.removesuffix("__c").replace("_", " "),
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "custom": self.custom,
            "externalId": self.external_id,
            "idLookup": self.id_lookup,
            "unique": self.unique,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in self.picklist
            ],
            "restrictedPicklist": self.restricted,
            "referenceTo": list(self.reference_to),
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "compoundFieldName": self.compound or None,
            "nameField": self.name_field,
            "calculated": bool(self.computed),
        }


def _system_fields() -> list[Field]:
    readonly = {"createable": False, "updateable": False}
    return [
        Field("Id", "id", 18, nillable=False, id_lookup=True, **readonly),
        Field("IsDeleted", "boolean", nillable=False, **readonly),
        Field("CreatedDate", "datetime", nillable=False, **readonly),
        Field("LastModifiedDate", "datetime", nillable=False, **readonly),
        Field("SystemModstamp", "datetime", nillable=False, **readonly),
        # Who made the last change: the API caller's user, or a person in the org for the world's
        # own changes (null on generated records, as if loaded before the field was tracked).
        Field("LastModifiedById", "reference", 18, reference_to=("User",), **readonly),
    ]


def _person_name_fields() -> list[Field]:
    """FirstName, LastName and the read-only compound `Name` a real org builds from them, so the
    first SOQL a RevOps user types (`SELECT Id, Name FROM Lead`) works here too."""
    full_name = "trim(coalesce(\"FirstName\", '') || ' ' || coalesce(\"LastName\", ''))"
    return [
        Field("FirstName", "string", 40, compound="Name"),
        Field("LastName", "string", 80, nillable=False, required=True, compound="Name"),
        Field("Name", "string", 121, createable=False, updateable=False, computed=full_name, name_field=True),
    ]


def _leadloop_fields() -> list[Field]:
    """The custom fields an admin adds to Lead and Contact for Leadloop's scores and sync key."""
    return [
        Field("Lead_Score__c", "double", custom=True),
        Field("Lead_Grade__c", "string", 2, custom=True),
        Field("Lead_Score_Reasons__c", "textarea", 1000, custom=True),
        Field("Leadloop_Key__c", "string", 80, custom=True, external_id=True, id_lookup=True, unique=True),
    ]


def _email_bounce_fields() -> list[Field]:
    """Bounce management's standard fields on Lead and Contact: why and when the last email to
    the record's address bounced (both null while it has not, and cleared when the address
    changes)."""
    return [
        Field("EmailBouncedReason", "string", 255),
        Field("EmailBouncedDate", "datetime"),
    ]


@dataclass(frozen=True)
class SObject:
    name: str
    key_prefix: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    @property
    def by_name(self) -> dict[str, Field]:
        return {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name.lower())

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.name,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": True,
            "updateable": True,
            "queryable": True,
            "fields": [f.describe() for f in self.fields],
        }


LEAD = SObject(
    "Lead",
    "00Q",
    (
        *_system_fields(),
        *_person_name_fields(),
        Field("Company", "string", 255, nillable=False, required=True),
        Field("Email", "email", 80, id_lookup=True),
        Field("Phone", "phone", 40),
        Field("Title", "string", 128),
        Field("Industry", "picklist", 255, picklist=INDUSTRIES),
        Field("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        Field("Status", "picklist", 255, nillable=False, required=True, picklist=LEAD_STATUSES, restricted=True),
        Field("Rating", "picklist", 255, picklist=RATINGS),
        Field("NumberOfEmployees", "int"),
        Field("AnnualRevenue", "currency"),
        Field("OwnerId", "reference", 18, reference_to=("User",)),
        Field("IsConverted", "boolean", nillable=False),
        Field("Street", "textarea", 255),
        Field("City", "string", 40),
        Field("Country", "string", 80),
        Field("State", "string", 80),
        Field("PostalCode", "string", 20),
        Field("HasOptedOutOfEmail", "boolean", nillable=False),
        Field("DoNotCall", "boolean", nillable=False),
        *_email_bounce_fields(),
        Field("ConvertedDate", "date", createable=False, updateable=False),
        Field("ConvertedAccountId", "reference", 18, reference_to=("Account",), createable=False, updateable=False),
        Field("ConvertedContactId", "reference", 18, reference_to=("Contact",), createable=False, updateable=False),
        Field(
            "ConvertedOpportunityId", "reference", 18, reference_to=("Opportunity",), createable=False, updateable=False
        ),
        *_leadloop_fields(),
    ),
)

USER = SObject(
    "User",
    "005",
    (
        *_system_fields(),
        *_person_name_fields(),
        Field("Email", "email", 128, nillable=False, required=True),
        Field("IsActive", "boolean", nillable=False),
    ),
)

ACCOUNT = SObject(
    "Account",
    "001",
    (
        *_system_fields(),
        Field("Name", "string", 255, nillable=False, required=True),
        Field("Website", "url", 255),
        Field("Phone", "phone", 40),
        Field("Industry", "picklist", 255, picklist=INDUSTRIES),
        Field("Type", "picklist", 255, picklist=ACCOUNT_TYPES),
        Field("NumberOfEmployees", "int"),
        Field("AnnualRevenue", "currency"),
        Field("BillingStreet", "textarea", 255),
        Field("BillingCity", "string", 40),
        Field("BillingState", "string", 80),
        Field("BillingPostalCode", "string", 20),
        Field("BillingCountry", "string", 80),
        Field("OwnerId", "reference", 18, reference_to=("User",)),
    ),
)

CONTACT = SObject(
    "Contact",
    "003",
    (
        *_system_fields(),
        Field("AccountId", "reference", 18, reference_to=("Account",)),
        *_person_name_fields(),
        Field("Email", "email", 80, id_lookup=True),
        Field("Phone", "phone", 40),
        Field("MobilePhone", "phone", 40),
        Field("Title", "string", 128),
        Field("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        Field("MailingStreet", "textarea", 255),
        Field("MailingCity", "string", 40),
        Field("MailingState", "string", 80),
        Field("MailingPostalCode", "string", 20),
        Field("MailingCountry", "string", 80),
        Field("OwnerId", "reference", 18, reference_to=("User",)),
        Field("HasOptedOutOfEmail", "boolean", nillable=False),
        Field("DoNotCall", "boolean", nillable=False),
        *_email_bounce_fields(),
        *_leadloop_fields(),
    ),
)

OPPORTUNITY = SObject(
    "Opportunity",
    "006",
    (
        *_system_fields(),
        Field("Name", "string", 120, nillable=False, required=True),
        Field("AccountId", "reference", 18, reference_to=("Account",)),
        Field("ContactId", "reference", 18, reference_to=("Contact",)),
        Field(
            "StageName", "picklist", 255, nillable=False, required=True, picklist=OPPORTUNITY_STAGES, restricted=True
        ),
        Field("Amount", "currency"),
        Field("Probability", "percent"),
        Field("CloseDate", "date", nillable=False, required=True),
        Field("IsClosed", "boolean", nillable=False, createable=False, updateable=False),
        Field("IsWon", "boolean", nillable=False, createable=False, updateable=False),
        Field("LeadSource", "picklist", 255, picklist=LEAD_SOURCES),
        Field("OwnerId", "reference", 18, reference_to=("User",)),
    ),
)

TASK = SObject(
    "Task",
    "00T",
    (
        *_system_fields(),
        Field("WhoId", "reference", 18, reference_to=("Lead", "Contact")),
        Field("WhatId", "reference", 18, reference_to=("Account", "Opportunity", "Campaign")),
        Field("Subject", "string", 255),
        Field("Status", "picklist", 255, nillable=False, required=True, picklist=TASK_STATUSES, restricted=True),
        Field("Priority", "picklist", 255, nillable=False, required=True, picklist=TASK_PRIORITIES, restricted=True),
        Field("ActivityDate", "date"),
        Field("Description", "textarea", 32000),
        Field("TaskSubtype", "picklist", 255, picklist=TASK_SUBTYPES, restricted=True),
        Field("OwnerId", "reference", 18, reference_to=("User",)),
        Field("Leadloop_Task_Key__c", "string", 80, custom=True, external_id=True, id_lookup=True, unique=True),
    ),
)

CAMPAIGN = SObject(
    "Campaign",
    "701",
    (
        *_system_fields(),
        Field("Name", "string", 80, nillable=False, required=True),
        Field("Type", "picklist", 255, picklist=CAMPAIGN_TYPES),
        Field("Status", "picklist", 255, picklist=CAMPAIGN_STATUSES),
        Field("StartDate", "date"),
        Field("EndDate", "date"),
        Field("IsActive", "boolean", nillable=False),
        Field("OwnerId", "reference", 18, reference_to=("User",)),
    ),
)

CAMPAIGN_MEMBER = SObject(
    "CampaignMember",
    "00v",
    (
        *_system_fields(),
        Field("CampaignId", "reference", 18, nillable=False, required=True, reference_to=("Campaign",)),
        Field("LeadId", "reference", 18, reference_to=("Lead",)),
        Field("ContactId", "reference", 18, reference_to=("Contact",)),
        Field("Status", "string", 40),
        Field("HasResponded", "boolean", nillable=False, createable=False, updateable=False),
        Field("FirstRespondedDate", "date", createable=False, updateable=False),
    ),
)

# Field history tracking (Setup → Object Manager → Set History Tracking): the fields whose every
# change the org records in `<Object>History`, with who changed it and when. The consent flags
# are tracked, so a decision keeps its own date however often the record is edited later.
TRACKED_FIELDS: dict[str, tuple[str, ...]] = {
    "Lead": ("HasOptedOutOfEmail", "DoNotCall"),
    "Contact": ("HasOptedOutOfEmail", "DoNotCall"),
}
HISTORY_KEY_PREFIX = "017"  # every field history object's


def _history_object(parent: str) -> SObject:
    """`LeadHistory` / `ContactHistory`: one row per change of a tracked field (`Field` names it)
    and one `created` row per record created while tracking was on. Read-only, and unlike other
    objects it has no LastModifiedDate or SystemModstamp: rows are never changed, only added."""
    readonly = {"createable": False, "updateable": False}
    return SObject(
        f"{parent}History",
        HISTORY_KEY_PREFIX,
        (
            Field("Id", "id", 18, nillable=False, id_lookup=True, **readonly),
            Field("IsDeleted", "boolean", nillable=False, **readonly),
            Field(f"{parent}Id", "reference", 18, nillable=False, reference_to=(parent,), **readonly),
            Field("CreatedById", "reference", 18, reference_to=("User",), **readonly),
            Field("CreatedDate", "datetime", nillable=False, **readonly),
            Field("Field", "picklist", 255, picklist=("created", *TRACKED_FIELDS[parent]), **readonly),
            Field("DataType", "picklist", 255, **readonly),
            Field("OldValue", "anyType", **readonly),
            Field("NewValue", "anyType", **readonly),
        ),
    )


LEAD_HISTORY = _history_object("Lead")
CONTACT_HISTORY = _history_object("Contact")
HISTORY_OF: dict[str, SObject] = {"Lead": LEAD_HISTORY, "Contact": CONTACT_HISTORY}

OBJECTS: dict[str, SObject] = {
    obj.name.lower(): obj
    for obj in (
        LEAD,
        CONTACT,
        ACCOUNT,
        OPPORTUNITY,
        TASK,
        CAMPAIGN,
        CAMPAIGN_MEMBER,
        USER,
        LEAD_HISTORY,
        CONTACT_HISTORY,
    )
}


def sobject(name: str) -> SObject | None:
    return OBJECTS.get(name.lower())
