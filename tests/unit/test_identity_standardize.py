"""Match keys: the forms under which two records of one person agree."""

import pyarrow as pa
import pytest

from silver.identity.standardize import (
    city_key,
    company_key,
    countries,
    country_code,
    e164,
    email_key,
    given_name_key,
    name_key,
    phones_e164,
    postal_key,
    street_key,
)


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("+1 (415) 555-0100", "US", "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),  # dialled at home
        ("(415) 555-0100", None, "+14155550100"),  # no country: US
        ("14155550100", None, "+14155550100"),  # typed without its "+"
        ("442079460000", None, "+442079460000"),
        ("030 1234567", "DE", "+49301234567"),
        ("020 7946 0000", "GB", "+442079460000"),
        ("call me", "US", None),
        ("", "US", None),
        (None, "US", None),
    ],
)
def test_phones_become_e164(phone, country, expected):
    assert e164(phone, country) == expected


def test_columns_are_keyed_once_per_distinct_value_with_the_same_keys_as_one_by_one():
    """Keys are computed per distinct value (issue 24: no whole-column Python lists); each row
    must still get the key its own value and country give, nulls and blanks included."""
    phones = pa.array(["(415) 555-0100", None, "", "020 7946 0000", "(415) 555-0100", "020 7946 0000", "call me"])
    where = pa.array(["US", "US", "GB", "GB", "GB", "US", "US"])
    expected = [e164(p, c) for p, c in zip(phones.to_pylist(), where.to_pylist(), strict=True)]
    assert phones_e164(phones, where).to_pylist() == expected
    assert expected[0] != expected[4] and expected[3] != expected[5]  # one phone, two countries, two keys
    names = pa.chunked_array([["Bob", None, "O'Brien "], ["", "bob", "Zoë"]])
    assert name_key(names).to_pylist() == ["bob", None, "obrien", None, "bob", "zoe"]
    assert given_name_key(names).to_pylist() == ["robert", None, "obrien", None, "robert", "zoe"]


def test_email_key_drops_case_padding_and_plus_tags():
    keys = email_key(pa.array([" Jane.Doe+news@Acme.COM ", "jane.doe@acme.com", "not-an-email", None]))
    assert keys.to_pylist() == ["jane.doe@acme.com", "jane.doe@acme.com", None, None]


def test_diminutives_become_given_names_but_ambiguous_ones_stay():
    names = given_name_key(pa.array(["Bob", "ROBERT", "Peggy", "Sam", "José", "O'Neil", None]))
    assert names.to_pylist() == ["robert", "robert", "margaret", "sam", "jose", "oneil", None]


def test_street_key_takes_the_staged_street_as_is_but_blank():
    # USPS suffixes are staging's job (dbt unit test streets_are_keyed_the_usps_way).
    streets = street_key(pa.array(["12 main st", " 12 Main St ", "  ", None]))
    assert streets.to_pylist() == ["12 main st", "12 main st", None, None]


@pytest.mark.parametrize(
    ("code", "country", "expected"),
    [
        ("94105-1234", "US", "94105"),  # ZIP+4 is its ZIP
        ("94105", "US", "94105"),
        ("9410", "US", None),  # short of a ZIP
        ("sw1a 1aa", "GB", "SW1A1AA"),  # the whole unit postcode, not its first five characters
        ("EC1A 1BB", "GB", "EC1A1BB"),
        ("10115", "DE", "10115"),
        ("k1a 0b1", "CA", "K1A0B1"),
        ("M5V-3L9", "CA", "M5V3L9"),
        ("2000", "AU", "2000"),  # four digits is a whole Australian postcode
        ("1012 AB", "NL", "1012AB"),
        ("n/a", "GB", None),
        (None, "GB", None),
    ],
)
def test_postcodes_keep_their_whole_code_per_country(code, country, expected):
    assert postal_key(pa.array([code], pa.string()), pa.array([country])).to_pylist() == [expected]


@pytest.mark.parametrize(
    ("country", "phone", "default", "expected"),
    [
        ("GB", None, None, "GB"),
        ("United Kingdom", None, None, "GB"),
        ("uk", None, None, "GB"),
        ("Deutschland", "+1 415 555 0100", None, "DE"),  # the record's own country wins
        (None, "+61 8 8635 5218", None, "AU"),  # else the phone's country code
        (None, "0049 30 1234567", None, "DE"),
        (None, "08 8635 5218", "AU", "AU"),  # a local number: the configured default
        (None, "08 8635 5218", None, "US"),  # nothing configured: US
        ("Narnia", None, "Australia", "AU"),
    ],
)
def test_country_from_record_else_phone_else_default(country, phone, default, expected, monkeypatch):
    if default is None:
        monkeypatch.delenv("LEADLOOP_DEFAULT_COUNTRY", raising=False)
    else:
        monkeypatch.setenv("LEADLOOP_DEFAULT_COUNTRY", default)
    resolved = countries(pa.array([country], pa.string()), pa.array([phone], pa.string()))
    assert resolved.to_pylist() == [expected]


def test_country_codes_and_names():
    assert [country_code(c) for c in ("us", "USA", "Great Britain", "Canada", "", None, "Atlantis")] == [
        "US",
        "US",
        "GB",
        "CA",
        None,
        None,
        None,
    ]


def test_a_local_phone_reads_in_the_records_country_and_agrees_with_its_international_form(monkeypatch):
    # The case: one side of an Australian person wrote the number as dialled at home.
    monkeypatch.setenv("LEADLOOP_DEFAULT_COUNTRY", "AU")
    local = e164("08 8635 5218", countries(pa.array([None], pa.string()), pa.array(["08 8635 5218"]))[0].as_py())
    assert local == e164("+61 8 8635 5218", None) == "+61886355218"
    assert e164("01632 960 001", "GB") == "+441632960001"
    assert e164("(416) 555-0199", "CA") == "+14165550199"
    assert e164("089 1234567", "DE") == "+49891234567"


def test_city_key_folds_case_accents_and_punctuation():
    assert city_key(pa.array(["St. Louis", "MÜNCHEN", "Stoke-on-Trent", " ", None])).to_pylist() == [
        "st louis",
        "munchen",
        "stoke on trent",
        None,
        None,
    ]


def test_company_keys():
    assert company_key(pa.array(["Acme, Inc.", "ACME inc", "Globex GmbH", None])).to_pylist() == [
        "acme",
        "acme",
        "globex",
        None,
    ]
    # Placeholders for a blank company are no company: they would make one firm of strangers.
    assert company_key(pa.array(["[not provided]", "N/A", "Unknown"])).to_pylist() == [None, None, None]
