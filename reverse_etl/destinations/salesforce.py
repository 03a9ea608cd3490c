"""Salesforce through sObject Collections: up to 200 records a call, a result per record.

`allOrNone: false`, so one bad record does not sink its batch. Only failures that may not have
reached the org or that the org reports as its own fault (connection errors, timeouts, 5xx) are
retried, a bounded number of times: updates are keyed by Id, so re-sending is harmless. Anything
else (400, expired session, API limit) will not change in seconds, so that batch's records are
marked failed with the error and the sync moves on; they are retried on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from reverse_etl.destinations import RecordResult
from reverse_etl.planner import RecordChange
from reverse_etl.spec import SyncSpec

logger = logging.getLogger(__name__)

COLLECTION_LIMIT = 200
COLLECTIONS_PATH = "composite/sobjects"


def _transient(exc: BaseException) -> bool:
    """Worth sending again: updates are keyed by Id, so a repeat of a write that did land is harmless.

    A response cut off mid-body (ChunkedEncodingError) counts: the org may have applied the batch,
    but we cannot know which records it confirmed."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError):
        return True
    return isinstance(exc, SalesforceError) and exc.status >= 500


class SalesforceDestination:
    def __init__(
        self,
        client: Salesforce,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        max_wait: float = 8.0,
        timeout: float = 120.0,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self._send = retry(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff, max=max_wait),
            reraise=True,
        )(self._send_once)

    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]:
        if spec.operation != "update":
            raise ValueError(f"{spec.name}: Salesforce operation {spec.operation!r} is not supported yet")
        results: list[RecordResult] = []
        for batch in _batches(changes, min(spec.batch_size, COLLECTION_LIMIT)):
            results.extend(self._write_batch(spec, batch))
        return results

    def _write_batch(self, spec: SyncSpec, batch: Sequence[RecordChange]) -> list[RecordResult]:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": spec.object}, **c.payload, "Id": c.key} for c in batch],
        }
        try:
            response = self._send(body)
        except (SalesforceError, requests.RequestException) as exc:
            error = _describe(exc)
            logger.warning("%s: a batch of %d failed as a whole (%s)", spec.name, len(batch), _code(error))
            return [RecordResult(c.key, False, error) for c in batch]
        if not _matches(batch, response):
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

    def _send_once(self, body: dict[str, Any]) -> Any:
        return self.client.restful(COLLECTIONS_PATH, method="PATCH", json=body, timeout=self.timeout)


def _batches(items: Sequence[RecordChange], size: int) -> Iterator[Sequence[RecordChange]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _matches(batch: Sequence[RecordChange], response: Any) -> bool:
    if not isinstance(response, list) or len(response) != len(batch):
        return False
    for change, outcome in zip(batch, response, strict=True):
        if not isinstance(outcome, dict):
            return False
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
    return f"CONNECTION_ERROR: could not reach Salesforce ({type(exc).__name__})"


def _code(error: str) -> str:
    """The code alone: Salesforce messages can quote the rejected value, which may be personal data."""
    return error.split(":", 1)[0]
