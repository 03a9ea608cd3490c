"""Match keys: the forms under which two records of one person agree."""

import pyarrow as pa
import pytest

from silver.identity.standardize import (
    company_key,
    e164,
    email_key,
    given_name_key,
    postal5,
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


def test_postal_and_company_keys():
    assert postal5(pa.array(["94105-1234", "9410", None])).to_pylist() == ["94105", None, None]
    assert company_key(pa.array(["Acme, Inc.", "ACME inc", "Globex GmbH", None])).to_pylist() == [
        "acme",
        "acme",
        "globex",
        None,
    ]
