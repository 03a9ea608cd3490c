"""The product's own database: the accounts, users and usage a product-led funnel leaves behind.

It is a SQLite file the pipeline reads with an incremental cursor on `updated_at`, so it must
behave like a live OLTP store: later days update existing rows (bumping `updated_at`) and add
new users and events, while re-running a day that was already applied changes nothing. Every
change for a day is a pure function of (seed, person, day), and the days applied so far are
recorded in `_sandbox_meta`, so the file can be advanced one day or many at a time and ends up
the same either way.

Ground truth goes to `truth/product_users.csv` (user id to person); accounts and usage events
reach a person through their `account_id` / `user_id`.
"""

from __future__ import annotations

import csv
import random
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.intent import engagement_chance

__all__ = ["PRODUCT_SHARE", "write_product_db"]

PRODUCT_SHARE = 0.3
HISTORY_DAYS = 14  # usage history generated on creation, so the first extract is not empty
PLANS = ("free", "starter", "pro", "enterprise")
ROLES = ("admin", "member", "viewer")
USAGE_EVENTS = ("login", "lead_scored", "report_viewed", "export_csv", "integration_connected", "invite_sent")
KEY_FEATURES = ("integration_connected", "invite_sent")
TRUTH_FILE = "product_users.csv"
TRUTH_HEADER = ["user_id", "account_id", "person_key", "email", "created_at"]

SCHEMA = """
create table if not exists accounts (
    id integer primary key, name text not null, domain text not null unique, plan text not null,
    created_at text not null, updated_at text not null);
create table if not exists users (
    id integer primary key, account_id integer not null references accounts(id), email text not null,
    name text, role text not null, created_at text not null, updated_at text not null);
create table if not exists usage_events (
    id integer primary key, user_id integer not null references users(id), event text not null,
    occurred_at text not null, updated_at text not null);
create index if not exists users_updated_at on users(updated_at);
create index if not exists accounts_updated_at on accounts(updated_at);
create index if not exists usage_events_updated_at on usage_events(updated_at);
create table if not exists _sandbox_meta (key text primary key, value text not null);
"""


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def _stamp(day: date, seconds: int) -> str:
    """`day` plus `seconds` as `YYYY-MM-DDTHH:MM:SSZ`. Within the day by arithmetic: a 1M-lead
    world stamps millions of usage events, and datetime's strftime was a tenth of its product
    database's time."""
    if 0 <= seconds < 86_400:
        hours, rest = divmod(seconds, 3600)
        return f"{day.isoformat()}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signups(people: list[dict[str, Any]], seed: int, first_day: date) -> dict[date, list[dict[str, Any]]]:
    """Who ever becomes a product user, and on which day; anchored to the file's first day."""
    by_day: dict[date, list[dict[str, Any]]] = {}
    for person in sorted(people, key=lambda p: p["person_key"]):
        email = str(person.get("email") or "").strip()
        rng = _rng("product-user", seed, person["person_key"])
        # Likelier buyers try the product more often, and have mostly tried it already
        # (sandbox/intent.py); three in four of the rest signed up before the file's first day.
        share = engagement_chance(0.08, 2.5, person.get("propensity"), default=PRODUCT_SHARE)
        if not email or "@" not in email or rng.random() >= share:
            continue
        earlier = engagement_chance(0.7, 0.6, person.get("propensity"), default=0.75)
        offset = -rng.randint(HISTORY_DAYS, 365) if rng.random() < earlier else rng.randint(-HISTORY_DAYS + 1, 90)
        by_day.setdefault(first_day + timedelta(days=offset), []).append(person)
    return by_day


def _add_users(
    conn: sqlite3.Connection, people: list[dict[str, Any]], seed: int, day: date, truth: list[list[str]]
) -> int:
    rng = _rng("product-signup", seed, day.isoformat())
    for person in people:
        email = str(person["email"]).strip()
        domain = email.split("@", 1)[1].lower()
        created = _stamp(day, rng.randint(0, 86_399))
        row = conn.execute("select id from accounts where domain = ?", (domain,)).fetchone()
        if row is None:
            plan = rng.choices(PLANS, weights=(60, 25, 12, 3))[0]
            name = str(person.get("company") or domain)
            account_id = conn.execute(
                "insert into accounts (name, domain, plan, created_at, updated_at) values (?, ?, ?, ?, ?)",
                (name, domain, plan, created, created),
            ).lastrowid
            role = "admin"
        else:
            account_id = row[0]
            role = rng.choice(ROLES[1:])
        # Product sign-ups are typed by hand: the email's case drifts from the CRM's copy.
        shown = email.lower() if rng.random() < 0.8 else email
        name = f"{person.get('first_name') or ''} {person.get('last_name') or ''}".strip() or None
        user_id = conn.execute(
            "insert into users (account_id, email, name, role, created_at, updated_at) values (?, ?, ?, ?, ?, ?)",
            (account_id, shown, name, role, created, created),
        ).lastrowid
        truth.append([str(user_id), str(account_id), person["person_key"], shown, created])
    return len(people)


