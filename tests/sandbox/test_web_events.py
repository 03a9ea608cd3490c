"""Web events: deterministic, every line in truth, old schema and broken lines present and flagged."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

from sandbox.web_events import EVENT_TYPES, write_web_events

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
