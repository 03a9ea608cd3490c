"""dlt source for web and webhook events: JSON Lines files in a landing folder.

- The folder is any fsspec URL (a local path, `s3://…`, `gs://…`); files are
  `web_events/<day>/*.jsonl` below it.
- Each file is loaded once: its content hash is remembered in the resource's state, so a re-run
  reads nothing and a re-delivered file with new content is read again (events merge on
  `event_id`, so nothing doubles).
- Each line is checked against the event schema of its `schema_version`. Version 1 (the old
  tracker) is upgraded to version 2; anything else that breaks the contract goes to
  `events_quarantine` with file, line, the raw line and the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import fsspec
import pyarrow as pa
from dlt.sources import DltResource

from ingestion import quarantine
from ingestion.schema_drift import SCHEMA_CONTRACT

FILES_STATE = "loaded_files"  # path → sha256 of the content loaded
CURRENT_VERSION = 2
EVENT_TYPES = frozenset(
    {
        "page_view",
        "form_fill",
        "demo_request",
        "email_open",
        "email_click",
        "webinar_attended",
        "chat_started",
        "consent",
    }
)
COLUMNS = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("event_type", pa.string()),
        pa.field("occurred_at", pa.timestamp("ms", tz="UTC")),
        pa.field("email", pa.string()),
        pa.field("anonymous_id", pa.string()),
        pa.field("properties", pa.string()),  # JSON text: portable across warehouses
        pa.field("context", pa.string()),
        pa.field("schema_version", pa.int64()),
        pa.field("source_file", pa.string()),
        pa.field("line_number", pa.int64()),
    ]
)
_KNOWN = {"schema_version", "event_id", "event_type", "occurred_at", "email", "anonymous_id", "properties", "context"}


class EventError(ValueError):
    """A line that breaks the event contract; the message is the quarantine reason."""


@dlt.source(name="web_events", max_table_nesting=0)
def web_events_source(landing_url: str) -> DltResource:
    return _events(landing_url)


def _events(landing_url: str) -> DltResource:
    @dlt.resource(name="events", primary_key="event_id", write_disposition="merge", schema_contract=SCHEMA_CONTRACT)
    def events() -> Iterator[Any]:
        state = dlt.current.resource_state()
        loaded: dict[str, str] = state.setdefault(FILES_STATE, {})
        counts = {"read": 0, "loaded": 0, "quarantined": 0, "files": 0}
        fs, root = fsspec.core.url_to_fs(landing_url)
        root = root.rstrip("/")
        for path in sorted(fs.glob(f"{root}/web_events/**/*.jsonl")):
            content = fs.cat_file(path)
            digest = hashlib.sha256(content).hexdigest()
            name = path[len(root) + 1 :]
            if loaded.get(name) == digest:
                continue
            table, rejected, extra = parse_file(content, name)
            counts["files"] += 1
            counts["read"] += table.num_rows + len(rejected)
            counts["loaded"] += table.num_rows
            counts["quarantined"] += len(rejected)
            if table.num_rows:
                yield _with_extra(table, extra)
            if rejected:
                yield quarantine.hinted(quarantine.to_arrow(rejected), "events")
            loaded[name] = digest
        state[quarantine.RUN_COUNTS_STATE] = counts

    return events


def parse_file(content: bytes, name: str) -> tuple[pa.Table, list[quarantine.Rejected], dict[str, list]]:
    """One JSON Lines file as events (upgraded to the current schema), the rejected lines, and
    any top-level fields the schema does not know yet (kept as extra columns, by row)."""
    rows: dict[str, list[Any]] = {f.name: [] for f in COLUMNS}
    extra: dict[str, list[Any]] = {}
    rejected = []
    for number, line in enumerate(content.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = upgrade(_decode(line))
        except EventError as exc:
            rejected.append(quarantine.Rejected(source=name, row_number=number, raw_payload=line, reason=str(exc)))
            continue
        index = len(rows["event_id"])
        for column in rows:
            rows[column].append(event.get(column))
        rows["source_file"][-1], rows["line_number"][-1] = name, number
        for key in event.keys() - _KNOWN:
            extra.setdefault(key, [None] * index).append(_scalar(event[key]))
        for values in extra.values():
            if len(values) <= index:
                values.append(None)
    return pa.table(rows, schema=COLUMNS), rejected, extra


def _decode(line: str) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(event, dict):
        raise EventError("invalid JSON: not an object")
    return event


def upgrade(event: dict[str, Any]) -> dict[str, Any]:
    """Any supported version → a validated version-2 event (plus unknown fields, untouched)."""
    version = event.get("schema_version", 1 if "ts" in event else None)
    if version == 1:
        _require(event, ("id", "type", "ts"))
        if not isinstance(event["ts"], int | float) or isinstance(event["ts"], bool):
            raise EventError("field ts is not a number of seconds")
        rest = {
            k: v
            for k, v in event.items()
            if k not in {"schema_version", "id", "type", "ts", "user_email", "anon_id", "props"}
        }
        event = {
            **rest,
            "schema_version": 1,
            "event_id": event["id"],
            "event_type": event["type"],
            "occurred_at": datetime.fromtimestamp(event["ts"], UTC),
            "email": event.get("user_email"),
            "anonymous_id": event.get("anon_id"),
            "properties": event.get("props") or {},
        }
    elif version == CURRENT_VERSION:
        _require(event, ("event_id", "event_type", "occurred_at"))
        event = {**event, "occurred_at": _timestamp(event["occurred_at"])}
    else:
        raise EventError(f"unknown schema_version {version!r}")
    for field in ("event_id", "event_type"):
        if not isinstance(event[field], str) or not event[field]:
            raise EventError(f"field {field} is not a non-empty string")
    if event["event_type"] not in EVENT_TYPES:
        raise EventError(f"unknown event_type {event['event_type']!r}")
    for field in ("email", "anonymous_id"):
        if event.get(field) is not None and not isinstance(event[field], str):
            raise EventError(f"field {field} is not a string")
    if not isinstance(event.get("properties") or {}, dict):
        raise EventError("field properties is not an object")
    event["properties"] = json.dumps(event.get("properties") or {}, sort_keys=True)
    event["context"] = json.dumps(event["context"], sort_keys=True) if event.get("context") is not None else None
    return event


def _require(event: dict[str, Any], fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if event.get(f) is None]
    if missing:
        raise EventError(f"missing required field {', '.join(missing)}")


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise EventError("field occurred_at is not an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EventError(f"field occurred_at is not an ISO-8601 timestamp: {value!r}") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _scalar(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _with_extra(table: pa.Table, extra: dict[str, list]) -> pa.Table:
    for name, values in sorted(extra.items()):
        table = table.append_column(name, pa.array(values))
    return table
