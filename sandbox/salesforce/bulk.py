"""Bulk API 2.0: query jobs (CSV pages behind `Sforce-Locator`) and ingest jobs (CSV upload,
per-record successful / failed / unprocessed results).

Jobs finish as soon as they are closed (the client polls; a real org may take minutes), and
live in memory: a restart loses jobs, not data, as a real org's job history would not matter
to a re-run either.
"""

from __future__ import annotations

import csv
import io
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from sandbox.salesforce.schema import SObject, sobject
from sandbox.salesforce.soql import Query, parse
from sandbox.salesforce.store import api_datetime
from sandbox.salesforce.validation import RecordError

if TYPE_CHECKING:
    from sandbox.salesforce.server import SalesforceApi

API_VERSION = 59.0
CSV_TYPE = "text/csv"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
INGEST_OPERATIONS = {"insert", "update", "upsert", "delete"}


@dataclass
class Job:
    id: str
    kind: str  # "query" | "ingest"
    operation: str
    sobject: SObject
    state: str
    created: str
    query: Query | None = None
    external_id: str | None = None
    total: int = 0
    upload: list[str] = field(default_factory=list)
    successes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    error: str | None = None
    selective: bool = False  # the query keeps under a quarter of the object's rows

    def info(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject.name,
            "createdById": "005000000000001AAA",
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": API_VERSION,
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            "jobType": "V2Query" if self.kind == "query" else "V2Ingest",
        }
        if self.kind == "query":
            body["numberRecordsProcessed"] = self.total if self.state == "JobComplete" else 0
        else:
            body["externalIdFieldName"] = self.external_id
            body["numberRecordsProcessed"] = len(self.successes) + len(self.failures)
            body["numberRecordsFailed"] = len(self.failures)
        if self.error:
            body["errorMessage"] = self.error
        return body


