"""Product DB: deterministic, idempotent per day, advancing across days, every user in truth."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from sandbox.product_db import write_product_db

DAY = date(2026, 11, 2)
TABLES = ("accounts", "users", "usage_events")


def _people(n: int) -> list[dict]:
    return [
        {
            "person_key": f"P{i:08d}",
            "first_name": "Ana",
            "last_name": f"Lee{i}",
            "email": f"Ana.Lee{i}@company{i % 40}.com",
            "company": f"Company {i % 40}",
            "title": "Analyst",
        }
        for i in range(n)
    ]


def _dump(out: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(out / "product.sqlite")
    try:
        return {t: conn.execute(f"select * from {t} order by id").fetchall() for t in TABLES}
    finally:
        conn.close()


def _truth(out: Path) -> list[dict[str, str]]:
    with open(out / "truth" / "product_users.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_rows(tmp_path):
    people = _people(500)
    write_product_db(people, tmp_path / "a", seed=2, day=DAY)
    write_product_db(people, tmp_path / "b", seed=2, day=DAY)
    write_product_db(people, tmp_path / "c", seed=3, day=DAY)
    assert _dump(tmp_path / "a") == _dump(tmp_path / "b")
    assert _dump(tmp_path / "a") != _dump(tmp_path / "c")


def test_about_a_third_of_people_are_users_and_truth_covers_them(tmp_path):
    people = _people(1000)
    summary = write_product_db(people, tmp_path, seed=2, day=DAY)
    truth = _truth(tmp_path)
    rows = _dump(tmp_path)
    assert {str(r[0]) for r in rows["users"]} == {t["user_id"] for t in truth}
    assert len({t["person_key"] for t in truth}) == len(truth) == summary["users"]
    by_key = {p["person_key"]: p for p in people}
    for fact, user in zip(truth, rows["users"], strict=True):
        assert user[2].lower() == by_key[fact["person_key"]]["email"].lower()
        assert str(user[1]) == fact["account_id"]
    # Some of the 30% only sign up later; most already have.
    assert 0.15 < summary["users"] / len(people) < 0.3
    assert summary["usage_events"] > 0 and summary["accounts"] <= 40


def test_rerunning_a_day_changes_nothing(tmp_path):
    people = _people(500)
    write_product_db(people, tmp_path, seed=2, day=DAY)
    before, truth_before = _dump(tmp_path), _truth(tmp_path)
    again = write_product_db(people, tmp_path, seed=2, day=DAY)
    assert again["changed"] is False
    assert _dump(tmp_path) == before and _truth(tmp_path) == truth_before
    assert write_product_db(people, tmp_path, seed=2, day=DAY - timedelta(days=3))["changed"] is False
    assert _dump(tmp_path) == before


def test_later_days_update_and_add_and_jumps_equal_single_steps(tmp_path):
    people = _people(800)
    write_product_db(people, tmp_path / "steps", seed=2, day=DAY)
    before = _dump(tmp_path / "steps")
    for offset in (1, 2, 3):
        write_product_db(people, tmp_path / "steps", seed=2, day=DAY + timedelta(days=offset))
    after = _dump(tmp_path / "steps")
    assert len(after["users"]) > len(before["users"])
    assert len(after["usage_events"]) > len(before["usage_events"])
    old_users = {r[0]: r for r in before["users"]}
    bumped = [r for r in after["users"] if r[0] in old_users and r != old_users[r[0]]]
    assert bumped and all(r[6] > old_users[r[0]][6] for r in bumped)
    assert max(r[4] for r in after["usage_events"]) >= (DAY + timedelta(days=3)).isoformat()
    assert {t["user_id"] for t in _truth(tmp_path / "steps")} == {str(r[0]) for r in after["users"]}

    write_product_db(people, tmp_path / "jump", seed=2, day=DAY)
    write_product_db(people, tmp_path / "jump", seed=2, day=DAY + timedelta(days=3))
    assert _dump(tmp_path / "jump") == after


def test_other_seed_on_existing_file_is_refused(tmp_path):
    write_product_db(_people(50), tmp_path, seed=2, day=DAY)
    with pytest.raises(ValueError, match="seed"):
        write_product_db(_people(50), tmp_path, seed=3, day=DAY + timedelta(days=1))


def test_a_stamp_within_the_day_reads_as_the_clock_would_write_it():
    """The arithmetic path of `_stamp` writes what datetime's formatting writes, every second."""
    from datetime import UTC, datetime, timedelta

    from sandbox.product_db import _stamp

    day = date(2026, 2, 28)
    midnight = datetime(2026, 2, 28, tzinfo=UTC)
    for seconds in (*range(0, 86_400, 7), 86_399, 86_400, 90_061):
        assert _stamp(day, seconds) == (midnight + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
