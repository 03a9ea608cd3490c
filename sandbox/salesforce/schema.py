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
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
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
            "compoundFieldName": None,
        }


def _system_fields() -> list[Field]:
    readonly = {"createable": False, "updateable": False}
    return [
        Field("Id", "id", 18, nillable=False, id_lookup=True, **readonly),
        Field("IsDeleted", "boolean", nillable=False, **readonly),
        Field("CreatedDate", "datetime", nillable=False, **readonly),
        Field("LastModifiedDate", "datetime", nillable=False, **readonly),
        Field("SystemModstamp", "datetime", nillable=False, **readonly),
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
        Field("FirstName", "string", 40),
        Field("LastName", "string", 80, nillable=False, required=True),
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
        Field("Country", "string", 80),
        Field("State", "string", 80),
        Field("PostalCode", "string", 20),
        Field("HasOptedOutOfEmail", "boolean", nillable=False),
        Field("DoNotCall", "boolean", nillable=False),
        Field("Lead_Score__c", "double", custom=True),
        Field("Lead_Grade__c", "string", 2, custom=True),
        Field("Lead_Score_Reasons__c", "textarea", 1000, custom=True),
        Field("Leadloop_Key__c", "string", 80, custom=True, external_id=True, id_lookup=True, unique=True),
    ),
)

USER = SObject(
    "User",
    "005",
    (
        *_system_fields(),
        Field("FirstName", "string", 40),
        Field("LastName", "string", 80, nillable=False, required=True),
        Field("Email", "email", 128, nillable=False, required=True),
        Field("IsActive", "boolean", nillable=False),
    ),
)

OBJECTS: dict[str, SObject] = {obj.name.lower(): obj for obj in (LEAD, USER)}


def sobject(name: str) -> SObject | None:
    return OBJECTS.get(name.lower())
