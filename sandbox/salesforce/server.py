"""The Salesforce sandbox: REST query/queryAll, describe, sObject CRUD and Collections over HTTPS.

Response shapes, status codes and error bodies follow `shared/docs/CRM_API_NOTES.md`, so the
real simple-salesforce client runs against it unmodified. Every request is logged in the
state file, so tests can assert exactly which calls a run made.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import json
import re
import signal
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.faults import NO_FAULTS, Faults
from sandbox.salesforce.bulk import BulkApi
from sandbox.salesforce.schema import OBJECTS, TRACKED_FIELDS, SObject, sobject
from sandbox.salesforce.soql import Query, SoqlError, parse
from sandbox.salesforce.store import INTEGRATION_USER_ID, REP_USER_ID, Store, api_datetime
from sandbox.salesforce.validation import RecordError, validate_record
from sandbox.serving import BackgroundServer, SandboxLifecycle
from sandbox.tls import issue_server_certificate

COLLECTION_LIMIT = 200
ORGANIZATION_ID = "00D000000000LLpEAA"
# The user behind the request being handled (set by authentication; the integration user when
# the API object is driven without a request, as the Bulk job processing is).
_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default=INTEGRATION_USER_ID)
OPEN_CURSORS = 100  # real orgs cap open query cursors per user too; the oldest expire first


@dataclass(frozen=True)
class Cursor:
    """A query's result, fixed when it ran: the record ids in answer order.

    Later pages return those records even if writes meanwhile re-sort or re-filter them, as a
    real query locator does; re-running the SQL with an offset would skip or repeat rows.
    """

    query: Query
    ids: list[str]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = [{"message": self.message, "errorCode": self.code, "fields": self.fields}]
        return JSONResponse(body, self.status, headers=self.headers or None)


class SalesforceApi:
    """The request handling, independent of the HTTP server that carries it."""

    def __init__(
        self,
        store: Store,
        token: str,
        daily_api_limit: int,
        page_size: int,
        faults: Faults = NO_FAULTS,
        rep_token: str = "sandbox-rep-token",
    ) -> None:
        self.store = store
        self.faults = faults
        self.token = token
        # Token -> user: the integration user Leadloop runs as, and a sales rep editing records.
        self.users = {token: INTEGRATION_USER_ID, rep_token: REP_USER_ID}
        self.daily_api_limit = daily_api_limit
        self.page_size = page_size
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.cursor_lock = threading.Lock()
        self.bulk = BulkApi(self)

    # ------------------------------------------------------------------ entry point
    async def handle(self, request: Request) -> Response:
        version = request.path_params["version"]
        rest = request.path_params["rest"].strip("/")
        body = await request.body()
        obj_name, records, status = None, 0, 500
        await self.faults.delay()
        try:
            if self.faults.server_error():
                raise ApiError(503, "SERVER_UNAVAILABLE", "Service temporarily unavailable (sandbox fault)")
            self._authenticate(request)
            if self.faults.throttled():
                # What an org's concurrent-request or per-user limit looks like from the client.
                raise ApiError(
                    429,
                    "REQUEST_LIMIT_EXCEEDED",
                    "ConcurrentPerOrgLongTxn Limit exceeded (sandbox fault)",
                    headers={"Retry-After": str(self.faults.retry_after)},
                )
            usage = self.store.api_usage()
            if usage >= self.daily_api_limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            response, obj_name, records = self._route(request.method, version, rest, request, body)
        except ApiError as exc:
            response = exc.response()
        except SoqlError as exc:
            response = ApiError(400, exc.code, exc.message).response()
        except Exception as exc:  # a sandbox bug must still answer like Salesforce, and be logged
            response = ApiError(500, "UNKNOWN_EXCEPTION", f"sandbox error: {type(exc).__name__}: {exc}").response()
        status = response.status_code
        self.store.log_request(request.method, request.url.path, obj_name, records, status)
        response.headers["Sforce-Limit-Info"] = f"api-usage={self.store.api_usage()}/{self.daily_api_limit}"
        return self.faults.maybe_drop(response)

    def _authenticate(self, request: Request) -> None:
        """Sets the caller's user for the writes this request makes (`LastModifiedById`)."""
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else request.headers.get("x-sfdc-session", "")
        user = self.users.get(token)
        if user is None:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        _CALLER.set(user)

    async def userinfo(self, request: Request) -> Response:
        """`GET /services/oauth2/userinfo`: who the session belongs to (OpenID Connect claims)."""
        try:
            self._authenticate(request)
        except ApiError as exc:
            return exc.response()
        user = _CALLER.get()
        self.store.log_request(request.method, request.url.path, None, 0, 200)
        return JSONResponse(
            {
                "sub": f"https://login.salesforce.com/id/{ORGANIZATION_ID}/{user}",
                "user_id": user,
                "organization_id": ORGANIZATION_ID,
                "preferred_username": f"{user}@leadloop.sandbox",
            }
        )

    def _route(
        self, method: str, version: str, rest: str, request: Request, body: bytes
    ) -> tuple[Response, str | None, int]:
        parts = rest.split("/") if rest else []
        if parts and parts[0] == "jobs":
            return self.bulk.route(method, parts, request.query_params, body)
        if parts and parts[0] in {"query", "queryAll"} and method == "GET":
            include_deleted = parts[0] == "queryAll"
            if len(parts) == 1:
                return self.query(version, request.query_params.get("q", ""), include_deleted)
            return self.query_more(version, parts[1])
        if parts[:2] == ["composite", "sobjects"] and len(parts) == 2 and method in {"POST", "PATCH"}:
            return self.collection(version, method, _json(body))
        if parts[:2] == ["composite", "sobjects"] and len(parts) == 4 and method == "PATCH":
            return self.collection_upsert(_sobject(parts[2]), parts[3], _json(body))
        if parts == ["sobjects"] and method == "GET":
            return JSONResponse(_describe_global()), None, 0
        if parts and parts[0] == "sobjects" and len(parts) >= 2:
            obj = _sobject(parts[1])
            if len(parts) == 2 and method == "GET":
                return JSONResponse({"objectDescribe": _summary(obj), "recentItems": []}), obj.name, 0
            if len(parts) == 3 and parts[2] == "describe" and method == "GET":
                return JSONResponse(obj.describe()), obj.name, 0
            if len(parts) == 2 and method == "POST":
                return self.create_one(version, obj, _json(body))
            if len(parts) == 3 and method in {"GET", "PATCH", "DELETE"}:
                return self.record(version, obj, parts[2], method, body)
            if len(parts) == 4 and method == "PATCH":
                return self.upsert_one(version, obj, parts[2], parts[3], _json(body))
        raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: {method} {rest}")

    # ------------------------------------------------------------------ query
    def query(self, version: str, soql: str, include_deleted: bool) -> tuple[Response, str | None, int]:
        if not soql.strip():
            raise ApiError(400, "MALFORMED_QUERY", "A query string is required")
        query = parse(soql)
        if query.count_only:
            sql, params = query.sql(include_deleted)
            (total,) = self.store.select(sql, params)[0]
            body = {"totalSize": int(total), "done": True, "records": []}
            return JSONResponse(body), query.sobject.name, 0
        return self._open_cursor(version, query, include_deleted)

    def query_more(self, version: str, locator: str) -> tuple[Response, str | None, int]:
        cursor_id, _, offset = locator.partition("-")
        with self.cursor_lock:
            cursor = self.cursors.get(cursor_id)
        if cursor is None or not offset.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(version, cursor, int(offset), cursor_id)

    def _open_cursor(self, version: str, query: Query, include_deleted: bool) -> tuple[Response, str | None, int]:
        sql, params = query.sql(include_deleted, with_id=True)
        ids = [row[0] for row in self.store.select(f'select "__id" from ({sql})', params)]
        cursor, cursor_id = Cursor(query, ids), None
        if len(ids) > self.page_size:
            cursor_id = uuid.uuid4().hex[:15]
            with self.cursor_lock:
                self.cursors[cursor_id] = cursor
                while len(self.cursors) > OPEN_CURSORS:
                    self.cursors.popitem(last=False)
        return self._page(version, cursor, 0, cursor_id)

    def _page(
        self, version: str, cursor: Cursor, offset: int, cursor_id: str | None
    ) -> tuple[Response, str | None, int]:
        query, ids = cursor.query, cursor.ids[offset : offset + self.page_size]
        columns = ", ".join(f'"{f.name}"' for f in query.fields)
        rows = self.store.select(
            f'select "Id" as "__id", {columns} from "{query.sobject.name}"'
            ' where "Id" in (select value from json_each(?))',
            [json.dumps(ids)],
        )
        by_id = {row["__id"]: dict(row) for row in rows}
        records = [self._record_json(version, query.sobject, by_id[i], query) for i in ids if i in by_id]
        end = offset + len(ids)
        body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids), "records": records}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{cursor_id}-{end}"
        elif cursor_id is not None:
            with self.cursor_lock:
                self.cursors.pop(cursor_id, None)
        return JSONResponse(body), query.sobject.name, len(records)

    def _record_json(self, version: str, obj: SObject, row: dict[str, Any], query: Query | None = None) -> dict:
        fields = query.fields if query else obj.fields
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/{version}/sobjects/{obj.name}/{row.get('__id') or row['Id']}",
            }
        }
        for field in fields:
            value = row.get(field.name)
            if value is not None:
                if field.type == "boolean":
                    value = bool(value)
                elif field.type == "datetime":
                    value = api_datetime(value)
                elif field.type in {"double", "currency", "percent"}:
                    value = float(value)
            out[field.name] = value
        return out

    # ------------------------------------------------------------------ single records
    def record(
        self, version: str, obj: SObject, record_id: str, method: str, body: bytes
    ) -> tuple[Response, str | None, int]:
        current = self.store.get(obj, record_id)
        if current is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if current["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if method == "GET":
            return JSONResponse(self._record_json(version, obj, current)), obj.name, 1
        if method == "DELETE":
            self.delete_record(obj, record_id)
            return Response(status_code=204), obj.name, 1
        try:
            refuse_converted(obj, current)
            values = validate_record(obj, _json(body), creating=False)
        except RecordError as exc:
            raise ApiError(400, exc.code, exc.message, exc.fields) from None
        self._write(obj, record_id, values)
        return Response(status_code=204), obj.name, 1

    def create_one(self, version: str, obj: SObject, payload: dict) -> tuple[Response, str | None, int]:
        try:
            record_id = self._create(obj, payload)
        except RecordError as exc:
            raise ApiError(400, exc.code, exc.message, exc.fields) from None
        return JSONResponse({"id": record_id, "success": True, "errors": []}, 201), obj.name, 1

    def upsert_one(
        self, version: str, obj: SObject, field_name: str, value: str, payload: dict
    ) -> tuple[Response, str | None, int]:
        field = obj.field(field_name)
        if field is None or not (field.external_id or field.id_lookup):
            raise ApiError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        matches = self.store.find_by(obj, field.name, value)
        if len(matches) > 1:
            return JSONResponse([m["Id"] for m in matches], 300), obj.name, 0
        try:
            if matches:
                refuse_converted(obj, matches[0])
                values = validate_record(obj, payload, creating=False)
                self._write(obj, matches[0]["Id"], values)
                return (
                    JSONResponse({"id": matches[0]["Id"], "success": True, "errors": [], "created": False}, 200),
                    obj.name,
                    1,
                )
            record_id = self._create(obj, {**payload, field.name: value})
        except RecordError as exc:
            raise ApiError(400, exc.code, exc.message, exc.fields) from None
        return JSONResponse({"id": record_id, "success": True, "errors": [], "created": True}, 201), obj.name, 1

    # ------------------------------------------------------------------ collections
    def collection(self, version: str, method: str, payload: dict) -> tuple[Response, str | None, int]:
        records = payload.get("records")
        if not isinstance(records, list) or not records:
            raise ApiError(400, "INVALID_FIELD", "records: required and must be a non-empty list")
        if not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "JSON_PARSER_ERROR", "records: each record must be a JSON object")
        if len(records) > COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            )
        all_or_none = bool(payload.get("allOrNone", False))
        results, obj_name = [], None
        with self.store.lock:
            self.store.conn.execute("savepoint collection")
            for record in records:
                record = dict(record)
                record_id = record.get("Id")
                attributes = record.pop("attributes", None) or {}
                obj_name = attributes.get("type") or obj_name
                try:
                    if self.faults.reject_record():
                        raise RecordError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
                    obj = sobject(attributes.get("type", ""))
                    if obj is None:
                        raise RecordError("INVALID_TYPE", "sObject type is missing or not supported", [])
                    if method == "POST":
                        results.append({"id": self._create(obj, record), "success": True, "errors": []})
                        continue
                    record_id = record.pop("Id", None)
                    current = self.store.get(obj, record_id) if record_id else None
                    if current is None or current["IsDeleted"]:
                        raise RecordError(
                            "ENTITY_IS_DELETED" if current else "INVALID_CROSS_REFERENCE_KEY",
                            "entity is deleted" if current else "invalid cross reference id",
                            ["Id"],
                        )
                    refuse_converted(obj, current)
                    self._write(obj, record_id, validate_record(obj, record, creating=False))
                    results.append({"id": record_id, "success": True, "errors": []})
                except RecordError as exc:
                    results.append(
                        {
                            "id": record_id,
                            "success": False,
                            "errors": [{"statusCode": exc.code, "message": exc.message, "fields": exc.fields}],
                        }
                    )
            if all_or_none and not all(r["success"] for r in results):
                self.store.conn.execute("rollback to collection")
                results = [r if not r["success"] else _rolled_back() for r in results]
            self.store.conn.execute("release collection")
        return JSONResponse(results), obj_name, len(records)

    def collection_upsert(self, obj: SObject, field_name: str, payload: dict) -> tuple[Response, str | None, int]:
        """`PATCH composite/sobjects/{Object}/{ExtField}`: each record carries its external id;
        one that matches is updated, none is created, several is a per-record error."""
        field = obj.field(field_name)
        if field is None or not field.external_id:
            raise ApiError(
                400, "INVALID_FIELD", f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        records = payload.get("records")
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "INVALID_FIELD", "records: required and must be a non-empty list of objects")
        if len(records) > COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            )
        results = []
        with self.store.transaction():
            for record in records:
                record = {k: v for k, v in record.items() if k != "attributes"}
                key = record.get(field.name)
                try:
                    if self.faults.reject_record():
                        raise RecordError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
                    if key in (None, ""):
                        raise RecordError("MISSING_ARGUMENT", f"{field.name} not specified", [field.name])
                    matches = self.store.find_by(obj, field.name, key)
                    if len(matches) > 1:
                        raise RecordError(
                            "DUPLICATE_EXTERNAL_ID", f"{field.name} matches several records", [field.name]
                        )
                    if matches:
                        refuse_converted(obj, matches[0])
                        values = {k: v for k, v in record.items() if k != field.name}
                        self._write(obj, matches[0]["Id"], validate_record(obj, values, creating=False))
                        results.append({"id": matches[0]["Id"], "success": True, "errors": [], "created": False})
                    else:
                        results.append(
                            {"id": self._create(obj, record), "success": True, "errors": [], "created": True}
                        )
                except RecordError as exc:
                    error = {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
                    results.append({"id": None, "success": False, "errors": [error]})
        return JSONResponse(results), obj.name, len(records)

    # ------------------------------------------------------------------ writes
    def create_record(self, obj: SObject, payload: dict[str, Any]) -> str:
        return self._create(obj, payload)

    def update_record(self, obj: SObject, record_id: str, payload: dict[str, Any]) -> None:
        self._write(obj, record_id, validate_record(obj, payload, creating=False))

    def delete_record(self, obj: SObject, record_id: str) -> None:
        stamp = self.store.now()
        values = {"IsDeleted": 1, "LastModifiedDate": stamp, "SystemModstamp": stamp, "LastModifiedById": _CALLER.get()}
        self.store.update(obj, record_id, values)

    def _create(self, obj: SObject, payload: dict) -> str:
        values = validate_record(obj, payload, creating=True)
        for field in obj.fields:
            if (
                field.unique
                and values.get(field.name) is not None
                and self.store.find_by(obj, field.name, values[field.name])
            ):
                raise RecordError(
                    "DUPLICATE_VALUE", f"duplicate value found: {field.name} duplicates value on record", [field.name]
                )
        stamp = self.store.now()
        record_id = self.store.next_id(obj)
        row = {f.name: (0 if f.type == "boolean" else None) for f in obj.fields}
        row.update(values)
        row.update(Id=record_id, IsDeleted=0, CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
        row.update(LastModifiedById=_CALLER.get())
        self.store.insert_many(obj, [row])
        if obj.name in TRACKED_FIELDS:  # field history tracking records the creation itself
            self.store.add_history(obj, [(record_id, "created", None, None, stamp, _CALLER.get())])
        return record_id

    def _write(self, obj: SObject, record_id: str, values: dict[str, Any]) -> None:
        for field in obj.fields:
            if field.unique and values.get(field.name) is not None:
                clash = [m for m in self.store.find_by(obj, field.name, values[field.name]) if m["Id"] != record_id]
                if clash:
                    raise RecordError("DUPLICATE_VALUE", f"duplicate value found: {field.name}", [field.name])
        if "Email" in values and obj.field("EmailBouncedReason") and "EmailBouncedReason" not in values:
            # A new address has not bounced: the org clears the old one's bounce with it.
            current = self.store.get(obj, record_id) or {}
            if (current.get("Email") or "").lower() != (values["Email"] or "").lower():
                values = {**values, "EmailBouncedReason": None, "EmailBouncedDate": None}
        stamp = self.store.now()
        who = _CALLER.get()
        self.store.update(
            obj, record_id, {**values, "LastModifiedDate": stamp, "SystemModstamp": stamp, "LastModifiedById": who}
        )


def refuse_converted(obj: SObject, current: dict[str, Any]) -> None:
    """A converted lead is read-only to an API user without "View and Edit Converted Leads", which
    an integration user should not have: its data lives on the Contact the conversion made."""
    if obj.name == "Lead" and current.get("IsConverted"):
        raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])


