"""The HubSpot sandbox: CRM v3 objects (list, get, archive, search, batch read/create/update/upsert),
v4 association batch reads, properties, owners and rate limiting (the general budget plus search's
own per-second limit), with the shapes the real hubspot-api-client deserializes.

State is one SQLite file (`world_dir/hubspot.sqlite`); every request is logged there.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.faults import NO_FAULTS, Faults
from sandbox.hubspot.associations import (
    add_associations,
    associated,
    create_associations_schema,
    v3_block,
    v4_missing,
    v4_result,
)
from sandbox.hubspot.schema import (
    DEFAULT_PROPERTIES,
    DEFAULT_READ,
    FIELD_TYPES,
    MODIFIED_PROPERTY,
    OBJECT_TYPES,
    PROPERTY_TYPES,
    READ_ONLY,
    SEARCHABLE,
)
from sandbox.hubspot.search import SearchError, page_body, search_sql, wanted_properties
from sandbox.savepoint import savepoint
from sandbox.serving import BackgroundServer, JSONResponse, SandboxLifecycle

BATCH_LIMIT = 100
PAGE_LIMIT = 100
V4_BATCH_LIMIT = 1000
__all__ = ["HubSpotSandbox", "add_associations", "create_schema", "iso_now"]


def iso_now() -> str:
    return _iso(datetime.now(UTC))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def stamp_after(previous: str | None) -> str:
    """Now, or one millisecond past `previous` if the clock has not moved on: a write always
    advances a record's `updatedAt`, so `GT last seen` picks it up."""
    now = iso_now()
    if previous is None or now > previous:
        return now
    return _iso(datetime.fromisoformat(previous.replace("Z", "+00:00")) + timedelta(milliseconds=1))


class HubSpotError(Exception):
    def __init__(self, status: int, message: str, category: str = "VALIDATION_ERROR", **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.category, self.extra = status, message, category, extra

    def response(self) -> JSONResponse:
        body = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
            "errors": [],
            "context": {},
            "links": {},
            **self.extra,
        }
        return JSONResponse(body, self.status)


class HubSpotStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("pragma journal_mode=wal")
        # Every request is logged: as on the Salesforce store, a commit need not wait for the disk.
        self.conn.execute("pragma synchronous=normal")
        create_schema(self.conn)
        self.object_writes = 0  # this server's writes to `objects`: see `objects_version`

    def close(self) -> None:
        self.conn.close()

    def objects_version(self) -> tuple[int, int]:
        """Changes whenever a search could answer differently: this server wrote a record, or
        another connection (the world advancing a day) committed to the file."""
        with self.lock:
            (data_version,) = self.conn.execute("pragma data_version").fetchone()
            return self.object_writes, int(data_version)

    def execute(self, sql: str, params: Any = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A batch's writes as one commit: one each made the journal, not the records, the cost
        of a batch (1.2k records/s against 2.5k in one commit, on 100k and 1M contacts alike). A
        savepoint, so it nests; an input's validation error is raised before its write and
        leaves the batch's other writes standing, as HubSpot's 207 does."""
        with savepoint(self.conn, "hubspot_batch", self.lock):
            yield

    def properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        rows = self.execute("select name, definition from properties where object_type = ?", [object_type])
        return {name: json.loads(definition) for name, definition in rows}

    def next_id(self) -> str:
        with self.lock:
            (value,) = self.conn.execute("select coalesce(max(cast(id as integer)), 100) + 1 from objects").fetchone()
        return str(value)

    def request_log(self, since_id: int = 0) -> list[dict[str, Any]]:
        rows = self.execute(
            "select id, method, path, object, records, status from api_requests where id > ? order by id", [since_id]
        )
        return [dict(zip(("id", "method", "path", "object", "records", "status"), r, strict=True)) for r in rows]

    def last_request_id(self) -> int:
        return int(self.execute("select coalesce(max(id), 0) from api_requests")[0][0])

    def log(self, method: str, path: str, object_type: str | None, records: int, status: int) -> None:
        self.execute(
            "insert into api_requests (at, method, path, object, records, status) values (?, ?, ?, ?, ?, ?)",
            [iso_now(), method, path, object_type, records, status],
        )


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute(
        "create table if not exists objects (object_type text, id text, properties text, created_at text,"
        " updated_at text, archived integer default 0, primary key (object_type, id))"
    )
    conn.execute("create index if not exists objects_updated on objects (object_type, updated_at)")
    # List pages walk ids numerically; without this index every page sorts the whole object type.
    conn.execute("create index if not exists objects_paging on objects (object_type, archived, cast(id as integer))")
    # A new record's id is the largest so far plus one: without this, every create scans the table.
    conn.execute("create index if not exists objects_numeric_id on objects (cast(id as integer))")
    # Lookups by the unique `email` (batch read/update/upsert by idProperty); the expression must
    # match `_find`'s exactly for SQLite to use it.
    conn.execute(f"create index if not exists objects_email on objects (object_type, {_property_sql('email')})")
    conn.execute(
        "create table if not exists properties (object_type text, name text, definition text,"
        " primary key (object_type, name))"
    )
    conn.execute("create table if not exists owners (id text primary key, definition text)")
    create_associations_schema(conn)
    conn.execute(
        "create table if not exists api_requests (id integer primary key autoincrement, at text, method text,"
        " path text, object text, records integer, status integer)"
    )
    for object_type, props in DEFAULT_PROPERTIES.items():
        conn.executemany(
            "insert or ignore into properties values (?, ?, ?)",
            [(object_type, p["name"], json.dumps(p)) for p in props],
        )


class RateLimiter:
    """HubSpot's per-10-second budget for private apps, with its response headers."""

    def __init__(self, per_ten_seconds: int, daily: int, window_seconds: float = 10.0) -> None:
        self.per_ten_seconds, self.daily, self.window_seconds = per_ten_seconds, daily, window_seconds
        self.window: deque[float] = deque()
        self.today = 0
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self.lock:
            now = time.monotonic()
            while self.window and now - self.window[0] >= self.window_seconds:
                self.window.popleft()
            allowed = len(self.window) < self.per_ten_seconds and self.today < self.daily
            if allowed:
                self.window.append(now)
                self.today += 1
            retry_after = self.window_seconds - (now - self.window[0]) if self.window else 0
            headers = {
                "X-HubSpot-RateLimit-Max": str(self.per_ten_seconds),
                "X-HubSpot-RateLimit-Remaining": str(max(self.per_ten_seconds - len(self.window), 0)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window_seconds * 1000)),
                "X-HubSpot-RateLimit-Daily": str(self.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily - self.today, 0)),
            }
            if not allowed:
                headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
            return allowed, headers


