"""Web and marketing events as an event collector would land them: JSON Lines, one folder a day.

The mix is what makes identity resolution hard: page views carry only an anonymous cookie id
until a form fill ties that cookie to an email, email opens/clicks carry only the email, and a
tail of old-tracker traffic still arrives in schema version 1 with different field names. A few
lines are broken the way collectors break them (cut off mid-write, a required field missing).

A fresh world also gets `HISTORY_DAYS` of past days (`write_web_history`), as the product
database gets its usage history: the engagement rules look back 14 to 90 days, and a world with one
day of events would show a buyer's interest only if they happened to visit on that day.

Ground truth goes to `truth/web_events.csv`: every line written, with its person and defect.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.intent import visit_chance
from sandbox.truth import merge_day_rows

__all__ = ["CONSENT_TEXT_VERSIONS", "EVENT_TYPES", "HISTORY_DAYS", "write_web_events", "write_web_history"]

EVENT_TYPES = (
    "page_view",
    "form_fill",
    "demo_request",
    "email_open",
    "email_click",
    "webinar_attended",
    "chat_started",
    "consent",
)
CONSENT_TEXT_VERSIONS = ("2025-09", "2026-03")
PAGES = ("/", "/pricing", "/product", "/blog/lead-scoring", "/customers", "/docs", "/rates/30-year-fixed")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
V1_SHARE = 0.05
REQUIRED_V2 = ("event_id", "event_type", "occurred_at")
TRUTH_FILE = "web_events.csv"
TRUTH_HEADER = ["day", "file", "line", "event_id", "person_key", "event_type", "schema_version", "defect"]
# A visit's chance on a day: the floor, plus the lift while in market (sandbox/intent.py's
# `visit_chance`); the default for people whose in-market bit is unknown.
VISIT_FLOOR, VISIT_IN_MARKET, VISIT_DEFAULT = 0.01, 0.6, 0.14
# Past days written on creation: the pricing rule's 14-day lookback sees all of them. A past day
# keeps a share of a live day's visits, drawn the same way, so the history adds some six live
# days of volume in all (every e2e test loads a fresh world) and a buyer's research in the weeks
# before shows: at a seventh, an in-market buyer visited about once in those two weeks.
HISTORY_DAYS = 14
HISTORY_SHARE = 3 / 7


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def anonymous_id(seed: int, person_key: str) -> str:
    """One browser cookie per person, stable across days so page views can be stitched later."""
    return str(uuid.UUID(bytes=hashlib.sha256(f"anon:{seed}:{person_key}".encode()).digest()[:16], version=4))


def _session(rng: random.Random, person: dict[str, Any], seed: int) -> list[tuple[str, dict[str, Any]]]:
    """One visit's events, in order; identified types carry the email, browsing only the cookie.
    Likelier buyers open and click nurture email, read pricing and raise their hand (form, demo)
    more often."""
    events: list[tuple[str, dict[str, Any]]] = []
    intent = min(1.0, float(person.get("propensity") or 0.0))
    email = str(person.get("email") or "").strip()
    if rng.random() < 0.1:
        email = email.upper()
    anon = anonymous_id(seed, person["person_key"])
    if rng.random() < 0.3 + intent and email:
        events.append(("email_open", {"email": email, "properties": {"campaign": f"nurture-{rng.randint(1, 12)}"}}))
        if rng.random() < 0.4 + intent:
            events.append(
                ("email_click", {"email": email, "properties": {"url": rng.choice(PAGES), "campaign": "nurture"}})
            )
    for _ in range(rng.randint(1, 5)):
        path = "/pricing" if rng.random() < intent else rng.choice(PAGES)
        events.append(("page_view", {"anonymous_id": anon, "properties": {"path": path}}))
    identified = {"email": email, "anonymous_id": anon}
    roll = rng.random() * (1.0 - intent)
    if roll < 0.12 and email:
        events.append(
            ("form_fill", {**identified, "properties": {"form": "contact", "company": person.get("company")}})
        )
        if rng.random() < 0.5:
            version = rng.choice(CONSENT_TEXT_VERSIONS)
            events.append(
                ("consent", {**identified, "properties": {"action": "opt_in", "consent_text_version": version}})
            )
    elif roll < 0.17 and email:
        events.append(("demo_request", {**identified, "properties": {"form": "demo", "title": person.get("title")}}))
    elif roll < 0.22 and email:
        events.append(("webinar_attended", {"email": email, "properties": {"webinar": "scoring-101", "minutes": 42}}))
    elif roll < 0.27:
        events.append(("chat_started", {"anonymous_id": anon, "properties": {"channel": "widget"}}))
    elif roll < 0.29 and email:
        events.append(("consent", {"email": email, "properties": {"action": "unsubscribe"}}))
    return events


def _user_agent(body: dict[str, Any]) -> str:
    """A person keeps one browser, so the agent is a function of who they are, not of the draw."""
    who = str(body.get("anonymous_id") or body.get("email") or "").lower()
    return USER_AGENTS[hashlib.sha256(who.encode()).digest()[0] % len(USER_AGENTS)]


def _v2(event_id: str, event_type: str, at: datetime, body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {
        "schema_version": 2,
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "email": body.get("email"),
        "anonymous_id": body.get("anonymous_id"),
        "properties": body.get("properties", {}),
        "context": {"user_agent": _user_agent(body), "ip": f"203.0.113.{rng.randint(1, 254)}"},
    }


def _v1(event_id: str, event_type: str, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
    """The old tracker: epoch seconds, short names, properties flattened into `props`."""
    return {
        "schema_version": 1,
        "id": event_id,
        "type": event_type,
        "ts": int(at.timestamp()),
        "user_email": body.get("email"),
        "anon_id": body.get("anonymous_id"),
        "props": body.get("properties", {}),
    }


def _merge_truth(path: Path, day: date, rows: list[list[str]]) -> None:
    merge_day_rows(path, TRUTH_HEADER, day, rows, sort_key=lambda r: (r[0], r[1], int(r[2])))


def write_web_events(
    people: list[dict[str, Any]],
    out_dir: Path,
    seed: int,
    day: date,
    malformed_rate: float = 0.01,
    lines_per_file: int = 1000,
) -> dict[str, Any]:
    """Write `landing/web_events/<day>/events-<n>.jsonl` (n from 1), replacing that day's folder.

    A person's chance to visit on a day follows whether they are in market (`in_market`,
    sandbox/intent.py) when the dict says, so engagement carries signal for scoring; otherwise
    everyone gets the same chance. What they do on a visit follows their `propensity`.
    """
    rng = _rng("web", seed, day.isoformat())
    events: list[tuple[datetime, str, str, dict[str, Any]]] = []
    for person in sorted(people, key=lambda p: p["person_key"]):
        if rng.random() < visit_chance(person, VISIT_FLOOR, VISIT_IN_MARKET, VISIT_DEFAULT):
            events.extend(_visit(rng, person, seed, day))
    return _write_day(events, Path(out_dir), rng, day, malformed_rate, lines_per_file)


def write_web_history(
    people: list[dict[str, Any]],
    out_dir: Path,
    seed: int,
    first_day: date,
    days: int = HISTORY_DAYS,
    malformed_rate: float = 0.01,
    lines_per_file: int = 1000,
) -> dict[str, Any]:
    """Write the `days` days before `first_day`, oldest first, each as `write_web_events` would.

    Each past day keeps `HISTORY_SHARE` of a live day's chance to visit. A person's visits are a
    function of (seed, person, first day) alone, so who else is in the world does not move them;
    one stream per person, not per person and day: seeding a generator costs some 10 µs, and a
    1M-lead world has 14 million person-days. The lines' ids and defects are drawn per day, from
    a stream no live day (`first_day` or later) uses.
    """
    past = [first_day - timedelta(days=back) for back in range(days, 0, -1)]
    by_day: dict[date, list[tuple[datetime, str, str, dict[str, Any]]]] = {day: [] for day in past}
    for person in sorted(people, key=lambda p: p["person_key"]):
        chance = HISTORY_SHARE * visit_chance(person, VISIT_FLOOR, VISIT_IN_MARKET, VISIT_DEFAULT)
        rng = _rng("web-history", seed, person["person_key"], first_day.isoformat())
        for day in past:
            if rng.random() < chance:
                by_day[day].extend(_visit(rng, person, seed, day))
    out_dir = Path(out_dir)
    written = [
        _write_day(by_day[day], out_dir, _rng("web", seed, day.isoformat()), day, malformed_rate, lines_per_file)
        for day in past
    ]
    return {
        "days": len(written),
        "files": [name for day in written for name in day["files"]],
        "events": sum(day["events"] for day in written),
        "malformed": sum(day["malformed"] for day in written),
        "schema_v1": sum(day["schema_v1"] for day in written),
    }


def _visit(
    rng: random.Random, person: dict[str, Any], seed: int, day: date
) -> list[tuple[datetime, str, str, dict[str, Any]]]:
    """One visit on `day` at a random time: its events, stamped in order within the day."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    at = midnight + timedelta(seconds=rng.randint(0, 86_399 - 3_600), milliseconds=rng.randint(0, 999))
    events = []
    for event_type, body in _session(rng, person, seed):
        at += timedelta(seconds=rng.randint(5, 300), milliseconds=rng.randint(0, 999))
        events.append((min(at, midnight + timedelta(seconds=86_399)), person["person_key"], event_type, body))
    return events


