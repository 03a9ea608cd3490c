"""Match keys for each record: the forms under which two records of one person agree.

- A record's country is an ISO 3166 alpha-2 code: the record's own (a code or a common name),
  else the country code of a phone written internationally, else `LEADLOOP_DEFAULT_COUNTRY`
  (US when unset): a British CRM export without a country column is read as British, not American.
- Phones become E.164 with `phonenumbers`, read in that country; a bare digit string too long
  for a national number is read as international. Each distinct (phone, country) is parsed once.
- Postcodes keep their whole code, upper-cased without spaces or punctuation ("sw1a 1aa" is
  "SW1A1AA", "K1A 0B1" is "K1A0B1"), since outside the US the letters are the address; a US
  ZIP+4 becomes its five-digit ZIP, and a US code with fewer than five digits is no key.
- Emails lose case, padding and plus-address tags (`jane+news@x.com` is `jane@x.com`).
- Names lose case, accents and punctuation; a common English diminutive becomes its given name
  ("Bob" is "robert"), so a nickname agrees exactly. A diminutive shared by two given names
  ("Sam") is left alone: guessing would merge a Samuel with a Samantha.
- Streets arrive normalized by staging (USPS suffixes: "Avenue" and "Ave." are "ave").
"""

import os
import re
import unicodedata
from collections.abc import Callable

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_REGION = "US"
DEFAULT_COUNTRY_SETTING = "LEADLOOP_DEFAULT_COUNTRY"
# Country names and codes as exports write them → ISO 3166 alpha-2 (two-letter codes pass as they are).
COUNTRY_NAMES = {
    "usa": "US", "unitedstates": "US", "unitedstatesofamerica": "US", "america": "US",
    "uk": "GB", "unitedkingdom": "GB", "greatbritain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northernireland": "GB", "britain": "GB",
    "germany": "DE", "deutschland": "DE", "canada": "CA", "australia": "AU", "france": "FR",
    "netherlands": "NL", "thenetherlands": "NL", "holland": "NL", "ireland": "IE", "spain": "ES",
    "italy": "IT", "newzealand": "NZ", "austria": "AT", "switzerland": "CH", "belgium": "BE",
    "india": "IN", "mexico": "MX", "brazil": "BR", "japan": "JP", "sweden": "SE", "norway": "NO",
    "denmark": "DK", "poland": "PL",
}  # fmt: skip
# What erasure writes over a personal value (see erasure.py): not null, since a staging test may
# require the column and a reader should see something was there, yet nothing anyone could hold.
ERASED = "[erased]"

# diminutive → given name (matched after `name_key`), unambiguous ones only
NICKNAMES = {
    "abby": "abigail", "al": "albert", "andy": "andrew", "barb": "barbara", "babs": "barbara",
    "ben": "benjamin", "beth": "elizabeth", "betsy": "elizabeth", "bill": "william", "billy": "william",
    "bob": "robert", "bobby": "robert", "charlie": "charles", "chuck": "charles", "dan": "daniel",
    "danny": "daniel", "dave": "david", "davy": "david", "debbie": "deborah", "dick": "richard",
    "ed": "edward", "eddie": "edward", "fred": "frederick", "greg": "gregory", "jack": "john",
    "jamie": "james", "jen": "jennifer", "jenny": "jennifer", "jess": "jessica", "jim": "james",
    "jimmy": "james", "joe": "joseph", "joey": "joseph", "johnny": "john", "josh": "joshua",
    "ken": "kenneth", "kenny": "kenneth", "larry": "lawrence", "liz": "elizabeth", "lizzie": "elizabeth",
    "maggie": "margaret", "matt": "matthew", "meg": "margaret", "mike": "michael", "mikey": "michael",
    "molly": "mary", "nick": "nicholas", "pat": "patricia", "patty": "patricia", "peggy": "margaret",
    "pete": "peter", "phil": "philip", "rich": "richard", "rick": "richard", "ricky": "richard",
    "rob": "robert", "robbie": "robert", "ron": "ronald", "sandy": "sandra", "steve": "steven",
    "sue": "susan", "susie": "susan", "tom": "thomas", "tommy": "thomas", "tony": "anthony",
    "trish": "patricia", "vicky": "victoria", "walt": "walter", "will": "william",
}  # fmt: skip


