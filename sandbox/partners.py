"""Direct-mail partner drops: the files four print-and-mail vendors leave for us each day.

Each partner has its own dialect (file type, delimiter, encoding, date order, column names) and
prints the USPS Intelligent Mail barcode its own way, because that is what the ingestion layer
has to survive in real life. A mail piece's fate is a pure function of (seed, partner, mailing
day), so the "delivered" and "callbacks" files for day D can be derived by replaying the
mailings of the days before D — no state is kept between calls, and any day can be regenerated
byte for byte on its own.

Ground truth goes to `truth/partner_records.csv`: one row per written data row, with the
person, the true tracking/routing code and, for deliberately broken rows, the defect.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.imb import encode
from sandbox.intent import engagement_chance
from sandbox.noise import NICKNAMES, STREET_TYPES
from sandbox.truth import merge_day_rows

__all__ = ["PARTNERS", "Partner", "write_partner_drops"]

KINDS = ("mailed", "delivered", "callbacks")
MAX_DELIVERY_LAG = 6  # days between a drop and its delivery scan
MAX_CALLBACK_LAG = 21  # days between delivery and the recipient calling the number on the letter
TRUTH_FILE = "partner_records.csv"
TRUTH_HEADER = [
    "day",
    "partner",
    "kind",
    "file",
    "row_number",
    "person_key",
    "tracking",
    "routing",
    "mailed_on",
    "defect",
]
BAD_DATE_FORMAT = "%d.%m.%Y"  # wrong for every partner, and not accepted by date.fromisoformat


@dataclass(frozen=True)
class Partner:
    """How one vendor writes its files; `columns` maps our canonical names to its headers."""

    name: str
    ext: str
    delimiter: str
    encoding: str
    date_format: str
    datetime_format: str
    barcode: str  # "bars" (65 letters), "digits" (tracking + routing), "split" (tracking + routing columns), "fields"
    mailer_id: str
    service_type: str
    decimal_comma: bool
    columns: dict[str, str]


_BASE_COLUMNS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "street": "street",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
    "loan_amount": "loan_amount",
    "rate": "rate",
    "mailer_version": "mailer_version",
    "mailed_on": "mailed_on",
    "delivered_at": "delivered_at",
    "tracking_number": "tracking_number",
    "caller_phone": "caller_phone",
    "called_at": "called_at",
    "duration_seconds": "duration_seconds",
    "ivr_option": "ivr_option",
}

PARTNERS: dict[str, Partner] = {
    "northmail": Partner(
        "northmail",
        "xlsx",
        ",",
        "utf-8",
        "%Y-%m-%d",
        "%Y-%m-%d %H:%M:%S",
        "bars",
        "123456",
        "040",
        False,
        {**_BASE_COLUMNS, "street": "address1", "postal_code": "zip", "mailed_on": "mail_date", "imb": "imb"},
    ),
    "eastprint": Partner(
        "eastprint",
        "csv",
        ",",
        "utf-8",
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%SZ",
        "split",
        "234567",
        "300",
        False,
        {**_BASE_COLUMNS, "tracking": "imb_tracking", "routing": "imb_routing"},
    ),
    "southpost": Partner(
        "southpost",
        "csv",
        ";",
        "latin-1",
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M",
        "fields",
        "901234567",
        "270",
        True,
        {
            "first_name": "Given Name",
            "last_name": "Surname",
            "street": "Address Line 1",
            "city": "Town",
            "state": "Region",
            "postal_code": "Código Postal",
            "loan_amount": "Loan Amt",
            "rate": "APR %",
            "mailer_version": "Version",
            "mailed_on": "Posting Date",
            "delivered_at": "Delivery Date",
            "tracking_number": "Nº Tracking",
            "caller_phone": "Caller",
            "called_at": "Call Date",
            "duration_seconds": "Duration (s)",
            "ivr_option": "Menu Option",
            "barcode_id": "Barcode ID",
            "service_type": "STID",
            "mailer_id": "MID",
            "serial": "Serial No",
            "routing": "Routing ZIP",
        },
    ),
    "westdirect": Partner(
        "westdirect",
        "tsv",
        "\t",
        "utf-8",
        "%m-%d-%Y",
        "%m-%d-%Y %I:%M %p",
        "digits",
        "345678",
        "040",
        False,
        {
            "first_name": "FIRST NAME",
            "last_name": "LAST NAME",
            "street": "ADDRESS",
            "city": "CITY",
            "state": "ST",
            "postal_code": "ZIP",
            "loan_amount": "LOAN AMOUNT",
            "rate": "RATE",
            "mailer_version": "VERSION",
            "mailed_on": "DROP DATE",
            "delivered_at": "DELIVERED",
            "tracking_number": "TRACKING #",
            "caller_phone": "ANI",
            "called_at": "CALL TIME",
            "duration_seconds": "SECONDS",
            "ivr_option": "IVR KEY",
            "imb_digits": "IMB DIGITS",
        },
    ),
}

_BARCODE_COLUMNS = {
    "bars": ("imb",),
    "split": ("tracking", "routing"),
    "digits": ("imb_digits",),
    "fields": ("barcode_id", "service_type", "mailer_id", "serial", "routing"),
}
_KIND_COLUMNS = {
    "mailed": (
        "first_name",
        "last_name",
        "street",
        "city",
        "state",
        "postal_code",
        "loan_amount",
        "rate",
        "mailer_version",
        "mailed_on",
        "BARCODE",
    ),
    "delivered": ("BARCODE", "delivered_at"),
    "callbacks": ("tracking_number", "caller_phone", "called_at", "duration_seconds", "ivr_option"),
}
_DATE_COLUMN = {"mailed": "mailed_on", "delivered": "delivered_at", "callbacks": "called_at"}
_MISSING_COLUMN = {"mailed": "last_name", "delivered": "BARCODE", "callbacks": "tracking_number"}

STREET_NAMES = ("Maple", "Oak", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset", "Mill")
CITIES = (
    ("Springfield", "IL"),
    ("Austin", "TX"),
    ("San José", "CA"),
    ("Cañon City", "CO"),
    ("Seattle", "WA"),
    ("Boston", "MA"),
    ("Tampa", "FL"),
    ("Raleigh", "NC"),
    ("Albany", "NY"),
    ("Atlanta", "GA"),
)


def xlsx_engine() -> str | None:
    """Only the writers pandas itself can drive; we never hand-roll OOXML."""
    for module in ("openpyxl", "xlsxwriter"):
        if importlib.util.find_spec(module) is not None:
            return module
    return None


def _rng(*parts: object) -> random.Random:
    # String seeds are hashed with SHA-512 by `random`, so they are stable across processes.
    return random.Random(":".join(str(p) for p in parts))


def _address(person: dict[str, Any], seed: int) -> dict[str, str]:
    """People from the CRM often lack a street; mail needs one, so derive a stable one per person."""
    rng = _rng("address", seed, person["person_key"])
    city, state = CITIES[rng.randrange(len(CITIES))]
    street = f"{rng.randint(1, 9899)} {rng.choice(STREET_NAMES)} {rng.choice(tuple(STREET_TYPES))}"
    postal = str(person.get("postal_code") or "")
    if not (len(postal) == 5 and postal.isdigit()):
        postal = f"{rng.randint(1001, 99950):05d}"
    return {
        "street": person.get("street") or street,
        "city": person.get("city") or city,
        "state": person.get("state") or state,
        "postal_code": postal,
        "plus4": f"{rng.randint(1, 9999):04d}",
    }


def _mailable(people: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mortgage mailers go to US addresses only; a missing country is treated as US."""
    return sorted(
        (p for p in people if (p.get("country") or "US") == "US"),
        key=lambda p: p["person_key"],
    )