class HubSpotApi:
    def __init__(
        self,
        store: HubSpotStore,
        token: str,
        limiter: RateLimiter,
        base_url: str,
        faults: Faults = NO_FAULTS,
        search_limiter: RateLimiter | None = None,
    ) -> None:
        self.store, self.token, self.limiter, self.base_url = store, token, limiter, base_url
        self.faults = faults
        self.search_limiter = search_limiter
        self._search_totals: dict[tuple[Any, ...], int] = {}

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        rest = request.path_params["rest"].strip("/")
        object_type, records = None, 0
        allowed, headers = self.limiter.take()
        if allowed and self.search_limiter is not None and request.method == "POST" and rest.endswith("/search"):
            allowed, search_headers = self.search_limiter.take()
            if not allowed:  # search's own per-second limit, on top of the general budget
                headers["Retry-After"] = search_headers["Retry-After"]
        await self.faults.delay()
        try:
            if self.faults.server_error():
                raise HubSpotError(503, "Service temporarily unavailable (sandbox fault)", "SERVICE_UNAVAILABLE")
            if request.headers.get("authorization", "") != f"Bearer {self.token}":
                raise HubSpotError(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
            if not allowed or self.faults.throttled():
                raise HubSpotError(
                    429,
                    "You have reached your secondly limit.",
                    "RATE_LIMITS",
                    errorType="RATE_LIMIT",
                    policyName="SECONDLY",
                )
            response, object_type, records = self.route(request, rest, body)
        except HubSpotError as exc:
            response = exc.response()
        for name, value in headers.items():
            response.headers[name] = value
        self.store.log(request.method, request.url.path, object_type, records, response.status_code)
        return self.faults.maybe_drop(response)

    def route(self, request: Request, rest: str, body: bytes) -> tuple[Response, str | None, int]:
        parts = rest.split("/")
        method = request.method
        if request.url.path.startswith("/crm/v4/"):
            if len(parts) == 5 and parts[0] == "associations" and parts[3:] == ["batch", "read"] and method == "POST":
                return self.batch_associations(_object_type(parts[1]), _object_type(parts[2]), _json(body))
            raise HubSpotError(404, f"Unable to route {method} /crm/v4/{rest}", "OBJECT_NOT_FOUND")
        if parts[0] == "owners" and method == "GET":
            rows = self.store.execute("select definition from owners order by id")
            return JSONResponse({"results": [json.loads(r[0]) for r in rows]}), "owners", len(rows)
        if parts[0] == "properties" and len(parts) == 2:
            object_type = _object_type(parts[1])
            if method == "GET":
                props = list(self.store.properties(object_type).values())
                return JSONResponse({"results": props}), object_type, len(props)
            if method == "POST":
                return self.create_property(object_type, _json(body)), object_type, 1
        if parts[0] == "objects" and len(parts) >= 2:
            object_type = _object_type(parts[1])
            if len(parts) == 2 and method == "GET":
                return self.list_page(request, object_type)
            if len(parts) == 3 and method == "GET":
                params = request.query_params
                record = self.get(object_type, parts[2], params.getlist("properties"), _flag(params, "archived"))
                if not record["archived"]:
                    self._attach_associations([record], object_type, params.getlist("associations"))
                return JSONResponse(record), object_type, 1
            if len(parts) == 3 and method == "DELETE":
                self.archive(object_type, parts[2])
                return Response(status_code=204), object_type, 1
            if len(parts) == 4 and parts[2] == "batch" and method == "POST":
                return self.batch(object_type, parts[3], _json(body), _flag(request.query_params, "archived"))
            if len(parts) == 3 and parts[2] == "search" and method == "POST":
                return self.search(object_type, _json(body))
        raise HubSpotError(404, f"Unable to route {method} /crm/v3/{rest}", "OBJECT_NOT_FOUND")

    # ------------------------------------------------------------------ reads
    def list_page(self, request: Request, object_type: str) -> tuple[Response, str, int]:
        params = request.query_params
        limit = min(_query_int(params, "limit", 10), PAGE_LIMIT)
        after = _query_int(params, "after", 0)
        archived = _flag(params, "archived")
        wanted = _property_list(params.getlist("properties"))
        rows = self.store.execute(
            "select id, properties, created_at, updated_at, archived from objects where object_type = ? "
            "and archived = ? and cast(id as integer) > ? order by cast(id as integer) limit ?",
            [object_type, int(archived), after, limit + 1],
        )
        results = [self._object(row, wanted, object_type) for row in rows[:limit]]
        if not archived:
            self._attach_associations(results, object_type, params.getlist("associations"))
        body: dict[str, Any] = {"results": results}
        if len(rows) > limit:
            next_after = str(int(rows[limit - 1][0]))
            body["paging"] = {
                "next": {
                    "after": next_after,
                    "link": f"{self.base_url}/crm/v3/objects/{object_type}?after={next_after}",
                }
            }
        return JSONResponse(body), object_type, len(results)

    def _attach_associations(self, records: list[dict[str, Any]], object_type: str, to_types: list[str]) -> None:
        names = [t.strip() for value in to_types for t in value.split(",") if t.strip()]
        for to_type in names:
            target = _object_type(to_type)
            links = associated(self.store.execute, object_type, [r["id"] for r in records], target)
            for record in records:
                block = v3_block(links[record["id"]], object_type, target)
                if block["results"]:  # HubSpot omits an association type with no links
                    record.setdefault("associations", {})[target] = block

    def batch_associations(self, from_type: str, to_type: str, payload: dict) -> tuple[Response, str, int]:
        """v4 batch read. An id with no (live) links is not an empty result but a per-input
        NO_ASSOCIATIONS_FOUND error in a 207, as HubSpot answers."""
        inputs = payload.get("inputs") if isinstance(payload, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise HubSpotError(400, "Invalid input JSON: inputs must be a list of {id, after?}")
        if len(inputs) > V4_BATCH_LIMIT:
            raise HubSpotError(400, f"Batch input length {len(inputs)} exceeds the maximum of {V4_BATCH_LIMIT}")
        started = iso_now()
        ids = [str(item.get("id")) for item in inputs]
        links = associated(self.store.execute, from_type, ids, to_type)
        results, errors = [], []
        for item, record_id in zip(inputs, ids, strict=True):
            if links[record_id]:
                after = _non_negative(item.get("after"), "after")
                results.append(v4_result(record_id, links[record_id], after))
            else:
                errors.append(v4_missing(from_type, record_id, to_type))
        return self._batch_response(started, results, errors), from_type, len(inputs)

    def archive(self, object_type: str, record_id: str) -> None:
        """DELETE archives: the record leaves lists and search, and its stamp moves on so an
        incremental reader of `archived=true` sees it. Archiving twice changes nothing."""
        with self.store.lock:
            rows = self.store.execute(
                "select archived, updated_at from objects where object_type = ? and id = ?", [object_type, record_id]
            )
            if not rows:
                raise HubSpotError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
            if rows[0][0]:
                return
            self.store.execute(
                "update objects set archived = 1, updated_at = ? where object_type = ? and id = ?",
                [stamp_after(rows[0][1]), object_type, record_id],
            )
            self.store.object_writes += 1

    def search(self, object_type: str, payload: dict) -> tuple[Response, str, int]:
        types = {name: d.get("type", "string") for name, d in self.store.properties(object_type).items()}
        try:
            sql, params, limit, offset = search_sql(object_type, payload, types, SEARCHABLE.get(object_type, []))
        except SearchError as exc:
            raise HubSpotError(400, str(exc)) from None
        total = self._search_total(sql, params)
        rows = self.store.execute(f"{sql} limit ? offset ?", [*params, limit, offset])
        wanted = wanted_properties(payload)
        body = page_body(rows, int(total), limit, offset, lambda row: self._object(row, wanted, object_type))
        return JSONResponse(body), object_type, len(body["results"])

    def _search_total(self, sql: str, params: list[Any]) -> int:
        """A search's `total`, counted once per query while no record changes: the pages of one
        query each repeat it, and counting every match again per page of 200 made a read-back of
        a million contacts quadratic (the sandbox's own cost, not a real portal's)."""
        key = (sql, tuple(params), self.store.objects_version())
        if key not in self._search_totals:
            if len(self._search_totals) >= 64:
                self._search_totals.clear()
            (total,) = self.store.execute(f"select count(*) from ({sql})", params)[0]
            self._search_totals[key] = int(total)
        return self._search_totals[key]

    def get(self, object_type: str, record_id: str, properties: list[str], archived: bool = False) -> dict[str, Any]:
        rows = self.store.execute(
            "select id, properties, created_at, updated_at, archived from objects where object_type = ? and id = ?"
            " and archived = ?",
            [object_type, record_id, int(archived)],
        )
        if not rows:
            raise HubSpotError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
        return self._object(rows[0], _property_list(properties), object_type)

    def _object(self, row: tuple, wanted: list[str] | None, object_type: str) -> dict[str, Any]:
        """A record as v3 renders it: the requested properties (or the type's defaults), and
        always `hs_object_id`, `createdate` and the type's modification stamp."""
        record_id, properties, created_at, updated_at, archived = row
        stored = orjson.loads(properties)
        names = wanted if wanted else DEFAULT_READ.get(object_type, [])
        values = {name: stored.get(name) for name in names}
        stamps = {
            "hs_object_id": record_id,
            "createdate": created_at,
            "lastmodifieddate": updated_at,
            "hs_lastmodifieddate": updated_at,
        }
        always = {"hs_object_id", "createdate", MODIFIED_PROPERTY.get(object_type, "lastmodifieddate")}
        values.update({name: value for name, value in stamps.items() if name in always or name in values})
        record: dict[str, Any] = {
            "id": record_id,
            "properties": values,
            "createdAt": created_at,
            "updatedAt": updated_at,
            "archived": bool(archived),
        }
        if archived:
            record["archivedAt"] = updated_at  # archiving is the record's last write
        return record

    # ------------------------------------------------------------------ batch writes
    def batch(self, object_type: str, action: str, payload: dict, archived: bool = False) -> tuple[Response, str, int]:
        inputs = payload.get("inputs") if isinstance(payload, dict) else None
        if not isinstance(inputs, list):
            raise HubSpotError(400, "Invalid input JSON: inputs must be a list")
        if len(inputs) > BATCH_LIMIT:
            raise HubSpotError(400, f"Batch input length {len(inputs)} exceeds the maximum of {BATCH_LIMIT}")
        started = iso_now()
        if action == "read":
            wanted = _property_list(payload.get("properties") or [])
            id_property = payload.get("idProperty")
            results, errors = [], []
            for item in inputs:
                found = self._find(object_type, str(item.get("id")), id_property, archived)
                if found is None:
                    errors.append(_input_error(404, "OBJECT_NOT_FOUND", f"Could not find {item.get('id')}", item))
                else:
                    results.append(self._object(found, wanted, object_type))
            return self._batch_response(started, results, errors), object_type, len(inputs)
        if action not in {"create", "update", "upsert"}:
            raise HubSpotError(404, f"Unknown batch action {action}", "OBJECT_NOT_FOUND")
        definitions = self.store.properties(object_type)
        results, errors = [], []
        with self.store.transaction():
            for item in inputs:
                try:
                    if self.faults.reject_record():
                        raise HubSpotError(409, "Object is being modified by another request", "CONFLICT")
                    results.append(self._write_one(object_type, action, item, definitions))
                except HubSpotError as exc:
                    errors.append(_input_error(exc.status, exc.category, exc.message, item))
        return self._batch_response(started, results, errors), object_type, len(inputs)

    def _write_one(self, object_type: str, action: str, item: dict, definitions: dict) -> dict[str, Any]:
        """One input's result, carrying the input's `objectWriteTraceId` back when it has one (a
        batch's results are not promised in input order, and an upsert's `id` is the record id)."""
        result = self._write_input(object_type, action, item, definitions)
        trace = item.get("objectWriteTraceId")
        return {**result, "objectWriteTraceId": str(trace)} if trace is not None else result

    def _write_input(self, object_type: str, action: str, item: dict, definitions: dict) -> dict[str, Any]:
        properties = item.get("properties") or {}
        _validate(properties, definitions)
        now = iso_now()
        existing = None
        if action == "update":
            existing = self._find(object_type, str(item.get("id")), item.get("idProperty"))
            if existing is None:
                raise HubSpotError(404, f"Object {item.get('id')} not found", "OBJECT_NOT_FOUND")
        elif action == "upsert":
            id_property = item.get("idProperty")
            if not id_property or not (definitions.get(id_property) or {}).get("hasUniqueValue"):
                raise HubSpotError(400, "upsert needs an idProperty with unique values")
            existing = self._find(object_type, str(item.get("id")), id_property)
            if existing is None:
                properties = {**properties, id_property: item.get("id")}
        self.store.object_writes += 1  # before the write: a failed one only costs a recount
        if existing is None:
            record_id = self.store.next_id()
            stored = {k: _as_string(v) for k, v in properties.items()}
            self.store.conn.execute(
                "insert into objects values (?, ?, ?, ?, ?, 0)", [object_type, record_id, json.dumps(stored), now, now]
            )
            row = (record_id, json.dumps(stored), now, now, 0)
            result = self._object(row, list(properties), object_type)
            return {**result, "new": True} if action == "upsert" else result
        record_id, current, created_at, previous, archived = existing
        now = stamp_after(previous)
        stored = {**json.loads(current), **{k: _as_string(v) for k, v in properties.items()}}
        self.store.conn.execute(
            "update objects set properties = ?, updated_at = ? where object_type = ? and id = ?",
            [json.dumps(stored), now, object_type, record_id],
        )
        row = (record_id, json.dumps(stored), created_at, now, archived)
        result = self._object(row, list(properties), object_type)
        return {**result, "new": False} if action == "upsert" else result

    def _find(self, object_type: str, value: str, id_property: str | None, archived: bool = False) -> tuple | None:
        if not id_property or id_property == "hs_object_id":
            rows = self.store.execute(
                "select id, properties, created_at, updated_at, archived from objects where object_type = ? and id = ?"
                " and archived = ?",
                [object_type, value, int(archived)],
            )
        else:
            if not _PROPERTY_NAME.match(id_property):
                raise HubSpotError(400, f"Property {id_property!r} does not exist")
            rows = self.store.execute(
                "select id, properties, created_at, updated_at, archived from objects where object_type = ? "
                f"and archived = ? and {_property_sql(id_property)} = lower(?)",
                [object_type, int(archived), value],
            )
        return rows[0] if rows else None

    @staticmethod
    def _batch_response(started: str, results: list, errors: list) -> JSONResponse:
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "requestedAt": started,
            "startedAt": started,
            "completedAt": iso_now(),
        }
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        return JSONResponse(body, 207 if errors else 200)

    def create_property(self, object_type: str, payload: dict) -> JSONResponse:
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not payload.get(k)]
        if missing:
            raise HubSpotError(400, f"Property is missing required fields: {missing}")
        if payload["type"] not in PROPERTY_TYPES or payload["fieldType"] not in FIELD_TYPES:
            raise HubSpotError(400, f"Invalid type/fieldType: {payload['type']}/{payload['fieldType']}")
        if payload["name"] in self.store.properties(object_type):
            raise HubSpotError(409, f"Property named '{payload['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
        definition = {
            "description": "",
            "options": [],
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": False,
            "hidden": False,
            "formField": True,
            "archived": False,
            "hubspotDefined": False,
            "createdAt": iso_now(),
            "updatedAt": iso_now(),
            **payload,
        }
        self.store.execute(
            "insert into properties values (?, ?, ?)", [object_type, payload["name"], json.dumps(definition)]
        )
        return JSONResponse(definition, 201)


def _validate(properties: dict, definitions: dict) -> None:
    for name, value in properties.items():
        definition = definitions.get(name)
        if definition is None:
            raise HubSpotError(400, f'Property "{name}" does not exist', "VALIDATION_ERROR")
        if name in READ_ONLY:
            raise HubSpotError(400, f'Property "{name}" is read-only', "VALIDATION_ERROR")
        if value in (None, ""):
            continue
        if definition["type"] == "number":
            try:
                float(value)
            except (TypeError, ValueError):
                raise HubSpotError(
                    400, f'Property values were not valid: "{value}" is not a number for {name}'
                ) from None
        if definition["type"] == "enumeration" and definition["options"]:
            allowed = {o["value"] for o in definition["options"]}
            if _as_string(value) not in allowed:
                raise HubSpotError(
                    400, f'Property values were not valid: "{value}" was not one of the allowed options for {name}'
                )


def _as_string(value: Any) -> str | None:
    """HubSpot stores and returns every property value as a string."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_PROPERTY_NAME = re.compile(r"^[a-z0-9_]+$")


def _property_sql(name: str) -> str:
    """A property's value as the lookup compares it (without case); `name` is checked by the caller."""
    return f"lower(json_extract(properties, '$.{name}'))"


def _input_error(status: int, category: str, message: str, item: dict) -> dict:
    context = {"id": [str(item.get("id"))]}
    if item.get("objectWriteTraceId") is not None:  # echoed, so a client can line errors up with inputs
        context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
        "httpStatus": str(status),
    }