def default_country() -> str:
    """The country of a record that names none and has no international phone number:
    `LEADLOOP_DEFAULT_COUNTRY` (an alpha-2 code or a country name), else US."""
    return country_code(os.environ.get(DEFAULT_COUNTRY_SETTING)) or DEFAULT_REGION


def country_code(country: str | None) -> str | None:
    """`country` as an ISO 3166 alpha-2 code ("United Kingdom", "uk", "GB" are "GB"), or None
    when it names no country we know."""
    if not country:
        return None
    letters = _ascii_letters(country)
    if len(letters) == 2:
        return "GB" if letters == "uk" else letters.upper()
    return COUNTRY_NAMES.get(letters)


def phone_country(phone: str | None) -> str | None:
    """The country of a phone written internationally (`+44 20 …`, `0044 20 …`), else None:
    a number dialled at home says nothing about where home is."""
    if not phone:
        return None
    text = phone.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def countries(record_countries: pa.Array, phones: pa.Array) -> pa.Array:
    """Each record's country: its own, else its phone's, else the configured default. Each
    distinct country and each distinct phone of a record without one is read once."""
    own = map_distinct(record_countries, country_code)
    missing = pc.is_null(own)
    if not pc.any(missing).as_py():
        return own
    from_phone = map_distinct(pc.if_else(missing, phones, pa.scalar(None, pa.string())), phone_country)
    return pc.coalesce(own, from_phone, pa.scalar(default_country(), pa.string()))


