"""The ways one person's details drift between systems, as small pure functions.

Identity resolution is measured against this noise, so each kind is named and deterministic
for its inputs (a draw `u` in [0, 1) supplied by the caller's seeded stream): the same seed
always produces the same typo in the same place.
"""

from __future__ import annotations

NICKNAMES = {
    "Robert": "Bob",
    "William": "Bill",
    "Richard": "Dick",
    "James": "Jim",
    "John": "Jack",
    "Michael": "Mike",
    "Elizabeth": "Liz",
    "Patricia": "Pat",
    "Jennifer": "Jen",
    "Joseph": "Joe",
    "Thomas": "Tom",
    "Charles": "Chuck",
    "Daniel": "Dan",
    "Matthew": "Matt",
    "Anthony": "Tony",
    "Susan": "Sue",
    "Barbara": "Barb",
    "Margaret": "Peggy",
}
STREET_TYPES = {"Street": "St", "Avenue": "Ave", "Boulevard": "Blvd", "Road": "Rd", "Drive": "Dr", "Lane": "Ln"}
FREE_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de")
ALIAS_TAGS = ("news", "crm", "demo", "work", "2026")
_KEYBOARD_NEIGHBOURS = {
    "a": "s",
    "e": "r",
    "i": "o",
    "o": "p",
    "n": "m",
    "r": "t",
    "s": "a",
    "t": "y",
    "l": "k",
    "m": "n",
    "u": "i",
    "h": "j",
    "c": "v",
    "d": "f",
}


def nickname(first: str) -> str:
    return NICKNAMES.get(first, first)


def typo(text: str, u: float) -> str:
    """One keyboard slip (neighbouring key, doubled or dropped letter) away from `text`.

    The first letter is never touched: people notice a wrong initial, and so do blocking rules.
    """
    if len(text) < 4:
        return text
    position = 1 + int(u * (len(text) - 1)) % (len(text) - 1)
    kind = int(u * 1000) % 3
    ch = text[position]
    if kind == 0 and ch.lower() in _KEYBOARD_NEIGHBOURS:
        swapped = _KEYBOARD_NEIGHBOURS[ch.lower()]
        return text[:position] + (swapped.upper() if ch.isupper() else swapped) + text[position + 1 :]
    if kind == 1:
        return text[:position] + ch + text[position:]
    return text[:position] + text[position + 1 :]


def email_alias(email: str, u: float) -> str:
    """Plus-addressing: `jane.doe+news@acme.com` reaches the same inbox as `jane.doe@acme.com`."""
    local, _, domain = email.partition("@")
    return f"{local}+{ALIAS_TAGS[int(u * len(ALIAS_TAGS)) % len(ALIAS_TAGS)]}@{domain}"


def personal_email(first: str, last: str, person: int, u: float) -> str:
    """A free-mail address: shares no key with the work address, only the name.

    A mailbox has one owner, so the address carries a number unique to the person, as
    providers make people pick once the plain name is taken: two Mary Williamses never share one.
    """
    domain = FREE_MAIL_DOMAINS[int(u * len(FREE_MAIL_DOMAINS)) % len(FREE_MAIL_DOMAINS)]
    style = int(u * 997) % 3
    tag = _base36(person)
    local = (
        f"{first}.{last}.{tag}"
        if style == 0
        else f"{first[0]}{last}{tag}"
        if style == 1
        else f"{last}.{first}{1960 + person % 45}{tag}"
    )
    return f"{local.lower()}@{domain}"


def abbreviate_street(street: str) -> str:
    """`12 Oak Street` → `12 Oak St`: what a form with a short field or a mail house writes."""
    head, _, kind = street.rpartition(" ")
    return f"{head} {STREET_TYPES[kind]}" if kind in STREET_TYPES else street


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def bare_phone(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())