def _rolled_back() -> dict[str, Any]:
    message = "Record rolled back because not all records were valid and the request was using AllOrNone header"
    return {
        "id": None,
        "success": False,
        "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": message, "fields": []}],
    }


def _summary(obj: SObject) -> dict[str, Any]:
    described = obj.describe()
    described.pop("fields")
    return {**described, "urls": {"describe": f"/services/data/v59.0/sobjects/{obj.name}/describe"}}


def _describe_global() -> dict[str, Any]:
    return {"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT, "sobjects": [_summary(o) for o in OBJECTS.values()]}


def _sobject(name: str) -> SObject:
    obj = sobject(name)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'")
    return obj


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None


_VERSION = re.compile(r"^v\d+\.\d+$")


class SalesforceSandbox(SandboxLifecycle):
    """The sandbox server on loopback, in a background thread; state in `world_dir/salesforce.sqlite`."""

    def __init__(
        self,
        world_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sandbox-token",
        rep_token: str = "sandbox-rep-token",
        daily_api_limit: int = 1_000_000,
        page_size: int = 2000,
        faults: Faults | None = None,
    ) -> None:
        self.world_dir = Path(world_dir)
        self.host, self.port, self.token = host, port, token
        self.rep_token = rep_token  # a sales rep's session: tests make "human" edits with it
        self.daily_api_limit, self.page_size = daily_api_limit, page_size
        self.faults = faults or NO_FAULTS
        self.store: Store | None = None
        self._server: BackgroundServer | None = None
        self.ca_path = self.world_dir / "tls" / "ca.pem"

    @property
    def instance_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def app(self) -> Starlette:
        assert self.store is not None
        api = SalesforceApi(
            self.store, self.token, self.daily_api_limit, self.page_size, self.faults, rep_token=self.rep_token
        )

        async def endpoint(request: Request) -> Response:
            if not _VERSION.match(request.path_params["version"]):
                return ApiError(404, "NOT_FOUND", "The requested resource does not exist").response()
            return await api.handle(request)

        return Starlette(
            routes=[
                Route(
                    "/services/data/{version}/{rest:path}", endpoint, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]
                ),
                Route("/services/oauth2/userinfo", api.userinfo, methods=["GET"]),
            ]
        )

    def start(self) -> SalesforceSandbox:
        self.store = Store(self.world_dir / "salesforce.sqlite")
        self.ca_path, server_pem = issue_server_certificate(self.world_dir / "tls")
        self._server = BackgroundServer(self.app(), self.host, self.port, certfile=server_pem)
        self.port = self._server.port
        self._server.start("Salesforce sandbox")
        return self


def main() -> None:
    from sandbox.endpoints import write_endpoints

    parser = argparse.ArgumentParser(description="Serve the Salesforce sandbox until interrupted.")
    parser.add_argument("world_dir", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--endpoints-dir", type=Path, default=None)
    args = parser.parse_args()
    with SalesforceSandbox(args.world_dir, port=args.port) as sandbox:
        if args.endpoints_dir:
            write_endpoints(
                args.endpoints_dir,
                salesforce={
                    "instance_url": sandbox.instance_url,
                    "ca_path": str(sandbox.ca_path),
                    "token": sandbox.token,
                },
            )
        print(f"Salesforce sandbox at {sandbox.instance_url}", flush=True)
        stop = threading.Event()
        # SIGTERM (how `leadloop dev` and CI stop it) must close the state file cleanly too.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
