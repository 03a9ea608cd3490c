"""The org's state: one SQLite file, so the sandbox survives a restart and tests in another
process can read its request log.

Values are stored in a sortable canonical form (booleans as 0/1, datetimes as
`YYYY-MM-DDTHH:MM:SS.fffZ` text) so SOQL comparisons translate to plain SQL comparisons.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from sandbox.salesforce.schema import HISTORY_KEY_PREFIX, HISTORY_OF, OBJECTS, TRACKED_FIELDS, Field, SObject
from sandbox.savepoint import savepoint

API_DATETIME = "%Y-%m-%dT%H:%M:%S.%f"


def stored_datetime(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def api_datetime(stored: str | None) -> str | None:
    """Stored form → the form Salesforce returns (`2026-11-01T10:00:00.000+0000`)."""
    return None if stored is None else stored[:-1] + "+0000"


def parse_datetime(text: str) -> datetime:
    """Any ISO-8601 datetime the API accepts (Z, +00:00, +0000, fractional seconds)."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("pragma journal_mode=wal")
        self.conn.execute("pragma synchronous=normal")
        create_schema(self.conn)
        self._last_stamp = self._latest_stamp()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # ------------------------------------------------------------------ clock
    def _latest_stamp(self) -> str:
        """The newest stamp already in the file, so a restarted server (or a clock behind the
        generated world) never writes a SystemModstamp older than one a reader has seen:
        incremental reads filtering `SystemModstamp > cursor` would silently miss it."""
        parts = [f'select max("{stamp_field(obj)}") as s from "{obj.name}"' for obj in OBJECTS.values()]
        parts.append("select max(at) as s from api_requests")
        (latest,) = self.conn.execute(f"select max(s) from ({' union all '.join(parts)})").fetchone()
        return latest or ""

    def now(self) -> str:
        """A strictly increasing server timestamp (ms), so every write gets a distinct modstamp."""
        with self.lock:
            stamp = stored_datetime(datetime.now(UTC))
            if stamp <= self._last_stamp:
                last = parse_datetime(self._last_stamp)
                stamp = stored_datetime(last + timedelta(milliseconds=1))
            self._last_stamp = stamp
            return stamp

    # ------------------------------------------------------------------ reads
    def select(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        with self.lock:
            cur = self.conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

    def select_tuples(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def get(self, obj: SObject, record_id: str) -> dict[str, Any] | None:
        rows = self.select(f'select * from "{obj.name}" where "Id" = ?', [record_id])
        return dict(rows[0]) if rows else None

    def find_by(self, obj: SObject, field_name: str, value: Any) -> list[dict[str, Any]]:
        rows = self.select(f'select * from "{obj.name}" where "{field_name}" = ? and "IsDeleted" = 0', [value])
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ writes
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Many writes as one commit (a day of the world moving on makes thousands: one commit
        each would spend most of the day's time on the journal). A savepoint, so it nests."""
        with savepoint(self.conn, "store_transaction", self.lock):
            yield

    def insert_many(self, obj: SObject, rows: Iterable[dict[str, Any]]) -> None:
        names = [f.name for f in obj.fields if not f.computed]
        getter = itemgetter(*names)

        def values(row: dict[str, Any]) -> tuple:
            try:
                return getter(row)
            except KeyError:
                return tuple(row.get(n) for n in names)

        columns = ", ".join(f'"{n}"' for n in names)
        sql = f'insert into "{obj.name}" ({columns}) values ({", ".join("?" * len(names))})'
        # A savepoint, not BEGIN, so a caller's all-or-none savepoint can enclose it; a failed
        # insert is undone and released, not left open for every later write to fall into.
        with savepoint(self.conn, "insert_many", self.lock):
            self.conn.executemany(sql, map(values, rows))

    def update(self, obj: SObject, record_id: str, values: dict[str, Any]) -> None:
        if not values:
            return
        if "SystemModstamp" in values and "LastModifiedById" not in values and obj.field("LastModifiedById"):
            values = {**values, "LastModifiedById": WORLD_USER_ID}
        assignments = ", ".join(f'"{name}" = ?' for name in values)
        with self.lock:
            changes = self._tracked_changes(obj, record_id, values)
            self.conn.execute(f'update "{obj.name}" set {assignments} where "Id" = ?', [*values.values(), record_id])
            if changes:
                self.add_history(obj, changes)

    # ------------------------------------------------------------------ field history
    def _tracked_changes(self, obj: SObject, record_id: str, values: dict[str, Any]) -> list[tuple]:
        """The history rows an update makes: one per tracked field whose value it changes."""
        tracked = [name for name in TRACKED_FIELDS.get(obj.name, ()) if name in values]
        if not tracked:
            return []
        current = self.get(obj, record_id)
        if current is None:
            return []
        stamp = values.get("SystemModstamp") or self.now()
        who = values.get("LastModifiedById") or WORLD_USER_ID
        return [
            (record_id, name, _history_value(current[name]), _history_value(values[name]), stamp, who)
            for name in tracked
            if _history_value(current[name]) != _history_value(values[name])
        ]

    def add_history(self, obj: SObject, changes: Iterable[tuple]) -> None:
        """Appends `<Object>History` rows: (record id, field or `created`, old, new, stamp, user)."""
        history = HISTORY_OF[obj.name]
        with self.lock:
            (last,) = self.conn.execute(f'select coalesce(max(rowid), 0) from "{history.name}"').fetchone()
            base = HISTORY_ID_BASE[obj.name] + last
            rows = [
                (
                    make_id(HISTORY_KEY_PREFIX, base + n + 1),
                    0,
                    record_id,
                    who,
                    stamp,
                    name,
                    None if name == "created" else "boolean",
                    old,
                    new,
                )
                for n, (record_id, name, old, new, stamp, who) in enumerate(changes)
            ]
            self.conn.executemany(
                f'insert into "{history.name}" ("Id", "IsDeleted", "{obj.name}Id", "CreatedById", "CreatedDate",'
                ' "Field", "DataType", "OldValue", "NewValue") values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                rows,
            )

    def next_id(self, obj: SObject) -> str:
        """The id after the last row's. Rows are never removed (a delete sets IsDeleted), so the
        last rowid is the row count; SQLite finds it in the b-tree's last page, where `count(*)`
        walks the whole table: 4-6 ms a record at 1M leads against 0.004 ms, and three quarters
        of the sandbox's time in a day's Task upload (17k Tasks)."""
        with self.lock:
            (last,) = self.conn.execute(f'select coalesce(max(rowid), 0) from "{obj.name}"').fetchone()
        return make_id(obj.key_prefix, last + 1)

    # ------------------------------------------------------------------ request log and limits
    def log_request(self, method: str, path: str, sobject: str | None, records: int, status: int) -> None:
        with self.lock:
            self.conn.execute(
                "insert into api_requests (at, method, path, object, records, status) values (?, ?, ?, ?, ?, ?)",
                [self.now(), method, path, sobject, records, status],
            )

    def api_usage(self) -> int:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self.lock:
            (count,) = self.conn.execute("select count(*) from api_requests where at >= ?", [day]).fetchone()
        return int(count)

    def request_log(self, since_id: int = 0) -> list[dict[str, Any]]:
        rows = self.select(
            "select id, method, path, object, records, status from api_requests where id > ? order by id", [since_id]
        )
        return [dict(r) for r in rows]

    def last_request_id(self) -> int:
        rows = self.select("select coalesce(max(id), 0) from api_requests", [])
        return int(rows[0][0])


def make_id(prefix: str, number: int) -> str:
    """An 18-character record id: 15 case-sensitive characters plus Salesforce's 3-character
    case checksum, so ids look and compare like the real ones."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digits = ""
    while number:
        number, rem = divmod(number, 62)
        digits = alphabet[rem] + digits
    return id18(f"{prefix}000{digits.rjust(9, '0')}")


def id18(id15: str) -> str:
    """Appends the case checksum: each 5-character chunk's uppercase positions as one character."""
    bits = id15.translate(_UPPER_BITS)  # str.translate keeps this fast for 100k generated ids
    return id15 + _CHECKSUM[int(bits[4::-1], 2)] + _CHECKSUM[int(bits[9:4:-1], 2)] + _CHECKSUM[int(bits[14:9:-1], 2)]


_UPPER_BITS = {c: ("1" if chr(c).isupper() else "0") for c in range(128)}
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

# The sandbox's users. Writes through the API are stamped with the caller's user (the
# integration user for the sandbox token, a sales rep for the rep token); the world's own moves
# (`--days`, the generator's history) with a person in the org who is not the integration user.
INTEGRATION_USER_ID = id18("005000000000Int")
REP_USER_ID = id18("005000000000Rep")
WORLD_USER_ID = id18("005000000000Org")


# Lead and Contact history rows share the key prefix 017 in a real org; their numbering starts
# apart so ids stay unique across both objects.
HISTORY_ID_BASE = {"Lead": 0, "Contact": 10**12}


def _history_value(value: Any) -> str | None:
    """How history keeps a tracked (boolean) value: `true` / `false`."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower()
    return "true" if value else "false"


def stamp_field(obj: SObject) -> str:
    """The field that orders an object's changes: SystemModstamp, or CreatedDate for field
    history, whose rows are never modified."""
    return "SystemModstamp" if obj.field("SystemModstamp") else "CreatedDate"


_SQL_TYPES = {"boolean": "integer", "int": "integer", "double": "real", "currency": "real", "percent": "real"}


def _column(f: Field) -> str:
    column = f'"{f.name}" {_SQL_TYPES.get(f.type, "text")}'
    if f.computed:
        return f"{column} generated always as ({f.computed}) virtual"
    return column + (" primary key" if f.name == "Id" else "")


def create_schema(conn: sqlite3.Connection) -> None:
    for obj in OBJECTS.values():
        columns = ", ".join(_column(f) for f in obj.fields)
        conn.execute(f'create table if not exists "{obj.name}" ({columns})')
        # A state file from before a field was added gets the column (null on existing rows;
        # a computed one is computed for them too). table_xinfo lists generated columns as well.
        present = {row[1] for row in conn.execute(f'pragma table_xinfo("{obj.name}")')}
        for f in obj.fields:
            if f.name not in present:
                conn.execute(f'alter table "{obj.name}" add column {_column(f)}')
        conn.execute(f'create index if not exists "{obj.name}_modstamp" on "{obj.name}" ("{stamp_field(obj)}")')
        # An org indexes every external ID field: an upsert on one finds its record without a scan.
        for f in obj.fields:
            if f.external_id:
                conn.execute(f'create index if not exists "{obj.name}_{f.name}" on "{obj.name}" ("{f.name}")')
    conn.execute(
        "create table if not exists api_requests (id integer primary key autoincrement, at text, method text,"
        " path text, object text, records integer, status integer)"
    )
    conn.execute("create index if not exists api_requests_at on api_requests (at)")