def _mailing(
    people: list[dict[str, Any]],
    addresses: dict[str, dict[str, str]],
    seed: int,
    partner: Partner,
    day: date,
    since: date | None,
) -> list[dict[str, Any]]:
    """The pieces a partner dropped on `day`, with their future delivery and callback already decided."""
    if since is not None and day < since:
        return []
    rng = _rng("mailing", seed, partner.name, day.isoformat())
    pieces = []
    serial_width = 15 - len(partner.mailer_id)
    day_block = day.toordinal() % (10 ** (serial_width - 4))
    for person in people:
        if rng.random() >= 0.1:
            continue
        address = addresses[person["person_key"]]
        serial = f"{day_block}{len(pieces):04d}".zfill(serial_width)
        tracking = f"00{partner.service_type}{partner.mailer_id}{serial}"
        routing = address["postal_code"] + (address["plus4"] if rng.random() < 0.3 else "")
        delivered = rng.random() < 0.93
        delivery_lag = rng.randint(1, MAX_DELIVERY_LAG)
        # Likelier buyers call the number on the letter more often (sandbox/intent.py).
        calls = delivered and rng.random() < engagement_chance(0.04, 0.7, person.get("propensity"), default=0.12)
        pieces.append(
            {
                "person": person,
                "address": address,
                "tracking": tracking,
                "routing": routing,
                "mailed_on": day,
                "loan_amount": rng.randrange(80_000, 900_000, 1000),
                "rate": round(rng.uniform(5.25, 7.75) * 8) / 8,
                "mailer_version": rng.choice("AB"),
                "delivery_lag": delivery_lag if delivered else None,
                "delivered_at": datetime.combine(day + timedelta(days=delivery_lag), datetime.min.time())
                + timedelta(seconds=rng.randint(8 * 3600, 19 * 3600)),
                "callback_lag": delivery_lag + rng.randint(0, MAX_CALLBACK_LAG - MAX_DELIVERY_LAG) if calls else None,
                "called_at_seconds": rng.randint(8 * 3600, 20 * 3600),
                "other_phone": rng.random() < 0.2,
                "phone_digits": f"{rng.randint(200, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
                "duration": rng.randint(15, 900),
                "ivr_option": rng.choice(("1", "2", "3", "0")),
            }
        )
        if len(pieces) >= 10**4:
            raise ValueError(f"{partner.name}: more than 9999 pieces in one day do not fit the serial scheme")
    return pieces


