"""Ground truth by simulated day: a later day is appended, a rerun replaces its day, and either
way the file reads as if it had been rewritten whole."""

from __future__ import annotations

import csv
from datetime import date

from sandbox.truth import merge_day_rows

HEADER = ["day", "partner", "n"]


def _key(row: list[str]) -> tuple:
    return (row[0], row[1], int(row[2]))


def _rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_days_accumulate_in_order_and_a_rerun_replaces_its_own_day(tmp_path):
    path = tmp_path / "truth.csv"
    first = [["2027-01-01", "acme, inc", "10"], ["2027-01-01", "acme, inc", "9"]]
    second = [["2027-01-02", "zeta", "1"], ["2027-01-02", "beta", "2"]]
    merge_day_rows(path, HEADER, date(2027, 1, 1), first, _key)
    size_after_first = path.stat().st_size
    merge_day_rows(path, HEADER, date(2027, 1, 2), second, _key)  # later: appended
    assert _rows(path) == [HEADER, *sorted(first + second, key=_key)]
    assert path.read_bytes().startswith(path.read_bytes()[:size_after_first])

    rerun = [["2027-01-02", "beta", "3"]]
    merge_day_rows(path, HEADER, date(2027, 1, 2), rerun, _key)  # the same day again: replaced
    assert _rows(path) == [HEADER, *sorted(first + rerun, key=_key)]

    earlier = [["2026-12-31", "omega", "7"]]
    merge_day_rows(path, HEADER, date(2026, 12, 31), earlier, _key)  # an earlier day: sorted in
    assert _rows(path) == [HEADER, *sorted(earlier + first + rerun, key=_key)]


def test_a_header_only_file_gets_its_first_day(tmp_path):
    path = tmp_path / "truth.csv"
    merge_day_rows(path, HEADER, date(2027, 1, 1), [], _key)
    assert _rows(path) == [HEADER]
    merge_day_rows(path, HEADER, date(2027, 1, 2), [["2027-01-02", "a", "1"]], _key)
    assert _rows(path) == [HEADER, ["2027-01-02", "a", "1"]]
