"""dlt source for web and webhook events: JSON Lines files in a landing folder.

- The folder is any fsspec URL (a local path, `s3://…`, `gs://…`); files are
  `web_events/<day>/*.jsonl` below it.
- Each file is loaded once: only files whose listing (size, modification stamp) changed since
  they loaded are read (`ingestion.landed_files`), and of those only the ones whose content
  hash is new are parsed. A re-run reads nothing; a re-delivered file with new content is read
  again (events merge on `event_id`, so nothing doubles).
- Each line is checked against the event schema of its `schema_version`. Version 1 (the old
  tracker) is upgraded to version 2; anything else that breaks the contract goes to
  `events_quarantine` with file, line, the raw line and the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import duckdb
import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from ingestion import quarantine
from ingestion.dedupe import first_occurrences as _first_by_key
from ingestion.landed_files import changed_files
from ingestion.parse_ahead import parse_ahead
from ingestion.schema_drift import SCHEMA_CONTRACT

FILES_STATE = "loaded_files"  # path → sha256 of the content loaded
LISTINGS_STATE = "loaded_listings"  # path → its listing when it loaded
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
        pa.field("occurred_at", pa.timestamp("us", tz="UTC")),
        pa.field("email", pa.string()),
        pa.field("anonymous_id", pa.string()),
        pa.field("properties", pa.string()),  # JSON text: portable across warehouses
        pa.field("context", pa.string()),
        pa.field("schema_version", pa.int64()),
        pa.field("source_file", pa.string()),
        pa.field("line_number", pa.int64()),
    ]
)
BATCH_BYTES = 64_000_000  # file content parsed (and held in memory) at once: some 180,000 events
_KNOWN = {"schema_version", "event_id", "event_type", "occurred_at", "email", "anonymous_id", "properties", "context"}

# A line is "clean" when it is an event that needs nothing but typing: valid JSON, every field of
# the right JSON type, a known event type, a well-formed stamp, no unknown fields. Clean lines of
# version 2 and of the old tracker's version 1 (whole seconds since the epoch) are typed in SQL;
# Python's `upgrade` sees the rest. The stamp pattern keeps DuckDB from accepting what Python's
# parser refuses ('infinity', …).
_STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)"
_FIELDS = ("schema_version", "event_id", "event_type", "occurred_at", "email", "anonymous_id", "properties", "context")
_V1_FIELDS = ("schema_version", "id", "type", "ts", "user_email", "anon_id", "props")
_STRUCT = "{" + ", ".join(f'"{f}": "JSON"' for f in dict.fromkeys(_FIELDS + _V1_FIELDS)) + "}"
_TYPES = ", ".join(f"'{t}'" for t in sorted(EVENT_TYPES))
_MAX_TS = 253402300799  # 9999-12-31T23:59:59Z: the last second both Python and DuckDB can hold
# Limits on one event, each refused with its reason: no tracker sends a megabyte or 64 levels of
# nesting, and an event past them is an attack or a bug (a 100,000-deep one would overflow the
# recursion of any JSON reader downstream). Lines within both bounds by a cheap upper bound (bytes;
# count of opening brackets) are checked in SQL; only the others are measured exactly in Python.
MAX_EVENT_CHARS = 1_048_576
MAX_NESTING = 64
_KEPT_PAYLOAD_CHARS = 65_536  # of a refused oversized line, only the start is kept in quarantine


def _only_keys(fields: tuple[str, ...]) -> str:
    return f"list_has_all([{', '.join(repr(f) for f in fields)}], keys)"


def _optional(value: str, *types: str) -> str:
    return f"COALESCE(json_type({value}), 'NULL') IN ('NULL', {', '.join(repr(t) for t in types)})"


_CHECK_SQL = f"""
WITH parsed AS (
    -- one parse per line: each field's raw JSON, typed below only for the lines that pass
    SELECT source_file, line_number, line,
           CASE WHEN valid THEN json_transform(line, '{_STRUCT}') END AS f,
           CASE WHEN valid THEN json_keys(line) END AS keys
    FROM (
        SELECT *, strlen(line) <= {MAX_EVENT_CHARS}
                  AND strlen(line) - strlen(replace(replace(line, '{{', ''), '[', '')) <= {MAX_NESTING}
                  AND json_valid(line) AS valid
        FROM lines
    )
), checked AS (
    SELECT *, CASE
        WHEN COALESCE(
            json_type(f.schema_version) IN ('UBIGINT', 'BIGINT') AND f.schema_version = '{CURRENT_VERSION}'
            AND json_type(f.event_id) = 'VARCHAR' AND f.event_id <> '""'
            AND json_type(f.event_type) = 'VARCHAR' AND f.event_type ->> '$' IN ({_TYPES})
            AND json_type(f.occurred_at) = 'VARCHAR' AND regexp_full_match(f.occurred_at ->> '$', '{_STAMP}')
            AND {_optional("f.email", "VARCHAR")} AND {_optional("f.anonymous_id", "VARCHAR")}
            AND {_optional("f.properties", "OBJECT")}
            AND {_only_keys(_FIELDS)},
            FALSE) THEN {CURRENT_VERSION}
        WHEN COALESCE(
            (NOT list_contains(keys, 'schema_version') OR json_type(f.schema_version) IN ('UBIGINT', 'BIGINT')
                 AND f.schema_version = '1')
            AND json_type(f.id) = 'VARCHAR' AND f.id <> '""'
            AND json_type(f.type) = 'VARCHAR' AND f.type ->> '$' IN ({_TYPES})
            AND CASE WHEN json_type(f.ts) IN ('UBIGINT', 'BIGINT')
                     THEN TRY_CAST(f.ts AS BIGINT) BETWEEN 0 AND {_MAX_TS} ELSE FALSE END
            AND {_optional("f.user_email", "VARCHAR")} AND {_optional("f.anon_id", "VARCHAR")}
            AND {_optional("f.props", "OBJECT")}
            AND {_only_keys(_V1_FIELDS)},
            FALSE) THEN 1
    END AS clean_version
    FROM parsed
), typed AS (
    SELECT source_file, line_number, line, clean_version,
           CASE clean_version WHEN 1 THEN f.id ELSE f.event_id END AS event_id,
           CASE clean_version WHEN 1 THEN f.type ELSE f.event_type END AS event_type,
           CASE clean_version
               WHEN 1 THEN to_timestamp(CAST(f.ts AS BIGINT))
               -- a well-formed but impossible stamp (month 13) is NULL here and read by Python
               WHEN {CURRENT_VERSION} THEN TRY_CAST(f.occurred_at ->> '$' AS TIMESTAMPTZ)
           END AS occurred_at,
           CASE clean_version WHEN 1 THEN f.user_email ELSE f.email END AS email,
           CASE clean_version WHEN 1 THEN f.anon_id ELSE f.anonymous_id END AS anonymous_id,
           CASE clean_version WHEN 1 THEN f.props ELSE f.properties END AS properties,
           CASE clean_version WHEN 1 THEN NULL ELSE f.context END AS context
    FROM checked
)
SELECT source_file, line_number,
       CASE WHEN clean_version IS NULL OR occurred_at IS NULL THEN line END AS line,  -- the lines Python reads
       clean_version IS NOT NULL AND occurred_at IS NOT NULL AS clean,
       event_id ->> '$' AS event_id,
       event_type ->> '$' AS event_type,
       occurred_at,
       email ->> '$' AS email,
       anonymous_id ->> '$' AS anonymous_id,
       CASE WHEN COALESCE(json_type(properties), 'NULL') = 'NULL' THEN '{{}}' ELSE properties END AS properties,
       CASE WHEN COALESCE(json_type(context), 'NULL') = 'NULL' THEN NULL ELSE context END AS context,
       CAST(COALESCE(clean_version, {CURRENT_VERSION}) AS BIGINT) AS schema_version
