"""Profiles: the distinct match-key combinations the Splink model scores (a partner mailing
one person twelve times is one profile), with the derived columns its blocks and comparisons
read. Shared by the model and its sanity check, which scores known pairs the same way."""

import duckdb

PROFILE_KEYS = (
    "first_name_key",
    "last_name_key",
    "email_key",
    "phone_e164",
    "street_key",
    "city_key",
    "postal_key",
    "company_key",
)


KEYS = " || '|' || ".join(f"coalesce({k}, '')" for k in PROFILE_KEYS)
# A profile needs something beyond a name: two name-only records are not one person.
HAS_KEY = (
    "email_key is not null or phone_e164 is not null or postal_key is not null"
    " or company_key is not null or street_key is not null"
)
# What names a profile from one run to the next (`profile_id` is only a rank within a run): its
# match keys, or for a name-only record the record itself, hashed.
PROFILE_KEY = f"md5(case when {HAS_KEY} then 'keys|' || {KEYS} else 'record|' || record_key end)"
# The name the model's full-name level compares (and takes term frequencies over).
FULL_NAME_KEY = "first_name_key || ' ' || last_name_key"


def profiles(con: duckdb.DuckDBPyConnection, records: str = "records") -> None:
    """Creates `profiles` (one row per distinct match-key combination, `profile_id` numbered,
    `profile_key` stable across runs, with the derived columns blocks and comparisons use) and
    `record_profiles` (record → profile)."""
    con.execute(
        f"""
        create or replace temp table record_profiles as
        select record_key, {PROFILE_KEY} as profile_key,
               dense_rank() over (order by case when {HAS_KEY} then {KEYS} end,
                                  case when {HAS_KEY} then null else record_key end) as profile_id
        from {records}
        """
    )
    con.execute(
        f"""
        create or replace temp table profiles as
        select *,
               nullif(split_part(email_key, '@', 1), '') as email_local,
               substr(last_name_key, 1, 3) as last_name_prefix,
               substr(first_name_key, 1, 1) as first_name_initial,
               nullif(regexp_extract(street_key, '\\d+[a-z]?', 0), '') as street_number
        from (
            select any_value(p.profile_id) as profile_id, any_value(p.profile_key) as profile_key,
                   {", ".join(f"any_value(r.{k}) as {k}" for k in PROFILE_KEYS)},
                   any_value({FULL_NAME_KEY}) as full_name_key,  -- record_profiles has no name columns
                   min(r.record_key) as first_record_key
            from {records} r join record_profiles p using (record_key)
            group by p.profile_id
        )
        """
    )