def _write_day(
    events: list[tuple[datetime, str, str, dict[str, Any]]],
    out_dir: Path,
    rng: random.Random,
    day: date,
    malformed_rate: float,
    lines_per_file: int,
) -> dict[str, Any]:
    """The day's events as files (replacing the day's folder) and truth rows; `rng` draws ids and defects."""
    events.sort(key=lambda e: (e[0], e[1]))

    folder = out_dir / "landing" / "web_events" / day.isoformat()
    if folder.exists():
        for stale in folder.glob("events-*.jsonl"):
            stale.unlink()
    folder.mkdir(parents=True, exist_ok=True)

    truth: list[list[str]] = []
    files: list[str] = []
    chunks = [events[i : i + lines_per_file] for i in range(0, len(events), lines_per_file)]
    malformed = v1_count = 0
    for number, chunk in enumerate(chunks, start=1):
        path = folder / f"events-{number}.jsonl"
        relative = path.relative_to(out_dir).as_posix()
        lines = []
        for line_number, (at, person_key, event_type, body) in enumerate(chunk, start=1):
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            old = rng.random() < V1_SHARE
            record = _v1(event_id, event_type, at, body) if old else _v2(event_id, event_type, at, body, rng)
            text = json.dumps(record, separators=(",", ":"), sort_keys=True)
            defect = ""
            if rng.random() < malformed_rate:
                if rng.random() < 0.5:
                    defect = "truncated_json"
                    text = text[: rng.randint(10, len(text) - 2)]
                else:
                    field = rng.choice(("id", "type", "ts") if old else REQUIRED_V2)
                    defect = f"missing_field:{field}"
                    del record[field]
                    text = json.dumps(record, separators=(",", ":"), sort_keys=True)
            malformed += bool(defect)
            v1_count += old
            lines.append(text)
            truth.append(
                [
                    day.isoformat(),
                    relative,
                    str(line_number),
                    event_id,
                    person_key,
                    event_type,
                    "1" if old else "2",
                    defect,
                ]
            )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(relative)
    _merge_truth(out_dir / "truth" / TRUTH_FILE, day, truth)
    return {
        "day": day.isoformat(),
        "files": files,
        "events": len(events),
        "malformed": malformed,
        "schema_v1": v1_count,
    }
