"""Links no model has to guess: records that share a key only one person can hold.

Each rule links every record of a key group to the group's first record (a star, not every
pair: connected components need no more, and a 1,000-record group stays 999 links). The link
names its rule and the value that agreed, for audit.
"""

import duckdb
import pyarrow as pa

# rule → (the key expression, the condition under which a record takes part)
RULES: dict[str, tuple[str, str]] = {
    "same_email": ("email_key", "email_key is not null"),
    # Colleagues share a switchboard and families a landline: the phone needs the whole name.
    "same_phone_and_name": (
        "phone_e164 || '|' || first_name_key || '|' || last_name_key",
        "phone_e164 is not null and first_name_key is not null and last_name_key is not null",
    ),
    "same_name_and_address": (
        "first_name_key || '|' || last_name_key || '|' || street_key || '|' || postal_key",
        "first_name_key is not null and last_name_key is not null"
        " and street_key is not null and postal_key is not null",
    ),
}
LINK_SCHEMA = pa.schema(
    [
        pa.field("record_key_l", pa.string()),
        pa.field("record_key_r", pa.string()),
        pa.field("rule", pa.string()),
        pa.field("match_weight", pa.float64()),
        pa.field("match_probability", pa.float64()),
        pa.field("agreed_on", pa.string()),
    ]
)


def deterministic_links(con: duckdb.DuckDBPyConnection, records: str = "records") -> pa.Table:
    """Links by shared keys, and the cross-system ids records carry, over table `records`."""
    parts = []
    for rule, (key, condition) in RULES.items():
        parts.append(
            f"""
            select first_value(record_key) over w as record_key_l, record_key as record_key_r,
                   '{rule}' as rule, cast(null as double) as match_weight, 1.0 as match_probability,
                   {key} as agreed_on
            from {records} where {condition}
            window w as (partition by {key} order by created_at nulls last, record_key)
            """
        )
    parts.append(
        f"""
        select r.linked_record_key, r.record_key, 'cross_system_id', null, 1.0, r.linked_record_key
        from {records} r join {records} target on target.record_key = r.linked_record_key
        """
    )
    sql = " union all ".join(f"({p})" for p in parts)
    links = con.sql(f"select * from ({sql}) where record_key_l <> record_key_r").to_arrow_table()
    return links.cast(LINK_SCHEMA)