def _flag(params: Any, name: str) -> bool:
    return str(params.get(name, "false")).lower() == "true"


def _query_int(params: Any, name: str, default: int) -> int:
    return _non_negative(params.get(name), name, default)


def _non_negative(value: Any, name: str, default: int = 0) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise HubSpotError(400, f"{name} must be a non-negative integer, got {value!r}") from None
    if number < 0:
        raise HubSpotError(400, f"{name} must be a non-negative integer, got {value!r}")
    return number


def _property_list(values: list[str]) -> list[str]:
    names: list[str] = []
    for value in values:
        names.extend(v for v in value.split(",") if v)
    return names


def _object_type(name: str) -> str:
    if name not in OBJECT_TYPES:
        raise HubSpotError(404, f"Unable to infer object type from: {name}", "OBJECT_NOT_FOUND")
    return name


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise HubSpotError(400, "Invalid input JSON on line 1") from None


class HubSpotSandbox(SandboxLifecycle):
    """The HubSpot sandbox on plain HTTP (the real client accepts `host=http://…`)."""

    def __init__(
        self,
        world_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox-hubspot-token",
        requests_per_ten_seconds: int = 190,
        daily_limit: int = 1_000_000,
        rate_window_seconds: float = 10.0,
        faults: Faults | None = None,
        search_requests_per_second: int | None = 5,
    ) -> None:
        self.world_dir = Path(world_dir)
        self.host, self.port, self.token = host, port, token
        self.limiter = RateLimiter(requests_per_ten_seconds, daily_limit, rate_window_seconds)
        # HubSpot limits the search endpoints to 5 requests per second per token; None turns it off.
        self.search_limiter = (
            RateLimiter(search_requests_per_second, 10**12, 1.0) if search_requests_per_second else None
        )
        self.faults = faults or NO_FAULTS
        self.store: HubSpotStore | None = None
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HubSpotSandbox:
        self.store = HubSpotStore(self.world_dir / "hubspot.sqlite")
        api_holder: dict[str, HubSpotApi] = {}

        async def endpoint(request: Request) -> Response:
            return await api_holder["api"].handle(request)

        methods = ["GET", "POST", "PATCH", "DELETE"]
        app = Starlette(
            routes=[
                Route("/crm/v3/{rest:path}", endpoint, methods=methods),
                Route("/crm/v4/{rest:path}", endpoint, methods=methods),
            ]
        )
        self._server = BackgroundServer(app, self.host, self.port)
        self.port = self._server.port
        api_holder["api"] = HubSpotApi(
            self.store, self.token, self.limiter, self.url, self.faults, search_limiter=self.search_limiter
        )
        self._server.start("HubSpot sandbox")
        return self
