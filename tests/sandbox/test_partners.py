"""Partner drops: deterministic, dialects really differ, every row in truth, and only flagged rows broken."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest

from ingestion.imb import IMbError, normalize
from sandbox.partners import _BARCODE_COLUMNS, _DATE_COLUMN, _KIND_COLUMNS, PARTNERS, write_partner_drops

DAY = date(2026, 11, 2)


def _people(n: int) -> list[dict]:
    firsts = ("Robert", "Mary", "William", "Priya", "Thomas")
    return [
        {
            "person_key": f"P{i:08d}",
            "first_name": firsts[i % len(firsts)],
            "last_name": "Garcia" if i % 2 else "Nguyen",
            "email": f"p{i}@example.com",
            "phone": "+1 (415) 555-0100" if i % 3 else None,
            "company": "Acme",
            "title": "Analyst",
            "street": None,
            "city": None,
            "state": None,
            "postal_code": f"{10000 + i:05d}" if i % 4 else None,
            "country": "US" if i % 10 else "GB",
        }
        for i in range(n)
    ]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read(out: Path, relative: str) -> tuple[str, list[dict[str, str]]]:
    partner = PARTNERS[relative.split("/")[1]]
    path = out / relative
    if path.suffix == ".xlsx":
        import pandas as pd

        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        return partner.name, frame.to_dict("records")
    text = path.read_bytes().decode(partner.encoding)
    return partner.name, list(csv.DictReader(io.StringIO(text), delimiter=partner.delimiter))


def _truth(out: Path) -> list[dict[str, str]]:
    with open(out / "truth" / "partner_records.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    people = _people(150)
    write_partner_drops(people, tmp_path / "a", seed=5, day=DAY)
    write_partner_drops(people, tmp_path / "b", seed=5, day=DAY)
    write_partner_drops(people, tmp_path / "c", seed=6, day=DAY)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c")


def test_rerunning_a_day_is_idempotent_and_days_accumulate_in_truth(tmp_path):
    people = _people(150)
    write_partner_drops(people, tmp_path, seed=5, day=DAY)
    first = _tree(tmp_path)
    write_partner_drops(people, tmp_path, seed=5, day=DAY)
    assert _tree(tmp_path) == first
    write_partner_drops(people, tmp_path, seed=5, day=date(2026, 11, 3))
    assert {row["day"] for row in _truth(tmp_path)} == {"2026-11-02", "2026-11-03"}


def test_dialects_really_differ(tmp_path):
    summary = write_partner_drops(_people(150), tmp_path, seed=5, day=DAY)
    mailed = {f.split("/")[1]: tmp_path / f for f in summary["files"] if "_mailed_" in f}
    assert set(mailed) == {"northmail", "eastprint", "southpost", "westdirect"}
    south = mailed["southpost"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        south.decode("utf-8")
    assert "Código Postal".encode("latin-1") in south and south.split(b"\r\n")[0].count(b";") >= 10
    assert mailed["westdirect"].read_bytes().split(b"\r\n")[0].count(b"\t") >= 10
    assert mailed["eastprint"].read_bytes().split(b"\r\n")[0].count(b",") >= 10
    headers = {
        name: _read(tmp_path, path.relative_to(tmp_path).as_posix())[1][0].keys() for name, path in mailed.items()
    }
    assert len({tuple(h) for h in headers.values()}) == 4
    # One date, four spellings.
    dates = {}
    for name, path in mailed.items():
        _, rows = _read(tmp_path, path.relative_to(tmp_path).as_posix())
        dates[name] = rows[0][PARTNERS[name].columns["mailed_on"]]
    assert dates["eastprint"] == "2026-11-02"
    assert dates["southpost"] == "02/11/2026"
    assert dates["westdirect"] == "11-02-2026"
    assert summary["northmail_format"] == "xlsx"  # openpyxl is a dependency


def test_truth_covers_every_row_and_only_flagged_rows_are_broken(tmp_path):
    rate = 0.2
    summary = write_partner_drops(_people(300), tmp_path, seed=9, day=DAY, malformed_rate=rate)
    truth = {(row["file"], int(row["row_number"])): row for row in _truth(tmp_path)}
    seen = 0
    broken = 0
    for relative in summary["files"]:
        name, rows = _read(tmp_path, relative)
        partner = PARTNERS[name]
        kind = relative.split("_")[-2]
        assert rows, relative
        for number, row in enumerate(rows, start=1):
            seen += 1
            fact = truth[(relative, number)]
            assert fact["kind"] == kind and fact["person_key"].startswith("P")
            defect = fact["defect"]
            broken += bool(defect)
            if "BARCODE" in _KIND_COLUMNS[kind]:
                text = "-".join(row[partner.columns[c]] for c in _BARCODE_COLUMNS[partner.barcode])
            else:
                text = row[partner.columns["tracking_number"]]
            stamp = row[partner.columns[_DATE_COLUMN[kind]]]
            stamp_format = partner.date_format if kind == "mailed" else partner.datetime_format
            if defect == "bad_barcode":
                with pytest.raises(IMbError):
                    normalize(text)
            elif defect.startswith("missing_field:"):
                column = defect.split(":")[1]
                names = _BARCODE_COLUMNS[partner.barcode] if column == "barcode" else (column,)
                assert all(row[partner.columns[c]] == "" for c in names)
            elif defect == "bad_date":
                with pytest.raises(ValueError):
                    datetime.strptime(stamp, stamp_format)
            else:
                assert defect == ""
                imb = normalize(text)
                assert imb.tracking == fact["tracking"]
                if kind != "callbacks":
                    assert imb.routing == fact["routing"]
                datetime.strptime(stamp, stamp_format)
    assert seen == len(truth) == summary["rows"]
    assert broken == summary["malformed"]
    assert 0.5 * rate < broken / seen < 1.5 * rate


def test_default_malformed_rate_is_small_and_names_are_noisy(tmp_path):
    summary = write_partner_drops(_people(400), tmp_path, seed=2, day=DAY)
    assert summary["malformed"] / summary["rows"] < 0.06
    firsts = set()
    for relative in summary["files"]:
        if "_mailed_" in relative:
            name, rows = _read(tmp_path, relative)
            firsts |= {row[PARTNERS[name].columns["first_name"]] for row in rows}
    assert "Bob" in firsts or "Bill" in firsts
    assert any(f.isupper() for f in firsts)
