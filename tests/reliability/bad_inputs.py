"""The malformed inputs of issue 25, made on demand in a generated world's landing folders; the
test (`test_bad_files.py`) and the benchmark (`bench/bad_files.py`) spoil worlds the same way."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path


def spoil_partner_files(partners: Path, oversized_chars: int = 200_000) -> dict[str, str]:
    """Re-encodes two good eastprint files (UTF-16 and UTF-8 with byte-order marks: they must
    still load) and spoils or adds eight bad ones; returns each bad file (its name below
    `partners`) with the start of the reason it must be quarantined with."""
    east = sorted((partners / "eastprint").glob("eastprint_mailed_*.csv"))
    north = sorted((partners / "northmail").glob("northmail_mailed_*.xlsx"))
    east[0].write_bytes(b"\xff\xfe" + east[0].read_text(encoding="utf-8").encode("utf-16-le"))
    east[1].write_bytes(b"\xef\xbb\xbf" + east[1].read_bytes())
    header, rest = east[2].read_bytes().split(b"\n", 1)
    east[2].write_bytes(header + b"\n" + rest.replace(b",", b",Jos\xe9 ", 1))  # a Latin-1 byte in UTF-8
    east[3].write_bytes(east[3].read_text(encoding="utf-8").encode("utf-16-le"))  # no byte-order mark
    north[0].write_bytes(north[0].read_bytes()[: north[0].stat().st_size // 2])
    junk = random.Random(1).randbytes(5000)
    (partners / "northmail" / "northmail_mailed_junk.xlsx").write_bytes(junk)
    (partners / "northmail" / "northmail_mailed_junk_again.xlsx").write_bytes(junk)  # a copy, refused too
    oversized = partners / "eastprint" / "eastprint_mailed_oversized.csv"
    oversized.write_text(header.decode() + "\n" + "x" * oversized_chars + ",rest\n", encoding="utf-8")
    (partners / "southpost" / "southpost_mailed_junk.csv").write_bytes(random.Random(2).randbytes(3000) + b"\x00")
    (partners / "southpost" / "southpost_mailed_notes.csv").write_text("hello;world\nfoo;bar\n", encoding="latin-1")
    return {
        f"eastprint/{east[2].name}": "not utf-8 text",
        f"eastprint/{east[3].name}": "binary content, not CSV text: a NUL byte at offset 1 (UTF-16",
        f"northmail/{north[0].name}": "not a readable XLSX workbook",
        "northmail/northmail_mailed_junk.xlsx": "not a readable XLSX workbook",
        "northmail/northmail_mailed_junk_again.xlsx": "not a readable XLSX workbook",
        "eastprint/eastprint_mailed_oversized.csv": "a field over the 131,072-character limit",
        "southpost/southpost_mailed_junk.csv": "binary content",
        "southpost/southpost_mailed_notes.csv": "not a southpost mailed file",
    }


BAD_EVENTS_DAY = "9999-12-31"
# The event files `add_bad_events` adds that are refused whole, with the start of their reason.
BAD_EVENT_FILES = {
    f"web_events/{BAD_EVENTS_DAY}/utf16-no-bom.jsonl": "UTF-16 text without a byte-order mark",
    f"web_events/{BAD_EVENTS_DAY}/packed.jsonl": "gzip-compressed, not JSON Lines text",
}


def add_bad_events(landing: Path, huge_chars: int = 2_000_000, depth: int = 100_000) -> dict[str, dict[int, str]]:
    """Adds a day of events to `landing`: `mixed.jsonl`, good events between an impossible
    timestamp, a `depth`-deep event, one of `huge_chars` characters and one in Latin-1, and
    `utf16.jsonl`, a good event in UTF-16 with a byte-order mark (it must load), plus the files
    of `BAD_EVENT_FILES` (UTF-16 without a mark, gzip). Returns, per file, each bad line with the
    start of the reason it must be quarantined with."""
    day = landing / "web_events" / BAD_EVENTS_DAY
    day.mkdir(parents=True)

    def event(event_id: str, **fields: object) -> str:
        base = {"schema_version": 2, "event_id": event_id, "event_type": "page_view"}
        return json.dumps({**base, "occurred_at": "2026-01-05T09:00:00Z", **fields})

    lines = [
        event("impossible", occurred_at="2026-13-45T99:00:00Z"),
        event("fine-1"),
        '{"schema_version":2,"event_id":"deep","event_type":"page_view","occurred_at":"2026-01-05T09:00:00Z",'
        '"properties":' + '{"a":' * depth + "1" + "}" * depth + "}",
        event("huge", properties={"x": "y" * huge_chars}),
        event("fine-2"),
    ]
    latin = event("latin-1", email="jos@example.com").replace("jos@", "jos\u00e9@").encode("latin-1")  # not UTF-8
    (day / "mixed.jsonl").write_bytes(("\n".join(lines) + "\n").encode("utf-8") + latin + b"\n")
    (day / "utf16.jsonl").write_bytes(b"\xff\xfe" + (event("fine-utf16") + "\n").encode("utf-16-le"))
    (day / "utf16-no-bom.jsonl").write_bytes((event("no-bom") + "\n").encode("utf-16-le"))
    (day / "packed.jsonl").write_bytes(gzip.compress((event("gzipped") + "\n").encode()))
    return {
        f"web_events/{BAD_EVENTS_DAY}/mixed.jsonl": {
            1: "field occurred_at is not an ISO-8601 timestamp: '2026-13-45T99:00:00Z'",
            3: f"nested {depth + 1:,} levels deep, over the limit of 64",
            4: "event of ",
            6: "not UTF-8 text: byte 0xe9",
        }
    }
