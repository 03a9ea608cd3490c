"""Salesforce through sObject Collections: up to 200 records a call, a result per record.

`allOrNone: false`, so one bad record does not sink its batch. Transient failures (5xx,
dropped connections, rate limiting) are retried with backoff; anything else marks that batch's
records failed with the error and the sync moves on — they are retried on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from reverse_etl.destinations import RecordResult
from reverse_etl.planner import RecordChange
from reverse_etl.spec import SyncSpec

logger = logging.getLogger(__name__)


def _transient(exc: BaseException) -> bool:
    """Worth retrying now: the request may not have arrived, or the org was briefly unavailable.

    A daily REQUEST_LIMIT_EXCEEDED (403) or a validation error will not change in seconds."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True
    return isinstance(exc, SalesforceError) and exc.status >= 500


def _errors(exc: SalesforceError) -> list[dict]:
    content = exc.content if isinstance(exc.content, list) else []
    return [e for e in content if isinstance(e, dict)]


class SalesforceDestination:
    def __init__(self, client: Salesforce, *, attempts: int = 4, max_wait: float = 8.0) -> None:
        self.client = client
        self._send = retry(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.25, max=max_wait),
            reraise=True,
        )(self._send_once)

    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]:
        if spec.operation != "update":
            raise ValueError(f"{spec.name}: Salesforce operation {spec.operation!r} is not supported yet")
        results: list[RecordResult] = []
        for batch in _batches(changes, spec.batch_size):
            body = {
                "allOrNone": False,
                "records": [{"attributes": {"type": spec.object}, "Id": c.key, **c.payload} for c in batch],
            }
            try:
                response = self._send(body)
            except (SalesforceError, requests.RequestException) as exc:
                error = _describe(exc)
                logger.warning("%s: a batch of %d failed: %s", spec.name, len(batch), error)
                results.extend(RecordResult(c.key, False, error) for c in batch)
                continue
            for change, outcome in zip(batch, response, strict=True):
                if outcome.get("success"):
                    results.append(RecordResult(change.key, True))
                else:
                    results.append(RecordResult(change.key, False, _record_error(outcome.get("errors") or [])))
        return results

    def _send_once(self, body: dict) -> list[dict]:
        return self.client.restful("composite/sobjects", method="PATCH", json=body)


def _batches(items: Sequence[RecordChange], size: int) -> Iterator[Sequence[RecordChange]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _record_error(errors: list[dict]) -> str:
    parts = []
    for error in errors:
        fields = ", ".join(error.get("fields") or [])
        parts.append(f"{error.get('statusCode')}: {error.get('message')}" + (f" ({fields})" if fields else ""))
    return "; ".join(parts) or "rejected without an error message"


def _describe(exc: Exception) -> str:
    if isinstance(exc, SalesforceError):
        errors = _errors(exc)
        if errors:
            return "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in errors)
        return f"HTTP {exc.status} from Salesforce"
    return f"{type(exc).__name__}: could not reach Salesforce"
