"""Links for records that share no key: a Splink (Fellegi-Sunter) model over names, email,
phone, postal address and company, with term-frequency adjustment on names.

The model runs on distinct *profiles* (records with identical match keys are scored once: a
partner mailing one person twelve times is one profile), in an in-process DuckDB whatever the
warehouse, so both warehouses resolve identically. Its parameters are trained on every run:
u by seeded random sampling, m by expectation maximisation on two blocking rules that leave
different fields free (names only where an email is shared), so the same input always trains
the same model.
"""

import logging

import duckdb
import pyarrow as pa
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI
from splink.internals.exceptions import SplinkException

from silver.identity.deterministic import LINK_SCHEMA

MATCH_PROBABILITY = 0.995  # a false merge sends one person's score and tasks to another
SEED = 7
logger = logging.getLogger("leadloop")
PROFILE_KEYS = (
    "first_name_key",
    "last_name_key",
    "email_key",
    "phone_e164",
    "street_key",
    "postal_key",
    "company_key",
)
# How a link explains itself: comparison name → the column of its match-weight contribution.
EXPLAINED = {
    "name": "first_name_key_last_name_key",
    "email": "email_key",
    "phone": "phone_e164",
    "street": "street_key",
    "postal_code": "postal_key",
    "company": "company_key",
}


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="profile_id",
        probability_two_random_records_match=1e-5,
        comparisons=[
            cl.ForenameSurnameComparison(
                "first_name_key", "last_name_key", forename_surname_concat_col_name="full_name_key"
            ).configure(term_frequency_adjustments=True),
            # Exact only: colleagues' addresses differ by a digit (greta.walker49@, greta.walker90@),
            # which a fuzzy username level would count as agreement.
            cl.ExactMatch("email_key"),
            cl.ExactMatch("phone_e164"),
            cl.ExactMatch("street_key"),
            cl.ExactMatch("postal_key"),
            cl.JaroWinklerAtThresholds("company_key", [0.95, 0.88]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("postal_key", "street_key"),
            block_on("company_key", "last_name_key"),
            block_on("company_key", "first_name_key"),
            block_on("phone_e164"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


def profiles(con: duckdb.DuckDBPyConnection, records: str = "records") -> None:
    """Creates `profiles` (one row per distinct match-key combination, `profile_id` numbered)
    and `record_profiles` (record → profile)."""
    keys = " || '|' || ".join(f"coalesce({k}, '')" for k in PROFILE_KEYS)
    # A profile needs something beyond a name: two name-only records are not one person.
    has_key = "email_key is not null or phone_e164 is not null or postal_key is not null or company_key is not null"
    con.execute(
        f"""
        create or replace temp table record_profiles as
        select record_key,
               dense_rank() over (order by case when {has_key} then {keys} end,
                                  case when {has_key} then null else record_key end) as profile_id
        from {records}
        """
    )
    con.execute(
        f"""
        create or replace temp table profiles as
        select any_value(p.profile_id) as profile_id, {", ".join(f"any_value(r.{k}) as {k}" for k in PROFILE_KEYS)},
               any_value(r.first_name_key || ' ' || r.last_name_key) as full_name_key,
               min(r.record_key) as first_record_key
        from {records} r join record_profiles p using (record_key)
        group by p.profile_id
        """
    )


def train(linker: Linker, con: duckdb.DuckDBPyConnection) -> list[str]:
    """Estimates the model's parameters; returns the steps that could not run.

    A small or lopsided input can leave a training block without a single pair (no two records
    sharing an email, say). That step is skipped and its parameters keep Splink's defaults;
    the links still need the names to agree, so a thin model errs toward fewer links.
    """
    steps = {
        "match_rate": lambda: linker.training.estimate_probability_two_random_records_match(
            [block_on("email_key")], recall=0.8
        ),
        "u": lambda: linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED),
        # Names learn only among records sharing an email: under an address block, colleagues at
        # one office (one street, one switchboard) would teach the model that names may disagree.
        "m_by_email": lambda: linker.training.estimate_parameters_using_expectation_maximisation(block_on("email_key")),
        "m_by_name_and_company": lambda: linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("first_name_key", "last_name_key", "company_key")
        ),
    }
    skipped = []
    shared_emails = con.sql(
        "select count(*) from (select email_key from profiles where email_key is not null"
        " group by 1 having count(*) > 1)"
    ).fetchall()[0][0]
    if not shared_emails:  # no match to count: the prior stays at its default, not at zero
        del steps["match_rate"]
        skipped.append("match_rate")
    for name, step in steps.items():
        try:
            step()
        except SplinkException as exc:
            logger.warning("identity: Splink training step %s skipped: %s", name, str(exc).splitlines()[0])
            skipped.append(name)
    return skipped


def probabilistic_links(con: duckdb.DuckDBPyConnection, records: str = "records") -> pa.Table:
    """Links between records the model matches at `MATCH_PROBABILITY` or above, one per
    matched pair of profiles (profile's first record to profile's first record), with the match
    weight and the comparisons that agreed exactly."""
    profiles(con, records)
    if con.sql("select count(*) from profiles").fetchall()[0][0] < 2:
        return LINK_SCHEMA.empty_table()
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("profiles"), settings(), log_level=logging.ERROR)
    train(linker, con)
    predictions = linker.inference.predict(threshold_match_probability=MATCH_PROBABILITY)
    predicted_columns = {row[0] for row in con.sql(f"describe {predictions.physical_name}").fetchall()}
    if f"mw_{EXPLAINED['name']}" not in predicted_columns:  # no pair was blocked: nothing to link
        return LINK_SCHEMA.empty_table()
    # Each comparison's share of the match weight: the fields that spoke for the match.
    agreed = " || ".join(
        f"case when p.mw_{column} > 0 then '{name},' else '' end" for name, column in EXPLAINED.items()
    )
    links = con.sql(
        f"""
        select l.first_record_key as record_key_l, r.first_record_key as record_key_r,
               'splink' as rule, p.match_weight, p.match_probability, rtrim({agreed}, ',') as agreed_on
        from {predictions.physical_name} p
        join profiles l on l.profile_id = p.profile_id_l
        join profiles r on r.profile_id = p.profile_id_r
        -- Colleagues share an office's street, switchboard and company: fields that agree
        -- together, against the model's independence assumption. A link needs the names too.
        where p.mw_{EXPLAINED["name"]} > 0
        """
    ).to_arrow_table()
    return links.cast(LINK_SCHEMA)


def profile_links(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Records that share a profile, linked to the profile's first record."""
    return (
        con.sql(
            """
        select p.first_record_key as record_key_l, rp.record_key as record_key_r, 'same_profile' as rule,
               cast(null as double) as match_weight, 1.0 as match_probability, 'all match keys' as agreed_on
        from record_profiles rp join profiles p using (profile_id)
        where rp.record_key <> p.first_record_key
        """
        )
        .to_arrow_table()
        .cast(LINK_SCHEMA)
    )
