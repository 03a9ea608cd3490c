"""The Splink layer: graded levels (typos, swapped names), blocks that survive a typo, and
training that cannot silently switch the model off."""

import json
import math
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pytest
from splink.backends.duckdb import DuckDBAPI
from splink.internals.realtime import compare_records

from silver.identity.model_check import known_pair_problems, model_problems, ordering_problems
from silver.identity.probabilistic import (
    DEFAULT_MODEL,
    MatchConfig,
    default_model,
    model_parameters,
    probabilistic_links,
    profiles,
    settings,
)
from silver.identity.records import COLUMNS
from silver.identity.resolve import resolve
from silver.identity.standardize import standardize


def records(*rows: dict) -> pa.Table:
    filled = [{c: row.get(c) for c in COLUMNS} for row in rows]
    for n, row in enumerate(filled):
        row["created_at"] = row["created_at"] or datetime(2026, 1, 1) + timedelta(minutes=n)
    schema = pa.schema([pa.field(c, pa.timestamp("us") if c == "created_at" else pa.string()) for c in COLUMNS])
    return pa.Table.from_pylist(filled, schema=schema)


def person(key: str, first: str | None, last: str, street: str, city: str, postcode: str, country: str) -> dict:
    """A name-and-address-only record, as a partner file or a bare CRM export holds it."""
    return {
        "record_key": key,
        "first_name": first,
        "last_name": last,
        "street": street,
        "city": city,
        "postal_code": postcode,
        "country": country,
    }


def levels(left: dict, right: dict) -> dict[str, int]:
    """Each comparison's level (gamma) for two records under the shipped model: -1 null,
    0 else, higher is closer."""
    table = standardize(records(left, right))
    with duckdb.connect() as con:
        con.register("records", table)
        profiles(con)
        found = con.sql("select * from profiles order by profile_id")
        names = [d[0] for d in found.description]
        tf = {f"tf_{c}": 0.01 for c in ("full_name_key", "first_name_key", "last_name_key", "city_key")}
        one, two = ({**dict(zip(names, row, strict=True)), **tf} for row in found.fetchall())
        scored = con.sql(
            f"select * from {compare_records(one, two, default_model(), DuckDBAPI(connection=con)).physical_name}"
        )
        compared = dict(zip([d[0] for d in scored.description], scored.fetchall()[0], strict=True))
    return {k.removeprefix("gamma_"): v for k, v in compared.items() if k.startswith("gamma_")}


UK = person("a:1", "Oliver", "Hughes", "14 Kingsway Road", "Manchester", "M1 4BT", "GB")


def test_the_shipped_model_has_parameters_for_every_level_of_every_comparison():
    shipped = json.loads(DEFAULT_MODEL.read_text())
    expected = model_parameters(settings().create_settings_dict(sql_dialect_str="duckdb"))
    assert {c: [lv["label"] for lv in ls] for c, ls in shipped["comparisons"].items()} == {
        c: [lv["label"] for lv in ls] for c, ls in expected["comparisons"].items()
    }
    for comparison in shipped["comparisons"].values():
        for level in comparison:
            assert 0 <= level["m"] <= 1 and 0 < level["u"] <= 1, level


def test_a_swapped_name_is_its_own_level_not_a_miss():
    swapped = {**UK, "record_key": "b:1", "first_name": "Hughes", "last_name": "Oliver"}
    assert levels(UK, swapped)["first_name_key_last_name_key"] == 7  # below exact, above fuzzy
    assert levels(UK, {**UK, "record_key": "b:1", "street": "14 Kingsway Rd"})["first_name_key_last_name_key"] == 8


def test_one_character_typos_are_close_levels_not_misses():
    typo = {
        **UK,
        "record_key": "b:1",
        "last_name": "Hughs",
        "street": "14 Kingsay Road",
        "city": "Manchestr",
        "postal_code": "M1 4BF",
    }
    found = levels(UK, typo)
    assert found["first_name_key_last_name_key"] == 6  # both names close by Jaro-Winkler
    assert found["street_key"] == 2  # Damerau-Levenshtein 1
    assert found["city_key"] == 1  # Jaro-Winkler
    assert found["postal_key"] == 1  # Damerau-Levenshtein 1
    different = {**UK, "record_key": "b:1", "street": "2 Station Lane", "city": "Leeds", "postal_code": "LS1 4DY"}
    assert {k: v for k, v in levels(UK, different).items() if k in ("street_key", "city_key", "postal_key")} == {
        "street_key": 0,
        "city_key": 0,
        "postal_key": 0,
    }