def _noisy_name(rng: random.Random, first: str, last: str) -> tuple[str, str]:
    if first in NICKNAMES and rng.random() < 0.25:
        first = NICKNAMES[first]
    roll = rng.random()
    if roll < 0.1:
        return first.upper(), last.upper()
    if roll < 0.15:
        return first.lower(), last.lower()
    return first, last


def _noisy_street(rng: random.Random, street: str) -> str:
    for full, short in STREET_TYPES.items():
        if street.endswith(" " + full) and rng.random() < 0.5:
            return street[: -len(full)] + (short + "." if rng.random() < 0.3 else short)
    return street


def _barcode_values(partner: Partner, tracking: str, routing: str) -> dict[str, str]:
    if partner.barcode == "bars":
        return {"imb": encode(tracking, routing)}
    if partner.barcode == "split":
        return {"tracking": tracking, "routing": routing}
    if partner.barcode == "digits":
        return {"imb_digits": f"{tracking}-{routing}" if routing else tracking}
    mailer_len = 9 if tracking[5] == "9" else 6
    return {
        "barcode_id": tracking[:2],
        "service_type": tracking[2:5],
        "mailer_id": tracking[5 : 5 + mailer_len],
        "serial": tracking[5 + mailer_len :],
        "routing": routing,
    }


def _break_barcode(rng: random.Random, partner: Partner, values: dict[str, str]) -> dict[str, str]:
    """Damage that `ingestion.imb.normalize` must reject, never silently misread."""
    values = dict(values)
    if partner.barcode == "bars":
        bars = values["imb"]
        at = rng.randrange(len(bars))
        values["imb"] = bars[:at] + rng.choice([b for b in "FADT" if b != bars[at]]) + bars[at + 1 :]
    elif partner.barcode == "split":
        values["tracking"] = values["tracking"][:-1]
    elif partner.barcode == "digits":
        values["imb_digits"] = values["imb_digits"][1:]
    else:
        values["serial"] = values["serial"][:-1]
    return values


def _format_number(partner: Partner, value: float, places: int) -> str:
    text = f"{value:.{places}f}"
    return text.replace(".", ",") if partner.decimal_comma else text


def _rows(
    partner: Partner, kind: str, pieces: list[tuple[dict[str, Any], datetime | date]], seed: int, day: date, bad: float
) -> tuple[list[str], list[list[str]], list[tuple[dict[str, Any], str]]]:
    """Render one file's header and rows, plus (piece, defect) per row for the truth file."""
    rng = _rng("rows", seed, partner.name, kind, day.isoformat())
    header: list[str] = []
    for column in _KIND_COLUMNS[kind]:
        names = _BARCODE_COLUMNS[partner.barcode] if column == "BARCODE" else (column,)
        header.extend(partner.columns[name] for name in names)
    rows, truth = [], []
    for piece, stamp in pieces:
        person, address = piece["person"], piece["address"]
        first, last = _noisy_name(rng, str(person.get("first_name") or ""), str(person.get("last_name") or ""))
        barcode = _barcode_values(partner, piece["tracking"], piece["routing"])
        stamp_format = partner.date_format if kind == "mailed" else partner.datetime_format
        defect = ""
        if rng.random() < bad:
            defect = rng.choice(("bad_barcode", "missing_field", "bad_date"))
        if defect == "bad_barcode":
            barcode = _break_barcode(rng, partner, barcode)
        if defect == "bad_date":
            stamp_format = BAD_DATE_FORMAT
        phone = "".join(ch for ch in str(person.get("phone") or "") if ch.isdigit())[-10:]
        if piece["other_phone"] or len(phone) != 10:
            phone = piece["phone_digits"]
        values: dict[str, str] = {
            "first_name": first,
            "last_name": last,
            "street": _noisy_street(rng, address["street"]),
            "city": address["city"],
            "state": address["state"],
            "postal_code": address["postal_code"],
            "loan_amount": _format_number(partner, piece["loan_amount"], 2),
            "rate": _format_number(partner, piece["rate"], 3),
            "mailer_version": piece["mailer_version"],
            _DATE_COLUMN[kind]: stamp.strftime(stamp_format),
            "tracking_number": piece["tracking"] if defect != "bad_barcode" else piece["tracking"][:-1],
            "caller_phone": f"({phone[:3]}) {phone[3:6]}-{phone[6:]}" if rng.random() < 0.5 else phone,
            "duration_seconds": str(piece["duration"]),
            "ivr_option": piece["ivr_option"],
            **barcode,
        }
        if defect == "missing_field":
            missing = _MISSING_COLUMN[kind]
            for name in _BARCODE_COLUMNS[partner.barcode] if missing == "BARCODE" else (missing,):
                values[name] = ""
            defect = f"missing_field:{missing.lower()}"
        row = []
        for column in _KIND_COLUMNS[kind]:
            names = _BARCODE_COLUMNS[partner.barcode] if column == "BARCODE" else (column,)
            row.extend(values[name] for name in names)
        rows.append(row)
        truth.append((piece, defect))
    return header, rows, truth


