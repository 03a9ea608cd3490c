"""The source records identity resolution reads: one row per record that describes a person,
from the silver staging views, in one shape.

`record_key` is `<source>:<id>`, unique across sources. `linked_record_key` carries a key one
system holds for another (HubSpot's copy of the Salesforce lead id; the contact a lead was
converted into), a link no matching has to guess.
"""

import pyarrow as pa

COLUMNS = (
    "record_key",
    "source",
    "source_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "company",
    "street",
    "city",
    "state",
    "postal_code",
    "created_at",
    "linked_record_key",
)

# Per source: the staging view and the SQL expression of each column (None: the source lacks it).
_SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "salesforce_lead": (
        "stg_salesforce__leads",
        {
            "id": "lead_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "phone": "phone",
            "country": "country",
            "company": "company",
            "street": "street_normalized",  # USPS suffixes, by the staging macro
            "city": "city",
            "state": "state",
            "postal_code": "postal_code",
            "created_at": "created_at",
            "linked_record_key": "'salesforce_contact:' || converted_contact_id",
            "where": "not is_deleted",
        },
    ),
    "salesforce_contact": (
        "stg_salesforce__contacts",
        {
            "id": "contact_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "phone": "coalesce(phone, mobile_phone)",
            "country": "country",
            "street": "street_normalized",  # USPS suffixes, by the staging macro
            "city": "city",
            "state": "state",
            "postal_code": "postal_code",
            "created_at": "created_at",
            "where": "not is_deleted",
        },
    ),
    "hubspot_contact": (
        "stg_hubspot__contacts",
        {
            "id": "contact_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "phone": "phone",
            "country": "country",
            "company": "company",
            "street": "street_normalized",  # USPS suffixes, by the staging macro
            "city": "city",
            "state": "state",
            "postal_code": "postal_code",
            "created_at": "created_at",
            "linked_record_key": "'salesforce_lead:' || salesforce_lead_id",
            "where": "not is_deleted",
        },
    ),
    "partner_mail": (
        "stg_partners__mailed_records",
        {
            "id": "imb_tracking",
            "first_name": "first_name",
            "last_name": "last_name",
            "country": "'US'",
            "street": "street_normalized",  # USPS suffixes, by the staging macro
            "city": "city",
            "state": "state",
            "postal_code": "postal_code",
            "created_at": "cast(mailed_on as timestamp)",
        },
    ),
    "product_user": (
        "stg_product__users",
        {
            "id": "user_id",
            # The product keeps one name field; its last word is the surname.
            "first_name": "nullif(trim(substr(full_name, 1, length(full_name) - length(split_part_last))), '')",
            "last_name": "split_part_last",
            "email": "email",
            "created_at": "created_at",
        },
    ),
}


def staging_views() -> list[str]:
    """The staging models the records come from (for lineage)."""
    return [view for view, _ in _SOURCES.values()]


def records_sql(schema: str = "silver") -> str:
    """One `union all` over the staging views; every column text but `created_at`."""
    parts = []
    for source, (view, columns) in _SOURCES.items():
        source_id = f"cast({columns['id']} as varchar)"
        select = [f"'{source}:' || {source_id} as record_key", f"'{source}' as source", f"{source_id} as source_id"]
        for column in COLUMNS[3:]:
            expression = columns.get(column)
            if column == "created_at":
                select.append(f"cast({expression} as timestamp) as created_at")
            else:
                select.append(f"cast({expression or 'null'} as varchar) as {column}")
        relation = f"{schema}.{view}"
        if source == "product_user":
            relation = (
                f"(select *, regexp_replace(trim(full_name), '^.*\\s', '') as split_part_last from {relation}) as users"
            )
        where = f" where {columns['where']}" if "where" in columns else ""
        parts.append(f"select {', '.join(select)} from {relation}{where}")
    return "\nunion all\n".join(parts)


def empty() -> pa.Table:
    return pa.table({c: pa.array([], pa.timestamp("us") if c == "created_at" else pa.string()) for c in COLUMNS})
