"""Salesforce: sObject Collections (200 records a call) for small writes, a Bulk API 2.0 ingest job
for writes of `bulk_threshold` records or more; a result per record either way.

Collections run with `allOrNone: false`, so one bad record does not sink its batch. A Bulk job
reports per record too (successful / failed / unprocessed results), so both paths feed the same
rule: only a per-record success counts as confirmed.

What is retried within the run, because waiting fixes it:
- a whole call that may not have reached the org or that the org failed on its own (connection
  errors, timeouts, 5xx), or that was throttled (429, `REQUEST_LIMIT_EXCEEDED`): with backoff,
  and never sooner than the `Retry-After` the org asked for;
- single records the org could not lock (`UNABLE_TO_LOCK_ROW`): sent again in a later call, up
  to `record_attempts` (6) times, so an org that locks one record in ten leaves about one in a
  million for the next run (with 3 attempts it was one in a thousand: a few records of every
  large sync).
Updates are keyed by Id, so a repeat of a write that did land is harmless. Anything else (400,
expired session) will not change in seconds: those records are failed with their error and
retried on the next run.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError
from tenacity import RetryCallState, retry, retry_if_exception, stop_after_attempt, wait_exponential

from reverse_etl.destinations import RecordResult
from reverse_etl.planner import RecordChange
from reverse_etl.spec import SyncSpec

logger = logging.getLogger(__name__)

COLLECTION_LIMIT = 200
COLLECTIONS_PATH = "composite/sobjects"
BULK_THRESHOLD = 2_000
# A Bulk 2.0 job takes at most 100 MB of CSV; the client splits above that, we stay well under.
BULK_JOB_BYTES = 90 * 1024 * 1024
# create, upload, close, poll, read the job, successful / failed / unprocessed results
BULK_CALLS_PER_JOB = 8
# At most this many records go to one `write` (one or more Bulk jobs, their results and their
# state): a whole plan of 892k records at 1M leads took the sync's process to 4 GB, building
# every record's CSV row and parsing every result row before any state was kept. A job of
# 200k costs 8 calls like one of 900k, so the API bill barely moves.
BULK_WRITE_RECORDS = 200_000
# Per-record codes that mean "not now" rather than "not this": another transaction held the row.
TRANSIENT_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
THROTTLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})
# Bulk 2.0 reads an empty cell as "leave unchanged"; this sets the field to null.
BULK_NULL = "#N/A"


class PreflightError(RuntimeError):
    """The org lacks fields the sync writes; raised before anything is sent."""


class QuotaGuardError(RuntimeError):
    """Sending the next write would take the org past the share of its daily API allowance the
    sync may use; raised before that write, so what was confirmed so far is kept."""


_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
# A Salesforce record id (15 or 18 letters and digits): safe inside a SOQL string literal.
_SOQL_ID = re.compile(r"[A-Za-z0-9]{15,18}")


def _error_codes(exc: SalesforceError) -> set[str]:
    content = exc.content if isinstance(exc.content, list) else []
    return {str(e.get("errorCode")) for e in content if isinstance(e, dict)}


def _transient(exc: BaseException) -> bool:
    """Worth sending again: updates are keyed by Id, so a repeat of a write that did land is harmless.

    A response cut off mid-body (ChunkedEncodingError) counts: the org may have applied the batch,
    but we cannot know which records it confirmed. A throttled call (429, or the org's
    `REQUEST_LIMIT_EXCEEDED` on a 403) is transient by definition: the limit resets."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, SalesforceError):
        return exc.status >= 500 or exc.status == 429 or bool(_error_codes(exc) & THROTTLE_CODES)
    return False


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds; an HTTP date is not worth a parser here)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