class BulkApi:
    def __init__(self, api: SalesforceApi) -> None:
        self.api = api
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def route(self, method: str, parts: list[str], params: Any, body: bytes) -> tuple[Response, str | None, int]:
        from sandbox.salesforce.server import ApiError, _json

        kind = parts[1] if len(parts) > 1 else ""
        if kind not in {"query", "ingest"}:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(parts) == 2 and method == "POST":
            job = self._create(kind, _json(body))
            return JSONResponse(job.info()), job.sobject.name, 0
        job = self._job(kind, parts[2] if len(parts) > 2 else "")
        if len(parts) == 3:
            if method == "GET":
                return JSONResponse(job.info()), job.sobject.name, 0
            if method == "PATCH":
                return self._set_state(job, _json(body).get("state", "")), job.sobject.name, 0
            if method == "DELETE":
                with self.lock:
                    self.jobs.pop(job.id, None)
                return Response(status_code=204), job.sobject.name, 0
        if len(parts) == 4:
            tail = parts[3].lower()
            if kind == "query" and tail == "results" and method == "GET":
                return self._query_page(job, params)
            if kind == "ingest" and tail == "batches" and method == "PUT":
                return self._upload(job, body)
            if (
                kind == "ingest"
                and method == "GET"
                and tail in {"successfulresults", "failedresults", "unprocessedrecords"}
            ):
                return self._ingest_results(job, tail)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    # ------------------------------------------------------------------ jobs
    def _create(self, kind: str, payload: dict) -> Job:
        from sandbox.salesforce.server import ApiError

        now = api_datetime(self.api.store.now())
        job_id = "750" + uuid.uuid4().hex[:15]
        if kind == "query":
            operation = payload.get("operation", "query")
            if operation not in {"query", "queryAll"}:
                raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
            query = parse(payload.get("query", ""))
            sql, params = query.sql(include_deleted=operation == "queryAll", ordered=False)
            (total,) = self.api.store.select(f"select count(*) from ({sql})", params)[0]
            (rows,) = self.api.store.select(f'select count(*) from "{query.sobject.name}"', [])[0]
            job = Job(job_id, kind, operation, query.sobject, "JobComplete", now, query=query, total=int(total))
            job.selective = total * 4 < rows
            if self.api.faults.fail_job():
                job.state, job.error = "Failed", "InternalServerError: the query job failed (sandbox fault)"
        else:
            operation = payload.get("operation", "")
            obj = sobject(payload.get("object", ""))
            if obj is None or operation not in INGEST_OPERATIONS:
                raise ApiError(400, "INVALIDJOB", "object and a valid operation are required")
            if payload.get("contentType", "CSV") != "CSV":
                raise ApiError(400, "INVALIDJOB", "Only CSV content is supported")
            external_id = payload.get("externalIdFieldName")
            if operation == "upsert":
                target = obj.field(external_id or "")
                if target is None or not (target.external_id or target.id_lookup):
                    raise ApiError(400, "INVALIDJOB", f"Invalid external ID field: {external_id}")
            job = Job(job_id, kind, operation, obj, "Open", now, external_id=external_id)
        with self.lock:
            self.jobs[job.id] = job
        return job

    def _job(self, kind: str, job_id: str) -> Job:
        from sandbox.salesforce.server import ApiError

        job = self.jobs.get(job_id)
        if job is None or job.kind != kind:
            raise ApiError(404, "NOT_FOUND", f"Job {job_id} not found")
        return job

    def _set_state(self, job: Job, state: str) -> Response:
        from sandbox.salesforce.server import ApiError

        if state == "Aborted":
            job.state = "Aborted"
        elif state == "UploadComplete" and job.kind == "ingest" and job.state == "Open":
            if self.api.faults.fail_job():
                job.state, job.error = "Failed", "InternalServerError: the ingest job failed (sandbox fault)"
            else:
                self._process(job)
        else:
            raise ApiError(400, "INVALIDJOBSTATE", f"Invalid state transition to {state} from {job.state}")
        return JSONResponse(job.info())

    # ------------------------------------------------------------------ query
    def _query_page(self, job: Job, params: Any) -> tuple[Response, str | None, int]:
        assert job.query is not None
        max_records = int(params.get("maxRecords", 50_000))
        offset = int(params.get("locator") or 0)
        sql, sql_params = job.query.sql(include_deleted=job.operation == "queryAll", selective=job.selective)
        fields = job.query.fields
        # Booleans are rendered by SQLite and the rest written by the C csv writer (None as an
        # empty cell, floats by repr): a Python call per cell made the sandbox, not the client,
        # the bottleneck of every bulk benchmark.
        columns = ", ".join(_csv_expression(f.type, f.name) for f in fields)
        rows = self.api.store.select_tuples(
            f"select {columns} from ({sql}) limit ? offset ?", [*sql_params, max_records, offset]
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([f.name for f in fields])
        writer.writerows(rows)
        done = offset + len(rows) >= job.total
        response = Response(out.getvalue(), media_type=CSV_TYPE)
        response.headers["Sforce-NumberOfRecords"] = str(len(rows))
        response.headers["Sforce-Locator"] = "null" if done else str(offset + len(rows))
        return response, job.sobject.name, len(rows)

    # ------------------------------------------------------------------ ingest
    def _upload(self, job: Job, body: bytes) -> tuple[Response, str | None, int]:
        from sandbox.salesforce.server import ApiError

        if job.state != "Open":
            raise ApiError(400, "INVALIDJOBSTATE", "Job is not open for uploads")
        if len(body) + sum(len(u) for u in job.upload) > MAX_UPLOAD_BYTES:
            raise ApiError(400, "EXCEEDED_QUOTA", "Upload exceeds 100 MB")
        job.upload.append(body.decode("utf-8"))
        return Response(status_code=201), job.sobject.name, 0

    def _process(self, job: Job) -> None:
        rows: list[dict[str, str]] = []
        for chunk in job.upload:
            reader = csv.DictReader(io.StringIO(chunk))
            job.columns = job.columns or list(reader.fieldnames or [])
            rows.extend(reader)
        # One commit for the job, as an org commits a batch at a time: a commit per row made the
        # sandbox, not the client, the bottleneck of every large ingest.
        with self.api.store.transaction():
            for row in rows:
                try:
                    if self.api.faults.reject_record():
                        raise RecordError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
                    record_id, created = self._apply(job, row)
                    job.successes.append({"sf__Id": record_id, "sf__Created": str(created).lower(), **row})
                except RecordError as exc:
                    message = f"{exc.code}:{exc.message}:{','.join(exc.fields)} --"
                    job.failures.append({"sf__Id": row.get("Id", ""), "sf__Error": message, **row})
        job.upload.clear()
        job.state = "JobComplete"

    def _apply(self, job: Job, row: dict[str, str]) -> tuple[str, bool]:
        from sandbox.salesforce.server import refuse_converted

        obj = job.sobject
        values = {name: _from_csv(obj, name, value) for name, value in row.items() if value != ""}
        if job.operation == "insert":
            return self.api.create_record(obj, values), True
        if job.operation in {"update", "delete"}:
            record_id = values.pop("Id", None)
            current = self.api.store.get(obj, record_id) if record_id else None
            if current is None or current["IsDeleted"]:
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
            if job.operation == "delete":
                self.api.delete_record(obj, record_id)
            else:
                refuse_converted(obj, current)
                self.api.update_record(obj, record_id, values)
            return record_id, False
        key_field = obj.field(job.external_id or "")
        assert key_field is not None
        key = values.pop(key_field.name, None)
        matches = self.api.store.find_by(obj, key_field.name, key) if key is not None else []
        if len(matches) > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID", f"{key_field.name} matches several records", [key_field.name])
        if matches:
            refuse_converted(obj, matches[0])
            self.api.update_record(obj, matches[0]["Id"], values)
            return matches[0]["Id"], False
        return self.api.create_record(obj, {**values, key_field.name: key}), True

    def _ingest_results(self, job: Job, tail: str) -> tuple[Response, str | None, int]:
        if tail == "successfulresults":
            rows, head = job.successes, ["sf__Id", "sf__Created"]
        elif tail == "failedresults":
            rows, head = job.failures, ["sf__Id", "sf__Error"]
        else:
            rows, head = [], []
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*head, *job.columns], lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), media_type=CSV_TYPE), job.sobject.name, len(rows)


def _csv_expression(field_type: str, name: str) -> str:
    """The SQL for one Bulk CSV column: booleans as `true`/`false`, everything else as stored
    (datetimes are already in the `…sssZ` form)."""
    if field_type == "boolean":
        return f"case \"{name}\" when 1 then 'true' when 0 then 'false' end"
    return f'"{name}"'


def _from_csv(obj: SObject, name: str, value: str) -> Any:
    """A CSV cell as the JSON value validation expects; `#N/A` sets null, as in the real API."""
    if value == "#N/A":
        return None
    field = obj.field(name)
    if field is None:
        return value  # validation reports INVALID_FIELD
    if field.type == "boolean":
        return value.strip().lower() == "true"
    if field.type == "int":
        try:
            return int(value)
        except ValueError:
            return value
    if field.type in {"double", "currency", "percent"}:
        try:
            return float(value)
        except ValueError:
            return value
    return value