FROM typed
"""


class EventError(ValueError):
    """A line that breaks the event contract; the message is the quarantine reason."""


@dlt.source(name="web_events", max_table_nesting=0)
def web_events_source(landing_url: str, batch_bytes: int = BATCH_BYTES) -> DltResource:
    return _events(landing_url, batch_bytes)


def _events(landing_url: str, batch_bytes: int) -> DltResource:
    @dlt.resource(name="events", primary_key="event_id", write_disposition="merge", schema_contract=SCHEMA_CONTRACT)
    def events() -> Iterator[Any]:
        state = dlt.current.resource_state()
        loaded: dict[str, str] = state.setdefault(FILES_STATE, {})
        listings: dict[str, str | None] = state.setdefault(LISTINGS_STATE, {})
        # Into an empty table the first load appends (half the time of a merge); it dedupes the
        # run's events itself, as the merge would.
        hints = dlt.mark.make_hints(write_disposition="append" if not loaded else "merge")
        counts = {"read": 0, "loaded": 0, "quarantined": 0, "duplicates": 0, "files": 0, "quarantined_files": 0}
        per_file: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()  # event ids of the run's earlier batches
        refused: list[quarantine.RejectedFile] = []  # files that are certainly not JSON Lines text

        def batches() -> Iterator[list[tuple[str, bytes, str, str | None]]]:
            """New files, read and hashed (name, content, hash, listing), some `batch_bytes` at once."""
            fs, root = fsspec.core.url_to_fs(landing_url)
            batch: list[tuple[str, bytes, str, str | None]] = []
            size = 0
            for landed in changed_files(fs, root, "web_events/**/*.jsonl", listings):
                content = fs.cat_file(landed.path)
                digest = hashlib.sha256(content).hexdigest()
                if loaded.get(landed.name) == digest:  # touched, not changed
                    listings[landed.name] = landed.listing
                    continue
                reason = not_text(content)
                if reason is not None:  # refused once, whole; a corrected file has another hash
                    refused.append(quarantine.RejectedFile(landed.name, digest, len(content), "events", reason))
                    quarantine.count_refused_file(per_file, landed.name, reason)
                    loaded[landed.name], listings[landed.name] = digest, landed.listing
                    counts["files"] += 1
                    counts["quarantined_files"] += 1
                    continue
                batch.append((landed.name, content, digest, landed.listing))
                size += len(content)
                if size >= batch_bytes:
                    yield batch
                    batch, size = [], 0
            if batch:
                yield batch

        def parse(batch: list[tuple[str, bytes, str, str | None]]) -> tuple[pa.Table, list[quarantine.Rejected]]:
            return parse_files([(name, content) for name, content, _, _ in batch], database)

        todo = batches()
        first = next(todo, None)
        # One in-memory DuckDB for all of the run's batches (each checked on a cursor of its own),
        # and none at all for a run with nothing new.
        with duckdb.connect() if first is not None else contextlib.nullcontext() as database:
            for batch, (table, rejected) in parse_ahead(
                parse, itertools.chain([first] if first is not None else [], todo)
            ):
                unique = first_occurrences(table, seen)
                counts["files"] += len(batch)
                counts["read"] += table.num_rows + len(rejected)
                counts["loaded"] += unique.num_rows
                counts["quarantined"] += len(rejected)
                counts["duplicates"] += table.num_rows - unique.num_rows
                quarantine.count_files(per_file, (name for name, *_ in batch), table, unique, rejected)
                if unique.num_rows:
                    yield dlt.mark.with_hints(unique, hints)
                if rejected:
                    yield quarantine.hinted(quarantine.to_arrow(rejected), "events")
                for name, _, digest, listing in batch:
                    loaded[name], listings[name] = digest, listing
        if refused:
            yield quarantine.files_hinted(refused)
        state[quarantine.RUN_COUNTS_STATE] = counts
        state[quarantine.FILE_COUNTS_STATE] = per_file

    return events


def not_text(content: bytes) -> str | None:
    """Why `content` is certainly not a JSON Lines file, or None. Only certain signs count (a
    compressed or archive file's magic number, UTF-16 without a byte-order mark): a text file
    with a few bad lines is read, and those lines are quarantined one by one."""
    if content.startswith(b"\x1f\x8b"):
        return "gzip-compressed, not JSON Lines text: decompress it before it lands"
    if content.startswith(b"PK\x03\x04"):
        return "a ZIP archive (or a workbook), not JSON Lines text"
    head = content[:64]
    has_bom = head.startswith(tuple(bom for bom, _ in _BOMS))
    if len(head) >= 8 and not has_bom and (not any(head[1::2]) or not any(head[0::2])):
        return "UTF-16 text without a byte-order mark (every other byte is NUL); resend it as UTF-8"
    return None


def first_occurrences(table: pa.Table, seen: set[str]) -> pa.Table:
    """`table` with each event id once (its first line, by file and line) and none in `seen`,
    to which its ids are added.

    Collectors retry, so one event may land twice; within a run the first copy is loaded, across
    runs the merge on `event_id` keeps one.
    """
    return _first_by_key(
        table, table["event_id"], seen, order_by=[("source_file", "ascending"), ("line_number", "ascending")]
    )


def parse_file(content: bytes, name: str) -> tuple[pa.Table, list[quarantine.Rejected], dict[str, list]]:
    """One JSON Lines file: its events, rejected lines, and the fields the schema does not know
    yet (by column)."""
    table, rejected = parse_files([(name, content)])
    extra = {c: table.column(c).to_pylist() for c in table.column_names if c not in COLUMNS.names}
    return table.select(COLUMNS.names), rejected, extra


def parse_files(
    files: list[tuple[str, bytes]], database: duckdb.DuckDBPyConnection | None = None
) -> tuple[pa.Table, list[quarantine.Rejected]]:
    """Events (upgraded to the current schema, unknown top-level fields as extra columns) and
    rejected lines of several JSON Lines files at once.

    Lines are validated in bulk by DuckDB's JSON functions: a line that is a clean
    current-version event is typed there, never touching Python. Only the rest (old versions,
    unknown fields, broken lines: a few percent) goes through `upgrade`, which words the reason.
    The check runs on a cursor of `database` (an in-memory DuckDB) when one is given: starting
    a DuckDB instance costs some 30 ms on this machine, a cursor of a running one under 1 ms.
    """
    lines, undecodable = _lines(files)
    with contextlib.ExitStack() as stack:
        con = stack.enter_context(database.cursor() if database is not None else duckdb.connect())
        con.execute("SET TimeZone = 'UTC'")
        con.register("lines", lines)
        checked = con.sql(_CHECK_SQL).to_arrow_table()
        con.unregister("lines")
    if undecodable:  # already rejected: out of both paths
        gone = {(r.source, r.row_number) for r in undecodable}
        keys = zip(checked["source_file"].to_pylist(), checked["line_number"].to_pylist(), strict=True)
        checked = checked.filter(pa.array([key not in gone for key in keys], pa.bool_()))
    fast = checked.filter(checked["clean"]).select(COLUMNS.names).cast(COLUMNS)
    slow = checked.filter(pc.invert(checked["clean"]))
    rows: dict[str, list[Any]] = {f.name: [] for f in COLUMNS}
    extra: dict[str, list[Any]] = {}
    rejected = list(undecodable)
    for name, number, line in zip(
        *(slow.column(c).to_pylist() for c in ("source_file", "line_number", "line")), strict=True
    ):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue  # a blank line is no event, and no broken one either
        try:
            event = upgrade(_decode(_within_limits(line)))
        except EventError as exc:
            kept = line if len(line) <= MAX_EVENT_CHARS else line[:_KEPT_PAYLOAD_CHARS]
            rejected.append(quarantine.Rejected(source=name, row_number=number, raw_payload=kept, reason=str(exc)))
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
    upgraded = pa.table(rows, schema=COLUMNS)
    for key, values in sorted(extra.items()):
        upgraded = upgraded.append_column(key, pa.array(values))
    return pa.concat_tables([fast, upgraded], promote_options="default"), rejected


def _lines(files: list[tuple[str, bytes]]) -> tuple[pa.Table, list[quarantine.Rejected]]:
    """Every line of `files` with its file and 1-based line number, one record batch per file,
    and the lines that are not UTF-8 text, rejected (they stay in the table, blank).

    Each file's lines are views into its own bytes (each line keeps its newline, which JSON
    reads as whitespace), so nothing is copied; and a batch per file lets DuckDB spread the
    lines over its threads.
    """
    names = pa.array([name for name, _ in files], pa.string())
    batches, undecodable = [], []
    for index, (name, content) in enumerate(files):
        content, bad = _utf8(content)
        undecodable += [
            quarantine.Rejected(source=name, row_number=number, raw_payload=payload, reason=reason)
            for number, (reason, payload) in bad.items()
        ]
        if content and not content.endswith(b"\n"):
            content += b"\n"
        ends = np.flatnonzero(np.frombuffer(content, dtype=np.uint8) == ord("\n")) + 1
        offsets = np.concatenate([np.zeros(1, dtype=np.int64), ends.astype(np.int64)])
        count = len(ends)
        lines = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(content))
        source = pa.DictionaryArray.from_arrays(np.full(count, index, dtype=np.int32), names)
        line_number = pa.array(np.arange(1, count + 1, dtype=np.int64))
        batches.append(pa.record_batch([source, line_number, lines], names=["source_file", "line_number", "line"]))
    schema = pa.schema(
        [
            ("source_file", pa.dictionary(pa.int32(), pa.string())),
            ("line_number", pa.int64()),
            ("line", pa.large_string()),
        ]
    )
    return pa.Table.from_batches(batches, schema=schema), undecodable


def _within_limits(line: str) -> str:
    """`line`, if it is within the event size and nesting limits."""
    if len(line) > MAX_EVENT_CHARS:
        raise EventError(
            f"event of {len(line):,} characters, over the {MAX_EVENT_CHARS:,} limit "
            f"(raw_payload keeps its first {_KEPT_PAYLOAD_CHARS:,})"
        )
    if line.count("{") + line.count("[") > MAX_NESTING:
        depth = nesting_depth(line)
        if depth > MAX_NESTING:
            raise EventError(f"nested {depth:,} levels deep, over the limit of {MAX_NESTING}")
    return line


def nesting_depth(text: str) -> int:
    """How deeply JSON `text` nests objects and arrays, brackets inside strings aside; without
    recursion, so any depth is measured."""
    depth = deepest = 0
    for token in re.findall(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _utf8(content: bytes) -> tuple[bytes, dict[int, tuple[str, str]]]:
    """`content` as UTF-8, and its lines that are not: line number → (reason, the line with its
    bad bytes escaped). A file with a byte-order mark is decoded by it (certain evidence of its
    encoding); a line with bytes that are not UTF-8 (Latin-1 from an old collector) is blanked
    here and quarantined by the caller, never loaded with its characters guessed or replaced."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, errors="replace").encode(), {}
    if content.isascii():
        return content, {}
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return content, {}
    lines, bad = [], {}
    for number, raw in enumerate(content.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line"
            bad[number] = (reason, raw.decode("utf-8", errors="backslashreplace").rstrip("\r"))
            raw = b""
        lines.append(raw)
    return b"\n".join(lines), bad


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
        try:
            occurred_at = datetime.fromtimestamp(event["ts"], UTC)
        except (OverflowError, OSError, ValueError):
            raise EventError(f"field ts is out of range: {event['ts']!r}") from None
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
            "occurred_at": occurred_at,
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
    event["properties"] = _json_text(event.get("properties") or {})
    event["context"] = _json_text(event["context"]) if event.get("context") is not None else None
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
    return _json_text(value) if isinstance(value, dict | list) else value


def _json_text(value: Any) -> str:
    """Compact JSON in the sender's key order: the text DuckDB's `json()` gives the clean lines."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