class SalesforceDestination:
    def __init__(
        self,
        client: Salesforce,
        *,
        attempts: int = 6,
        backoff: float = 0.5,
        max_wait: float = 8.0,
        max_retry_after: float = 60.0,
        record_attempts: int = 6,
        timeout: float = 120.0,
        bulk_threshold: int = BULK_THRESHOLD,
        bulk_poll_wait: float = 0.5,
        bulk_write_records: int = BULK_WRITE_RECORDS,
        quota_share: float | None = 0.5,
    ) -> None:
        self.client = client
        self._own_user_id: str | None = None
        self.timeout = timeout
        self.backoff = backoff
        self.record_attempts = record_attempts
        self.bulk_threshold = bulk_threshold
        self.bulk_write_records = max(bulk_write_records, 2 * bulk_threshold)  # every share goes by Bulk
        self.bulk_poll_wait = bulk_poll_wait
        self.max_retry_after = max_retry_after
        self.max_wait = max_wait
        # The daily API allowance is the org's, shared with every other integration and user: a
        # sync may use at most this share of it (None: no guard). Read from Sforce-Limit-Info.
        self.quota_share = quota_share
        self.api_usage: tuple[int, int] | None = None
        # Every request the org answered on this client's session (describe, collections, each
        # step and poll of a Bulk job, retries): the executor records a run's share of it.
        self.api_calls = 0
        self._retry_after: float | None = None
        self._backoff = wait_exponential(multiplier=backoff, max=max_wait)
        # simple-salesforce drops the response headers when it raises, so Retry-After is read by
        # a hook on the client's own session as the response goes by.
        self._watch_session()
        policy = retry(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            before_sleep=self._log_retry,
            reraise=True,
        )
        self._send = policy(self._send_once)
        self._bulk_job = policy(self._bulk_job_once)

    # ------------------------------------------------------------------ pacing
    def _watch_session(self) -> None:
        """Hooks the client's current session. Checked again before each preflight and write: a
        client shared with a bronze load gets its session swapped for a read-retrying one, and
        the hook (counts, limits, Retry-After) must follow."""
        session = getattr(self.client, "session", None)
        if session is None:
            return
        hooks = session.hooks.setdefault("response", [])
        if self._remember_retry_after not in hooks:
            hooks.append(self._remember_retry_after)

    def _remember_retry_after(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.api_calls += 1
        usage = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if usage:
            self.api_usage = (int(usage.group(1)), int(usage.group(2)))
        if response.status_code in {403, 429, 503}:
            self._retry_after = parse_retry_after(response.headers.get("Retry-After"))

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff, but never less than what the org asked for (capped, so a bogus
        header cannot park the run for hours)."""
        asked, self._retry_after = self._retry_after, None
        return max(self._backoff(state), min(asked or 0.0, self.max_retry_after))

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = getattr(exc, "status", type(exc).__name__)
        logger.info("Salesforce call retried (attempt %d, %s)", state.attempt_number, status)

    # ------------------------------------------------------------------ cost
    def write_size(self, spec: SyncSpec, planned: int) -> int:
        """How many records the executor should hand over per `write`: for Bulk, equal shares of
        at most `bulk_write_records` (each one job or more, its state kept when it ends), else one
        collection call's worth, so state is kept per call."""
        if planned < self.bulk_threshold:
            return min(spec.batch_size, COLLECTION_LIMIT)
        writes = math.ceil(planned / self.bulk_write_records)
        return math.ceil(planned / writes)

    def estimate_calls(self, spec: SyncSpec, changes: Sequence[RecordChange]) -> int:
        """API calls sending `changes` costs when nothing is retried, in the writes `write_size`
        cuts them into."""
        if not changes:
            return 0
        if len(changes) < self.bulk_threshold:
            return math.ceil(len(changes) / min(spec.batch_size, COLLECTION_LIMIT))
        step = self.write_size(spec, len(changes))
        calls = 0
        for start in range(0, len(changes), step):
            part = changes[start : start + step]
            if len(part) < self.bulk_threshold:
                calls += math.ceil(len(part) / min(spec.batch_size, COLLECTION_LIMIT))
            else:
                calls += BULK_CALLS_PER_JOB * sum(1 for _ in _bulk_jobs(part))
        return calls

    # ------------------------------------------------------------------ preflight
    def current_values(self, spec: SyncSpec, keys: list[str]) -> dict[str, tuple[dict[str, Any], bool]]:
        """The mapped fields of the records the org still has, and whether this client's own user
        (the integration user) made their last change (`LastModifiedById`): SOQL by Id, 200 a query."""
        if self._own_user_id is None:
            info = self.client.oauth2("userinfo") or {}
            self._own_user_id = str(info.get("user_id", ""))
        fields = list(spec.fields.values())
        safe = [key for key in keys if _SOQL_ID.fullmatch(key)]
        found: dict[str, tuple[dict[str, Any], bool]] = {}
        for start in range(0, len(safe), COLLECTION_LIMIT):
            ids = ", ".join(f"'{key}'" for key in safe[start : start + COLLECTION_LIMIT])
            soql = f"SELECT Id, {', '.join(fields)}, LastModifiedById FROM {spec.object} WHERE Id IN ({ids})"
            for record in self.client.query_all(soql)["records"]:
                found[str(record["Id"])] = (
                    {name: record.get(name) for name in fields},
                    record.get("LastModifiedById") == self._own_user_id,
                )
        return found

    def preflight(self, spec: SyncSpec) -> None:
        """One describe call: every mapped field must exist and be updateable by this user, or
        nothing is sent (each record would otherwise fail alone, with the same error)."""
        self._watch_session()
        try:
            described = getattr(self.client, spec.object).describe()
        except SalesforceError as exc:
            raise PreflightError(f"{spec.name}: cannot describe {spec.object}: {_describe(exc)}") from None
        fields = {f.get("name"): f for f in described.get("fields", []) if isinstance(f, dict)}
        wanted = list(spec.fields.values())
        missing = [name for name in wanted if name not in fields]
        read_only = [name for name in wanted if name in fields and not fields[name].get("updateable")]
        problems = []
        if missing:
            problems.append(f"missing on {spec.object}: {', '.join(missing)}")
        if read_only:
            problems.append(f"not updateable by this user: {', '.join(read_only)}")
        if problems:
            raise PreflightError(
                f"{spec.name}: the org is not ready, nothing was sent ({'; '.join(problems)}); deploy the "
                "custom fields Leadloop writes and grant the integration user edit access"
            )

    def _guard_quota(self, spec: SyncSpec, calls: int) -> None:
        """Stops before a write whose calls would pass `quota_share` of the daily allowance, as
        last reported by the org (the preflight's describe reports it before the first write)."""
        if self.quota_share is None or self.api_usage is None:
            return
        used, limit = self.api_usage
        budget = int(limit * self.quota_share)
        if used + calls > budget:
            raise QuotaGuardError(
                f"{spec.name}: stopped before sending: the next write needs {calls} API call(s) and the org has used "
                f"{used} of {limit} today; this sync may use up to {self.quota_share:.0%} ({budget}). Records not "
                "sent are planned again on the next run"
            )

    # ------------------------------------------------------------------ writes
    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]:
        if spec.operation not in {"update", "upsert", "insert_once"}:
            raise ValueError(f"{spec.name}: Salesforce operation {spec.operation!r} is not supported yet")
        self._watch_session()
        self._guard_quota(spec, self.estimate_calls(spec, changes))
        outcomes: dict[str, RecordResult] = {}
        pending: list[RecordChange] = list(changes)
        for attempt in range(self.record_attempts):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), self.max_wait))
            for result in self._write_pass(spec, pending):
                outcomes[result.key] = result
            pending = [c for c in pending if _retryable(outcomes[c.key])]
            if not pending:
                break
            logger.info("%s: %d record(s) locked by the org, sending them again", spec.name, len(pending))
        return [outcomes[c.key] for c in changes]

    def _write_pass(self, spec: SyncSpec, changes: Sequence[RecordChange]) -> list[RecordResult]:
        if len(changes) >= self.bulk_threshold:
            return self._write_bulk(spec, changes)
        results: list[RecordResult] = []
        for batch in _batches(changes, min(spec.batch_size, COLLECTION_LIMIT)):
            results.extend(self._write_batch(spec, batch))
        return results

    def _write_batch(self, spec: SyncSpec, batch: Sequence[RecordChange]) -> list[RecordResult]:
        upsert = spec.operation in {"upsert", "insert_once"}  # insert_once: an upsert the planner sends once
        key_field = spec.external_id if upsert else "Id"
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": spec.object}, **c.payload, key_field: c.key} for c in batch],
        }
        path = f"{COLLECTIONS_PATH}/{spec.object}/{spec.external_id}" if upsert else COLLECTIONS_PATH
        try:
            response = self._send(body, path)
        except (SalesforceError, requests.RequestException) as exc:
            error = _describe(exc)
            logger.warning("%s: a batch of %d failed as a whole (%s)", spec.name, len(batch), _code(error))
            return [RecordResult(c.key, False, error) for c in batch]
        if not _matches(batch, response, by_id=not upsert):
            # Results are positional; if they cannot be lined up, nothing in the batch is confirmed.
            error = "UNEXPECTED_RESPONSE: collections response does not line up with the request"
            logger.warning("%s: %s (batch of %d)", spec.name, error, len(batch))
            return [RecordResult(c.key, False, error) for c in batch]
        return [
            RecordResult(c.key, True)
            if outcome.get("success") is True
            else RecordResult(c.key, False, _record_error(outcome.get("errors") or []))
            for c, outcome in zip(batch, response, strict=True)
        ]

    def _send_once(self, body: dict[str, Any], path: str = COLLECTIONS_PATH) -> Any:
        return self.client.restful(path, method="PATCH", json=body, timeout=self.timeout)

    # ------------------------------------------------------------------ bulk
    def _write_bulk(self, spec: SyncSpec, changes: Sequence[RecordChange]) -> list[RecordResult]:
        results: list[RecordResult] = []
        for job in _bulk_jobs(changes):
            try:
                results.extend(self._bulk_job(spec, job))
            except (SalesforceError, SalesforceOperationError, requests.RequestException) as exc:
                error = _describe(exc)
                logger.warning("%s: a Bulk job of %d failed as a whole (%s)", spec.name, len(job), _code(error))
                results.extend(RecordResult(c.key, False, error) for c in job)
        return results

    def _bulk_job_once(self, spec: SyncSpec, job: Sequence[RecordChange]) -> list[RecordResult]:
        """One Bulk 2.0 update job through the client, then its three per-record result files.

        A job that ends Failed or Aborted raises (the client reads `errorMessage`): its records
        are failed and retried, since which of them the org applied is unknown."""
        upsert = spec.operation in {"upsert", "insert_once"}
        key_field = spec.external_id if upsert else "Id"
        records = [
            {
                key_field: c.key,
                **{name: BULK_NULL if value is None else _cell(value) for name, value in c.payload.items()},
            }
            for c in job
        ]
        handler = getattr(self.client.bulk2, spec.object)
        if upsert:
            (summary,) = handler.upsert(
                records=records,
                external_id_field=spec.external_id,
                batch_size=len(records),
                wait=self.bulk_poll_wait,
            )
        else:
            (summary,) = handler.update(records=records, batch_size=len(records), wait=self.bulk_poll_wait)
        job_id = summary["job_id"]
        outcomes: dict[str, RecordResult] = {}
        for row in _csv_rows(handler.get_successful_records(job_id)):
            key = row.get(key_field) or row.get("sf__Id") or ""
            outcomes[key] = RecordResult(key, True)
        for row in _csv_rows(handler.get_failed_records(job_id)):
            key = row.get(key_field) or row.get("sf__Id") or ""
            outcomes[key] = RecordResult(key, False, _bulk_error(row.get("sf__Error", "")))
        for row in _csv_rows(handler.get_unprocessed_records(job_id)):
            key = row.get(key_field) or ""
            outcomes[key] = RecordResult(key, False, "UNPROCESSED: the Bulk job did not process this record")
        missing = "NO_RESULT: the Bulk job reported nothing for this record"
        return [outcomes.get(c.key) or RecordResult(c.key, False, missing) for c in job]