def map_distinct(values: pa.Array | pa.ChunkedArray, function: Callable[[str], str | None]) -> pa.Array:
    """`function` over every non-null value of `values`, called once per distinct value (a 1M-row
    column of names holds some thousands): no whole-column Python list, and a fraction of the calls.
    A null stays null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary
    # In slices: a column of phones or emails is nearly all distinct values.
    mapped = [
        pa.array([function(value) for value in distinct.slice(start, SLICE).to_pylist()], pa.string())
        for start in range(0, len(distinct), SLICE)
    ]
    return pa.concat_arrays([pa.array([], pa.string()), *mapped]).take(encoded.indices)


SLICE = 100_000  # distinct values made Python objects at a time


def e164(phone: str | None, country: str | None) -> str | None:
    """`phone` as E.164 (`+14155550100`), or None when it cannot be a phone number."""
    if not phone:
        return None
    region = country_code(country) or default_country()
    candidates = [phone]
    digits = re.sub(r"\D", "", phone)
    if not phone.lstrip().startswith("+") and len(digits) > 10:
        candidates.append("+" + digits)  # typed without its "+": country code first
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def phones_e164(phones: pa.Array, countries: pa.Array) -> pa.Array:
    """`e164` over two columns, parsing each distinct pair once (`countries` holds no null)."""
    pairs = pc.binary_join_element_wise(phones, countries, _PAIR)
    return map_distinct(pairs, lambda pair: e164(*pair.rsplit(_PAIR, 1)))


# Joins a phone and its country into one value to encode (a control character no export writes).
_PAIR = "\x1f"


def email_key(emails: pa.Array) -> pa.Array:
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(emails))
    keyed = pc.replace_substring_regex(lowered, pattern=r"\+[^@]*@", replacement="@")
    valid = pc.match_substring_regex(keyed, pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
    return pc.if_else(valid, keyed, pa.scalar(None, pa.string()))


def name_key(names: pa.Array) -> pa.Array:
    """Lower-case ASCII letters only: "O'Brien " and "obrien" agree."""
    return map_distinct(names, lambda name: _ascii_letters(name) or None)


def given_name_key(names: pa.Array) -> pa.Array:
    """`name_key`, with a known diminutive replaced by its given name."""
    return map_distinct(names, _given_name)


def _given_name(name: str) -> str | None:
    key = _ascii_letters(name)
    return NICKNAMES.get(key, key) if key else None


def _ascii_letters(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", folded)


def street_key(streets: pa.Array) -> pa.Array:
    """The street line as staging normalized it (macro `normalized_street`: case, spacing, USPS
    suffixes), trimmed once more so a blank is null."""
    trimmed = pc.utf8_lower(pc.utf8_trim_whitespace(streets))
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def postal_key(codes: pa.Array, record_countries: pa.Array) -> pa.Array:
    """Postcodes per country (`record_countries` as `countries` resolved them): the whole code,
    upper case, letters and digits only; a US ZIP+4 is its ZIP, a US code short of five digits
    (or a code with no digit at all) no key."""
    compact = pc.utf8_upper(pc.replace_substring_regex(codes, pattern=r"[^0-9A-Za-z]", replacement=""))
    digits = pc.utf8_slice_codeunits(pc.replace_substring_regex(codes, pattern=r"\D", replacement=""), 0, 5)
    us = pc.if_else(pc.equal(pc.utf8_length(digits), 5), digits, pa.scalar(None, pa.string()))
    other = pc.if_else(pc.match_substring_regex(compact, pattern=r"[0-9]"), compact, pa.scalar(None, pa.string()))
    return pc.if_else(pc.equal(record_countries, "US"), us, other)


def city_key(cities: pa.Array) -> pa.Array:
    """City names as `name_key` keeps names, spaces kept as one: "St. Louis" is "st louis"."""
    return map_distinct(cities, _city_key)


def _city_key(city: str) -> str | None:
    if not city:
        return None
    folded = unicodedata.normalize("NFKD", city).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z ]", "", folded.replace("-", " ")).split()) or None


# What forms write when nobody gave a company (Salesforce's web-to-lead fills "[not provided]"):
# no key, or every such record would share one company.
NO_COMPANY = {"not provided", "n a", "na", "none", "unknown", "self", "self employed", "private", "individual"}


def company_key(companies: pa.Array) -> pa.Array:
    """Company names without case, punctuation or a legal-form suffix ("Acme, Inc." is "acme");
    a placeholder ("[not provided]", "N/A") is no company."""
    return map_distinct(companies, _company_key)


def _company_key(name: str) -> str | None:
    if not name:
        return None
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    folded = re.sub(r"[^a-z0-9 ]", " ", folded)
    folded = re.sub(r"\b(inc|llc|ltd|corp|corporation|co|gmbh|plc|sa|ag)\b", " ", folded)
    key = " ".join(folded.split())
    return None if not key or key in NO_COMPANY else key


def standardize(records: pa.Table) -> pa.Table:
    """`records` plus the match keys `country_key`, `email_key`, `phone_e164`, `first_name_key`,
    `last_name_key`, `street_key`, `city_key`, `postal_key` and `company_key`. An erased value
    matches nothing."""
    records = blank_erased(records)
    for name, values in match_keys(records).items():
        records = records.append_column(name, values)
    return records


def blank_erased(records: pa.Table) -> pa.Table:
    """`records` with every erased personal value made null, so it matches nothing."""
    for name in ("first_name", "last_name", "email", "phone", "street"):
        column = records[name]
        if not pc.any(pc.equal(column, ERASED)).as_py():
            continue  # nothing erased: no copy of the column
        records = records.set_column(
            records.schema.get_field_index(name), name, pc.if_else(pc.equal(column, ERASED), None, column)
        )
    return records


# The match keys `match_keys` makes, in the order it makes them.
KEY_COLUMNS = (
    "country_key",
    "email_key",
    "phone_e164",
    "first_name_key",
    "last_name_key",
    "street_key",
    "city_key",
    "postal_key",
    "company_key",
)


def match_keys(records: pa.Table) -> dict[str, pa.Array]:
    """The match keys of `records` (erased values already blanked), by column name."""
    country = countries(records["country"].combine_chunks(), records["phone"].combine_chunks())
    return {
        "country_key": country,
        "email_key": email_key(records["email"].combine_chunks()),
        "phone_e164": phones_e164(records["phone"].combine_chunks(), country),
        "first_name_key": given_name_key(records["first_name"].combine_chunks()),
        "last_name_key": name_key(records["last_name"].combine_chunks()),
        "street_key": street_key(records["street"].combine_chunks()),
        "city_key": city_key(records["city"].combine_chunks()),
        "postal_key": postal_key(records["postal_code"].combine_chunks(), country),
        "company_key": company_key(records["company"].combine_chunks()),
    }