def _write_table(path: Path, partner: Partner, header: list[str], rows: list[list[str]], engine: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if partner.ext == "xlsx" and engine is not None:
        import pandas as pd

        pd.DataFrame(rows, columns=header, dtype=str).to_excel(path, index=False, engine=engine)
        _pin_zip_timestamps(path)
        return path
    if partner.ext == "xlsx":
        path = path.with_suffix(".csv")
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=partner.delimiter, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(partner.encoding))
    return path


def _pin_zip_timestamps(path: Path) -> None:
    """An XLSX is a zip whose entries and document properties carry the wall clock; pin both so
    the same seed gives the same bytes (a re-sent file must be recognisably the same file)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2026-01-01T00:00:00Z", data)
            target.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def _merge_truth(path: Path, day: date, rows: list[list[str]]) -> None:
    merge_day_rows(path, TRUTH_HEADER, day, rows, sort_key=lambda r: (r[0], r[1], r[2], int(r[4])))


def write_partner_drops(
    people: list[dict[str, Any]],
    out_dir: Path,
    seed: int,
    day: date,
    malformed_rate: float = 0.02,
    since: date | None = None,
) -> dict[str, Any]:
    """Write every partner's mailed/delivered/callbacks files for `day`.

    `since` is the first day any partner mailed; without it the world has always been mailing,
    so the first day's delivered and callbacks files already refer to earlier drops (whose
    pieces are still in the truth rows, with their `mailed_on`).
    """
    out_dir = Path(out_dir)
    mailable = _mailable(people)
    addresses = {p["person_key"]: _address(p, seed) for p in mailable}
    engine = xlsx_engine()
    truth_rows: list[list[str]] = []
    summary: dict[str, Any] = {"day": day.isoformat(), "files": [], "rows": 0, "malformed": 0}
    summary["northmail_format"] = "xlsx" if engine else "csv"
    if engine is None:
        summary["notes"] = ["no xlsx writer (openpyxl/xlsxwriter) importable: northmail written as CSV"]
    stamp = day.strftime("%Y%m%d")
    for partner in PARTNERS.values():
        history = {
            lag: _mailing(mailable, addresses, seed, partner, day - timedelta(days=lag), since)
            for lag in range(0, MAX_CALLBACK_LAG + 1)
        }
        batches: dict[str, list[tuple[dict[str, Any], datetime | date]]] = {
            "mailed": [(piece, day) for piece in history[0]],
            "delivered": [
                (piece, piece["delivered_at"])
                for lag in range(1, MAX_DELIVERY_LAG + 1)
                for piece in history[lag]
                if piece["delivery_lag"] == lag
            ],
            "callbacks": [
                (piece, datetime.combine(day, datetime.min.time()) + timedelta(seconds=piece["called_at_seconds"]))
                for lag in range(1, MAX_CALLBACK_LAG + 1)
                for piece in history[lag]
                if piece["callback_lag"] == lag
            ],
        }
        for kind in KINDS:
            batch = sorted(batches[kind], key=lambda item: (item[1], item[0]["tracking"]))
            header, rows, truth = _rows(partner, kind, batch, seed, day, malformed_rate)
            target = out_dir / "partners" / partner.name / f"{partner.name}_{kind}_{stamp}.{partner.ext}"
            written = _write_table(target, partner, header, rows, engine)
            relative = written.relative_to(out_dir).as_posix()
            summary["files"].append(relative)
            summary["rows"] += len(rows)
            for row_number, (piece, defect) in enumerate(truth, start=1):
                summary["malformed"] += bool(defect)
                truth_rows.append(
                    [
                        day.isoformat(),
                        partner.name,
                        kind,
                        relative,
                        str(row_number),
                        piece["person"]["person_key"],
                        piece["tracking"],
                        piece["routing"],
                        piece["mailed_on"].isoformat(),
                        defect,
                    ]
                )
    _merge_truth(out_dir / "truth" / TRUTH_FILE, day, truth_rows)
    return summary