def _retryable(result: RecordResult) -> bool:
    return not result.success and _code(result.error or "") in TRANSIENT_RECORD_CODES


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text))) if text and text.strip() else []


def _bulk_jobs(changes: Sequence[RecordChange]) -> Iterator[Sequence[RecordChange]]:
    """Split by CSV size so no job's upload comes near Bulk 2.0's 100 MB."""
    start, size = 0, 0
    for i, change in enumerate(changes):
        size += len(change.payload_json) + 24
        if size > BULK_JOB_BYTES and i > start:
            yield changes[start:i]
            start, size = i, len(change.payload_json) + 24
    if start < len(changes):
        yield changes[start:]


def _bulk_error(raw: str) -> str:
    """`CODE:message:Field1,Field2 --` → our `CODE: message (Field1, Field2)`."""
    text = raw.strip().removesuffix("--").strip()
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":")
    if not message:  # no fields part
        message, fields = rest, ""
    names = [f for f in fields.split(",") if f.strip()]
    return _format(code or "UNKNOWN_ERROR", message or "rejected without an error message", names)


def _batches(items: Sequence[RecordChange], size: int) -> Iterator[Sequence[RecordChange]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _matches(batch: Sequence[RecordChange], response: Any, by_id: bool = True) -> bool:
    """Results are positional; with keys that are Ids, each result must also name its record."""
    if not isinstance(response, list) or len(response) != len(batch):
        return False
    for change, outcome in zip(batch, response, strict=True):
        if not isinstance(outcome, dict):
            return False
        if not by_id:
            continue
        returned = outcome.get("id")
        # 15- and 18-character forms of one Id share their first 15 characters.
        if returned and str(returned)[:15] != change.key[:15]:
            return False
    return True


def _format(code: Any, message: Any, fields: Any) -> str:
    names = ", ".join(str(f) for f in fields or [])
    return f"{code}: {message}" + (f" ({names})" if names else "")


def _record_error(errors: list[dict[str, Any]]) -> str:
    parts = [_format(e.get("statusCode"), e.get("message"), e.get("fields")) for e in errors if isinstance(e, dict)]
    return "; ".join(parts) or "UNKNOWN_ERROR: rejected without an error message"


def _describe(exc: Exception) -> str:
    if isinstance(exc, SalesforceError):
        content = exc.content if isinstance(exc.content, list) else []
        errors = [e for e in content if isinstance(e, dict)]
        if errors:
            return "; ".join(_format(e.get("errorCode"), e.get("message"), e.get("fields")) for e in errors)
        return f"HTTP_{exc.status}: Salesforce answered {exc.status}"
    if isinstance(exc, SalesforceOperationError):
        return "BULK_JOB_FAILED: the Bulk job ended without completing"
    return f"CONNECTION_ERROR: could not reach Salesforce ({type(exc).__name__})"


def _code(error: str) -> str:
    """The code alone: Salesforce messages can quote the rejected value, which may be personal data."""
    return error.split(":", 1)[0]