def test_a_missing_given_name_is_neutral_not_a_disagreement():
    found = levels(UK, {**UK, "record_key": "b:1", "first_name": None})
    assert found["first_name_key_last_name_key"] == 4  # family name exact, no given name to disagree
    relative = levels(UK, {**UK, "record_key": "b:1", "first_name": "Amelia"})
    assert relative["first_name_key_last_name_key"] == 2  # family name only: a relative's level


def name_and_address_world(n: int = 40) -> pa.Table:
    """`n` people in the UK, Germany and Australia, each in two sources with name and address
    only, the second copy with a typo, a swapped name or a missing given name; no two records share
    an email, phone or company (so the email training block has no pairs), and no record is an
    exact duplicate of another (so no deterministic rule links them)."""
    firsts = ["Oliver", "Amelia", "Harry", "Isla", "Jack", "Lena", "Jonas", "Mia", "Noah", "Chloe", "Florian",
              "Grace", "Henrik", "Ivy", "Kasimir", "Lotte", "Matilda", "Niamh", "Oskar", "Pippa"]  # fmt: skip
    lasts = ["Hughes", "Fischer", "Walsh", "Becker", "Nguyen", "Okafor", "Brennan", "Kowalski", "Lindqvist",
             "Murray", "Osei", "Pellegrini", "Quinlan", "Richter", "Sandoval", "Thornton", "Ueda", "Varga"]  # fmt: skip
    streets = ["Kingsway", "Rundle", "Elbchaussee", "Victoria", "Birken", "Wattle", "Albion", "Linden", "Banksia",
               "Harbour", "Mühlen", "Carrington", "Thistle", "Garten", "Jacaranda", "Regent", "Schiller"]  # fmt: skip
    places = [
        ("GB", ["Manchester", "Leeds", "Bristol"], "M{} {}BT", "{} {} Road"),
        ("DE", ["Hamburg", "Berlin", "Köln"], "2{:04d}", "{1}straße {0}"),
        ("AU", ["Adelaide", "Perth", "Sydney"], "5{:03d}", "{} {} Street"),
    ]
    rows = []
    for i in range(n):
        country, cities, postcode, street = places[i % 3]
        base = person(
            f"crm:{i}",
            firsts[i % len(firsts)],
            lasts[(i * 7 + i // 20) % len(lasts)],
            street.format(10 + i % 90, streets[i // 7 % len(streets)]),
            cities[i // 3 % 3],
            postcode.format(100 + i // 9, i % 10) if country == "GB" else postcode.format(100 + i),
            country,
        )
        other = {**base, "record_key": f"export:{i}"}
        kind = i % 3
        if kind == 0:
            other["last_name"] = other["last_name"][:2] + other["last_name"][3:]  # a dropped letter
        elif kind == 1:
            other["first_name"], other["last_name"] = other["last_name"], other["first_name"]
        else:
            other["first_name"] = None
        rows += [base, other]
    return records(*rows)


def _pairs(links: pa.Table) -> set[frozenset[str]]:
    return {
        frozenset(p) for p in zip(links["record_key_l"].to_pylist(), links["record_key_r"].to_pylist(), strict=True)
    }


@pytest.mark.parametrize("people", [3_000, 40], ids=["trained", "shipped"])
def test_a_training_block_without_pairs_still_leaves_a_model_that_links(people):
    table = standardize(name_and_address_world(people))
    with duckdb.connect() as con:
        con.register("records", table)
        links, model = probabilistic_links(con, config=MatchConfig())
    if 2 * people < MatchConfig().min_training_profiles:  # two records a person
        assert model.source == "default" and "all" in model.skipped
    else:
        # No two records share an email or a name and postcode: those sessions (and the match
        # rate) were skipped, said so, and the model kept its comparisons and its shipped m.
        assert model.training_pairs == {"m_by_email": 0, "m_by_name_and_postcode": 0}
        assert set(model.skipped) == {"match_rate", "m_by_email", "m_by_name_and_postcode"}
        assert model.source == "partly trained"  # u was estimated on these records
    expected = {frozenset((f"crm:{i}", f"export:{i}")) for i in range(people)}
    found = _pairs(links)
    assert found <= expected  # nobody linked to a stranger
    assert len(found) >= 0.95 * people, sorted(expected - found, key=sorted)[:10]
    assert set(links["rule"].to_pylist()) == {"splink"}
    explained = zip(links["match_weight"].to_pylist(), links["agreed_on"].to_pylist(), strict=True)
    assert all(weight is not None and "name" in agreed for weight, agreed in explained)


def test_resolve_reports_the_model_and_keeps_relatives_apart():
    same_house = [
        person("crm:1", "Oliver", "Hughes", "14 Kingsway Road", "Manchester", "M1 4BT", "GB"),
        person("crm:2", "Amelia", "Hughes", "14 Kingsway Road", "Manchester", "M1 4BT", "GB"),
        person("export:1", "Hughes", "Oliver", "14 Kingsway Rd", "Manchester", "M14BT", "United Kingdom"),
    ]
    resolution = resolve(records(*same_house))
    people = dict(
        zip(resolution.records["record_key"].to_pylist(), resolution.records["person_id"].to_pylist(), strict=True)
    )
    assert people["crm:1"] == people["export:1"] != people["crm:2"]
    assert resolution.model.as_metadata()["model"] == "default"


def test_blocking_rules_and_threshold_are_configuration(monkeypatch):
    monkeypatch.setenv("LEADLOOP_IDENTITY_BLOCKING_RULES", '[["postal_key"], ["phone_e164"]]')
    monkeypatch.setenv("LEADLOOP_IDENTITY_MATCH_PROBABILITY", "0.9")
    config = MatchConfig.from_env()
    assert config.blocking_rules == (("postal_key",), ("phone_e164",))
    assert config.match_probability == 0.9
    # With only the street-number block, a typo'd postcode in another city is still compared.
    table = standardize(name_and_address_world(6))
    with duckdb.connect() as con:
        con.register("records", table)
        nothing, _ = probabilistic_links(con, config=MatchConfig(blocking_rules=(("email_local",),)))
        found, _ = probabilistic_links(con, config=MatchConfig(blocking_rules=(("street_number",),)))
    assert nothing.num_rows == 0
    assert len(_pairs(found)) >= 5


def test_a_training_session_that_raises_leaves_the_model_that_links():
    """Two copies of each person differ only in the email domain; a training block on every
    comparison's columns leaves Splink nothing to estimate, and its SQL fails. The session is
    skipped and said so; the model keeps every comparison and links each person's two copies."""
    rows = []
    heads, tails = ("Hug", "Fis", "Wal", "Bec", "Ngu", "Oka"), ("hes", "cher", "sh", "ker", "yen", "for")
    for i in range(120):
        first = "Ann" + chr(97 + i % 26) + chr(97 + i // 26)
        last = heads[i % 6] + tails[i // 6 % 6]
        city = ["Austin", "Denver", "Boston", "Seattle", "Portland", "Madison", "Tucson", "Raleigh"][i % 8]
        copy = {"first_name": first, "last_name": last, "email": f"{first}@example.com", "phone": f"+1415555{i:04d}",
                "company": f"Acme {i}", "street": f"{i} Main St", "city": city, "postal_code": f"{10000 + 7 * i}",
                "country": "US"}  # fmt: skip
        rows += [
            {**copy, "record_key": f"crm:{i}"},
            {**copy, "record_key": f"export:{i}", "email": f"{first}@home.org"},
        ]
    everything = ("full_name_key", "email_local", "phone_e164", "street_key", "city_key", "postal_key", "company_key")
    config = MatchConfig(min_training_profiles=100, training_blocks=(("m_by_everything", everything),))
    with duckdb.connect() as con:
        con.register("records", standardize(records(*rows)))
        links, model = probabilistic_links(con, config=config)
    assert model.training_pairs == {"m_by_everything": 120}
    assert model.skipped["m_by_everything"].startswith("Error executing the following sql")
    assert model.rejected == [] and model.source == "partly trained"  # u was estimated, and passed its check
    assert _pairs(links) == {frozenset((f"crm:{i}", f"export:{i}")) for i in range(120)}
    for agreed in links["agreed_on"].to_pylist():
        assert set(agreed.split(",")) >= {"name", "phone", "street", "city", "postal_code", "company"}, agreed


def test_the_shipped_model_passes_the_check_a_broken_one_fails_it():
    assert model_problems(default_model(), MatchConfig().match_probability) == []
    turned = default_model()
    [postcode] = [c for c in turned["comparisons"] if c["output_column_name"] == "postal_key"]
    exact = postcode["comparison_levels"][1]
    exact["m_probability"], exact["u_probability"] = exact["u_probability"], exact["m_probability"]
    weight = math.log2(exact["m_probability"] / exact["u_probability"])
    assert ordering_problems(turned) == [f"postal_key: the exact level is not evidence for a match (weight {weight})"]
    # Close names turned into evidence against: the ends are still in order, the known pairs
    # catch it.
    typos_against = default_model()
    [name] = [c for c in typos_against["comparisons"] if c["output_column_name"] == "first_name_key_last_name_key"]
    for level in name["comparison_levels"]:
        if level["label_for_charts"].startswith("(Jaro-Winkler distance of first_name_key"):
            level["m_probability"] = 1e-6
    assert ordering_problems(typos_against) == []
    assert [p.split(":")[0] for p in known_pair_problems(typos_against, 0.995)] == ["a family-name typo at one address"]


def test_a_trained_model_that_fails_its_check_is_replaced_by_the_shipped_one():
    """EM on a poor block (every pair shares only a family-name prefix, so nearly all are
    strangers) learns that an exact name is evidence *against* a match; the check rejects that
    model, the shipped one links, and the metadata says why."""
    table = standardize(name_and_address_world(300))
    config = MatchConfig(min_training_profiles=100, training_blocks=(("m_by_name_prefix", ("last_name_prefix",)),))
    with duckdb.connect() as con:
        con.register("records", table)
        links, model = probabilistic_links(con, config=config)
    assert "m_by_name_prefix" not in model.skipped  # the session ran, and learned nonsense
    assert model.source == "default"
    assert any(problem.startswith("first_name_key_last_name_key: the exact level") for problem in model.rejected)
    assert model.as_metadata()["rejected_trained_model"] == model.rejected
    expected = {frozenset((f"crm:{i}", f"export:{i}")) for i in range(300)}
    found = _pairs(links)
    assert found <= expected and len(found) >= 0.95 * 300


def test_an_erasure_resolves_everyone_else_as_the_next_run_will():
    """The next run reads bronze without the erased person's rows; its links must be this run's,
    or a run killed while deleting those rows, and every run after an erasure, changes the other
    people's match weights (issue 25)."""
    from silver.erasure import hashes_of

    world = name_and_address_world(40)
    emails = [
        f"erased{i}@example.com" if key in {"crm:0", "crm:1"} else None
        for i, key in enumerate(world["record_key"].to_pylist())
    ]
    world = world.set_column(world.schema.get_field_index("email"), "email", pa.array(emails, pa.string()))
    erased = set(hashes_of(e for e in emails if e))

    first = resolve(world, erased=erased)
    left = set(first.suppressed["record_key"].to_pylist())
    assert {"crm:0", "export:0", "crm:1", "export:1"} <= left  # each erased person whole
    remaining = world.filter(pa.compute.invert(pa.compute.is_in(world["record_key"], pa.array(sorted(left)))))
    after = resolve(remaining, erased=erased, suppressed=first.suppressed)

    assert after.links.sort_by("record_key_l").equals(first.links.sort_by("record_key_l"))
    assert after.person_records().equals(first.person_records())
    assert after.suppressed.equals(first.suppressed)
