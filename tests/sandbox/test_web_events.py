"""Web events: deterministic, every line in truth, old schema and broken lines present and flagged."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

from sandbox.web_events import EVENT_TYPES, HISTORY_DAYS, HISTORY_SHARE, write_web_events, write_web_history

DAY = date(2026, 11, 2)


def _people(n: int) -> list[dict]:
    return [
        {
            "person_key": f"P{i:08d}",
            "first_name": "Ana",
            "last_name": "Lee",
            "email": f"ana.lee{i}@example.com",
            "company": "Acme",
            "title": "Analyst",
            "propensity": (i % 10) / 10,
            "in_market": i % 10 == 9,
        }
        for i in range(n)
    ]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _truth(out: Path) -> list[dict[str, str]]:
    with open(out / "truth" / "web_events.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_bytes_and_rerun_is_idempotent(tmp_path):
    people = _people(300)
    write_web_events(people, tmp_path / "a", seed=4, day=DAY, lines_per_file=50)
    write_web_events(people, tmp_path / "b", seed=4, day=DAY, lines_per_file=50)
    write_web_events(people, tmp_path / "c", seed=8, day=DAY, lines_per_file=50)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c")
    write_web_events(people, tmp_path / "a", seed=4, day=DAY, lines_per_file=50)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_every_line_in_truth_and_only_flagged_lines_broken(tmp_path):
    rate = 0.1
    summary = write_web_events(_people(600), tmp_path, seed=1, day=DAY, malformed_rate=rate, lines_per_file=200)
    assert len(summary["files"]) > 1
    assert all(f.startswith("landing/web_events/2026-11-02/events-") for f in summary["files"])
    truth = {(row["file"], int(row["line"])): row for row in _truth(tmp_path)}
    lines = broken = old = 0
    types = set()
    ids = set()
    for relative in summary["files"]:
        for number, text in enumerate((tmp_path / relative).read_text().splitlines(), start=1):
            lines += 1
            fact = truth[(relative, number)]
            assert fact["person_key"].startswith("P")
            defect = fact["defect"]
            broken += bool(defect)
            if defect == "truncated_json":
                try:
                    json.loads(text)
                    raise AssertionError("truncated line parsed")
                except json.JSONDecodeError:
                    pass
                continue
            record = json.loads(text)
            if defect.startswith("missing_field:"):
                assert defect.split(":")[1] not in record
                continue
            assert defect == ""
            if record["schema_version"] == 1:
                old += 1
                assert record["id"] == fact["event_id"] and record["type"] == fact["event_type"]
                assert datetime.fromtimestamp(record["ts"], UTC).date() == DAY
            else:
                assert record["schema_version"] == 2
                assert record["event_id"] == fact["event_id"] and record["event_type"] == fact["event_type"]
                assert datetime.fromisoformat(record["occurred_at"]).date() == DAY
                assert record["occurred_at"].endswith("Z")
                assert record["email"] or record["anonymous_id"]
                if record["event_type"] == "consent" and record["properties"]["action"] == "opt_in":
                    assert record["properties"]["consent_text_version"]
            types.add(fact["event_type"])
            ids.add(fact["event_id"])
    assert lines == len(truth) == summary["events"]
    assert broken == summary["malformed"]
    assert 0.5 * rate < broken / lines < 1.5 * rate
    assert 0.02 < old / lines < 0.09
    assert {"page_view", "form_fill", "email_open", "consent"} <= types <= set(EVENT_TYPES)
    assert len(ids) == lines - broken  # event ids never repeat


def test_anonymous_id_stable_across_days(tmp_path):
    people = _people(200)
    write_web_events(people, tmp_path, seed=3, day=DAY)
    write_web_events(people, tmp_path, seed=3, day=date(2026, 11, 3))
    cookies: dict[str, set[str]] = {}
    truth = {(row["file"], int(row["line"])): row for row in _truth(tmp_path)}
    for path in sorted((tmp_path / "landing" / "web_events").rglob("*.jsonl")):
        relative = path.relative_to(tmp_path).as_posix()
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            fact = truth[(relative, number)]
            if fact["defect"] or fact["schema_version"] != "2":
                continue
            record = json.loads(text)
            if record["anonymous_id"]:
                cookies.setdefault(fact["person_key"], set()).add(record["anonymous_id"])
    assert {row["day"] for row in truth.values()} == {"2026-11-02", "2026-11-03"}
    assert cookies and all(len(c) == 1 for c in cookies.values())


def test_history_fills_the_days_before_the_first_day_and_follows_intent(tmp_path):
    """A fresh world's past weeks: one folder a day before the first day, every line in truth,
    people in market visiting more, a person's visits independent of who else is in the world,
    and the whole history about `HISTORY_DAYS × HISTORY_SHARE` live days of volume."""
    from datetime import timedelta

    people = _people(2000)
    summary = write_web_history(people, tmp_path / "a", seed=5, first_day=DAY)
    live = write_web_events(people, tmp_path / "a", seed=5, day=DAY)
    days = {(DAY - timedelta(days=back)).isoformat() for back in range(1, HISTORY_DAYS + 1)}
    truth = _truth(tmp_path / "a")
    assert {row["day"] for row in truth} == days | {DAY.isoformat()}
    assert {f.split("/")[2] for f in summary["files"]} == days
    assert summary["events"] == sum(row["day"] != DAY.isoformat() for row in truth)
    live_days = HISTORY_DAYS * HISTORY_SHARE
    assert 0.7 * live_days * live["events"] < summary["events"] < 1.3 * live_days * live["events"]
    ids = [row["event_id"] for row in truth if not row["defect"]]
    assert len(ids) == len(set(ids))  # no id repeats across the history and the live day

    visits: dict[str, int] = {}
    for row in truth:
        if row["day"] != DAY.isoformat():
            visits[row["person_key"]] = visits.get(row["person_key"], 0) + 1
    # As many people in market as in one tenth of the rest (the tenth with the highest propensity).
    by_intent = [sum(visits.get(p["person_key"], 0) for p in people if p["propensity"] == v / 10) for v in (8, 9)]
    assert by_intent[1] > 5 * by_intent[0]

    def rows_by_person(rows: list[dict[str, str]], keys: set[str]) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for row in sorted(rows, key=lambda r: (r["person_key"], r["day"], r["file"], int(r["line"]))):
            if row["person_key"] in keys and row["day"] != DAY.isoformat():
                found.setdefault(row["person_key"], []).append((row["day"], row["event_type"]))
        return found

    some = people[::7]
    write_web_history(some, tmp_path / "b", seed=5, first_day=DAY)
    keys = {p["person_key"] for p in some}
    alone = rows_by_person(_truth(tmp_path / "b"), keys)
    assert len(alone) > 20 and alone == rows_by_person(truth, keys)
    write_web_history(people, tmp_path / "c", seed=5, first_day=DAY)
    write_web_events(people, tmp_path / "c", seed=5, day=DAY)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "c")