def _advance_day(
    conn: sqlite3.Connection, signups: dict[date, list[dict[str, Any]]], seed: int, day: date, truth: list[list[str]]
) -> dict[str, int]:
    """Everything that happens on one day, in a fixed order so the result depends only on the day."""
    rng = _rng("product-day", seed, day.isoformat())
    new_users = _add_users(conn, signups.get(day, []), seed, day, truth)
    updated = 0
    for (account_id,) in conn.execute("select id from accounts where created_at < ? order by id", (day.isoformat(),)):
        if rng.random() < 0.02:
            conn.execute(
                "update accounts set plan = ?, updated_at = ? where id = ?",
                (rng.choice(PLANS), _stamp(day, rng.randint(0, 86_399)), account_id),
            )
            updated += 1
    intent = {str(p["email"]).strip().lower(): p.get("propensity") for people in signups.values() for p in people}
    users = conn.execute("select id, email from users order by id").fetchall()
    user_ids = [user_id for user_id, _ in users]
    for user_id in user_ids:
        if rng.random() < 0.03:
            conn.execute(
                "update users set role = ?, updated_at = max(updated_at, ?) where id = ?",
                (rng.choice(ROLES), _stamp(day, rng.randint(0, 86_399)), user_id),
            )
            updated += 1
    events = []
    for user_id, email in users:
        # Likelier buyers are active on more days and use the key features more.
        person_intent = intent.get(str(email).strip().lower())
        if rng.random() >= engagement_chance(0.1, 1.5, person_intent, default=0.3):
            continue
        for _ in range(rng.randint(1, 6)):
            at = _stamp(day, rng.randint(0, 86_399))
            key_feature = rng.random() < min(1.0, float(person_intent or 0.0))
            events.append((at, user_id, rng.choice(KEY_FEATURES if key_feature else USAGE_EVENTS)))
    events.sort()
    conn.executemany(
        "insert into usage_events (user_id, event, occurred_at, updated_at) values (?, ?, ?, ?)",
        [(user_id, event, at, at) for at, user_id, event in events],
    )
    return {"new_users": new_users, "updated_rows": updated, "new_events": len(events)}


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("select key, value from _sandbox_meta").fetchall())


def write_product_db(people: list[dict[str, Any]], out_dir: Path, seed: int, day: date) -> dict[str, Any]:
    """Create `product.sqlite` as of `day`, or advance an existing one through `day`.

    A day at or before the last one applied is a no-op: the store cannot be rewound, and doing
    nothing is what makes a retried run safe. The `people` passed later must be the same
    population (new people may be appended); the seed must match the one the file was made with.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "product.sqlite"
    truth_path = out_dir / "truth" / TRUTH_FILE
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        meta = _meta(conn)
        created = not meta
        if created:
            first_day, last_day = day, day - timedelta(days=HISTORY_DAYS)
        else:
            if int(meta["seed"]) != seed:
                raise ValueError(f"{path} was generated with seed {meta['seed']}, not {seed}")
            first_day, last_day = date.fromisoformat(meta["first_day"]), date.fromisoformat(meta["last_day"])
        totals = {"new_users": 0, "updated_rows": 0, "new_events": 0}
        truth: list[list[str]] = []
        if day > last_day:
            signups = _signups(people, seed, first_day)
            with conn:
                if created:
                    for signup_day in sorted(d for d in signups if d <= last_day):
                        _add_users(conn, signups[signup_day], seed, signup_day, truth)
                step = last_day + timedelta(days=1)
                while step <= day:
                    for key, value in _advance_day(conn, signups, seed, step, truth).items():
                        totals[key] += value
                    step += timedelta(days=1)
                conn.executemany(
                    "insert or replace into _sandbox_meta values (?, ?)",
                    [("seed", str(seed)), ("first_day", first_day.isoformat()), ("last_day", day.isoformat())],
                )
        counts = {
            table: conn.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("accounts", "users", "usage_events")
        }
    finally:
        conn.close()
    if created or truth:
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        with open(truth_path, "w" if created else "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if created:
                writer.writerow(TRUTH_HEADER)
            writer.writerows(truth)
    return {"day": day.isoformat(), "changed": bool(truth) or any(totals.values()), **totals, **counts}
