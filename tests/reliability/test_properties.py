"""Property-based tests of the file parsers: whatever a partner file (CSV or workbook) or an
event line holds, the parser does not crash, every row it reads is either loaded or quarantined
with a reason (read = loaded + quarantined), rows built valid load, and rows built broken are
quarantined.

Examples are few and derandomized in CI (the parsers are fast, but the suite must stay short);
`HYPOTHESIS_PROFILE=deep` runs many more.
"""

from __future__ import annotations

import csv
import io
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.partner_files.config import load_partner_configs
from ingestion.partner_files.parse import parse_batch
from ingestion.web_events import EVENT_TYPES, parse_files

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("deep", max_examples=2_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

EASTPRINT = next(c for c in load_partner_configs() if c.partner == "eastprint")
MAILED_FIELDS = (
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
)
CANONICAL = ["imb_tracking", "imb_routing", *MAILED_FIELDS]  # eastprint's barcode columns, then its fields
MAILED_HEADER = [*EASTPRINT.barcode, *(EASTPRINT.header(f) for f in MAILED_FIELDS)]

# Free text as partners send it: any printable character, commas, quotes and line breaks included.
free_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(',;"\n\r\t '), max_size=30)
tracking = st.builds(
    lambda first, second, rest: f"{first}{second}{rest}",
    st.integers(0, 9),
    st.integers(0, 4),
    st.text("0123456789", min_size=18, max_size=18),
)
routing = st.sampled_from(["", "12345", "123456789", "12345678901"])
mailed_on = st.dates().map(lambda d: d.strftime("%Y-%m-%d"))
amount = st.floats(0, 1e7, allow_nan=False).map(lambda x: f"{x:.2f}")
# What makes a row certainly broken, with the start of the reason it must get.
BREAKS = {
    "imb_tracking": ("x" + "1" * 19, "undecodable barcode"),
    "last_name": ("", "missing required field last_name"),
    "mailed_on": ("31/31/2020", "unparseable date in mailed_on"),
    "loan_amount": ("twelve", "unparseable number in loan_amount"),
}


@st.composite
def mailed_row(draw: st.DrawFn) -> tuple[list[str], str | None]:
    """A mailed row in eastprint's columns, valid or with one certain break (and its field)."""
    values = {
        "imb_tracking": draw(tracking),
        "imb_routing": draw(routing),
        "first_name": draw(free_text),
        "last_name": draw(free_text.filter(lambda t: t.strip() != "") | st.just("Doe")),
        "street": draw(free_text),
        "city": draw(free_text),
        "state": draw(st.sampled_from(["", "CA", "NY", "ZZ"])),
        "postal_code": draw(st.text("0123456789-", max_size=10)),
        "loan_amount": draw(amount | st.just("")),
        "rate": draw(st.floats(0, 20, allow_nan=False).map(lambda x: f"{x:.3f}") | st.just("")),
        "mailer_version": draw(free_text),
        "mailed_on": draw(mailed_on),
    }
    broken = draw(st.none() | st.sampled_from(sorted(BREAKS)))
    if broken:
        values[broken] = BREAKS[broken][0]
    return [values[name] for name in CANONICAL], broken


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MAILED_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@given(st.lists(mailed_row(), max_size=25))
def test_partner_rows_are_loaded_or_quarantined_with_a_reason(rows: list[tuple[list[str], str | None]]) -> None:
    parsed = parse_batch(
        [("eastprint/eastprint_mailed_x.csv", _csv([cells for cells, _ in rows]))], EASTPRINT, "mailed"
    )
    assert not parsed.unreadable
    assert parsed.rows_per_file == [len(rows)]
    assert parsed.table.num_rows + len(parsed.rejected) == len(rows)  # read = loaded + quarantined
    reasons = {r.row_number: r.reason for r in parsed.rejected}
    assert len(reasons) == len(parsed.rejected) and all(reasons.values())
    assert set(reasons).isdisjoint(parsed.table["row_number"].to_pylist())
    for number, (_, broken) in enumerate(rows, start=1):
        if broken is None:
            assert number not in reasons, reasons.get(number)
        else:
            assert reasons[number].startswith(BREAKS[broken][1]), (broken, reasons[number])


@given(st.binary(max_size=400), st.sampled_from(["mailed", "delivered", "callbacks"]))
def test_any_bytes_as_a_partner_file_never_crash_the_parser(content: bytes, kind: str) -> None:
    parsed = parse_batch([("eastprint/junk.csv", content)], EASTPRINT, kind)
    if parsed.unreadable:
        assert parsed.rows_per_file == [0] and parsed.table.num_rows == 0 and not parsed.rejected
        assert all(parsed.unreadable.values())
    else:
        assert parsed.table.num_rows + len(parsed.rejected) == parsed.rows_per_file[0]
        assert all(r.reason for r in parsed.rejected)


NORTHMAIL = next(c for c in load_partner_configs() if c.partner == "northmail")


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append([*NORTHMAIL.barcode, *(NORTHMAIL.header(f) for f in MAILED_FIELDS)])
    for number, cells in enumerate(rows, start=2):
        for column, text in enumerate(cells, start=1):
            if text != "":
                cell = sheet.cell(number, column, text)
                cell.data_type = "s"  # text as typed: openpyxl would store "=0" as a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def northmail_row(draw: st.DrawFn) -> tuple[list[str], str | None]:
    """A mailed row in northmail's workbook (the barcode as its 65 bar states), valid or with
    one certain break."""
    from ingestion.imb import encode

    cells, broken = draw(mailed_row())
    values = dict(zip(CANONICAL, cells, strict=True))
    tracking, routing = values.pop("imb_tracking"), values.pop("imb_routing")
    bars = "Q" + "F" * 64 if broken == "imb_tracking" else encode(tracking, routing)  # Q: not a bar state
    return [bars, *(values[f] for f in MAILED_FIELDS)], broken


@settings(max_examples=settings.default.max_examples // 3)  # a workbook per example: some 20 ms to write
@given(st.lists(northmail_row(), max_size=15))
def test_workbook_rows_are_loaded_or_quarantined_with_a_reason(rows: list[tuple[list[str], str | None]]) -> None:
    parsed = parse_batch([("northmail/northmail_mailed_x.xlsx", _xlsx([c for c, _ in rows]))], NORTHMAIL, "mailed")
    assert not parsed.unreadable
    assert parsed.table.num_rows + len(parsed.rejected) == parsed.rows_per_file[0] == len(rows)
    reasons = {r.row_number: r.reason for r in parsed.rejected}
    assert all(reasons.values()) and set(reasons).isdisjoint(parsed.table["row_number"].to_pylist())
    for number, (_, broken) in enumerate(rows, start=1):
        if broken is None:
            assert number not in reasons, reasons.get(number)
        else:
            assert reasons[number].startswith(BREAKS[broken][1]), (broken, reasons[number])


stamp = st.datetimes().map(lambda d: d.isoformat(timespec="seconds") + "Z")  # years 1-9999, four digits
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
EVENT_BREAKS = {
    "no_id": "missing required field event_id",
    "bad_type": "unknown event_type",
    "month_13": "field occurred_at is not an ISO-8601 timestamp",
    "properties_list": "field properties is not an object",
    "email_number": "field email is not a string",
    "version_9": "unknown schema_version 9",
}


@st.composite
def event_line(draw: st.DrawFn) -> tuple[str, str | None]:
    """A JSON line: a valid version-2 event, one with a certain break (named), or any text."""
    kind = draw(st.sampled_from(["valid", "broken", "junk"]))
    if kind == "junk":
        return draw(st.text(max_size=40).filter(lambda t: "\n" not in t)), "junk"
    event = {
        "schema_version": 2,
        "event_id": draw(st.text(min_size=1, max_size=12)),
        "event_type": draw(st.sampled_from(sorted(EVENT_TYPES))),
        "occurred_at": draw(stamp),
        "email": draw(st.none() | st.emails()),
        "properties": draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
    }
    broken = draw(st.sampled_from(sorted(EVENT_BREAKS))) if kind == "broken" else None
    if broken == "no_id":
        del event["event_id"]
    elif broken == "bad_type":
        event["event_type"] = "teleport"
    elif broken == "month_13":
        event["occurred_at"] = "2026-13-45T99:00:00Z"
    elif broken == "properties_list":
        event["properties"] = [1, 2]
    elif broken == "email_number":
        event["email"] = 42
    elif broken == "version_9":
        event["schema_version"] = 9
    return json.dumps(event, ensure_ascii=draw(st.booleans())), broken


@given(st.lists(event_line(), max_size=25))
def test_event_lines_are_loaded_or_quarantined_with_a_reason(lines: list[tuple[str, str | None]]) -> None:
    content = "\n".join(text for text, _ in lines).encode("utf-8")
    table, rejected = parse_files([("web_events/d/x.jsonl", content)])
    loaded = table["line_number"].to_pylist()
    reasons = {r.row_number: r.reason for r in rejected}
    assert len(set(loaded)) == len(loaded) and len(reasons) == len(rejected) and all(reasons.values())
    assert set(loaded).isdisjoint(reasons)
    read = [n for n, (text, _) in enumerate(lines, start=1) if text.strip()]  # a blank line is no event
    assert sorted([*loaded, *reasons]) == read  # read = loaded + quarantined, line by line
    for number, (_, broken) in enumerate(lines, start=1):
        if broken is None:
            assert number in loaded, reasons.get(number)
        elif broken != "junk":
            assert reasons[number].startswith(EVENT_BREAKS[broken]), (broken, reasons[number])


@given(st.binary(max_size=400))
def test_any_bytes_as_an_event_file_never_crash_the_parser(content: bytes) -> None:
    table, rejected = parse_files([("web_events/d/junk.jsonl", content)])
    assert table.num_rows + len(rejected) <= content.count(b"\n") + 1
    assert all(r.reason for r in rejected)
