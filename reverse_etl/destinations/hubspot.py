"""HubSpot: batch update through the real hubspot-api-client, 100 inputs a call, per-input results.

A batch answers 200 (all confirmed) or 207 (`errors`, each naming its input's id in `context`):
only ids among `results` are confirmed. The portal's budget (`X-HubSpot-RateLimit-Max` per
`-Interval-Milliseconds`, read from every answer) is kept on our side with a sliding window, so
a sync runs close to the limit without meeting a 429; one that comes anyway (another app on the
same portal) is waited out as `Retry-After` says, and retried, as are 5xx and connection errors.
Updates are keyed by id, so a repeat is harmless.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
)
from hubspot.crm.objects.exceptions import ApiException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from tenacity import RetryCallState, retry, retry_if_exception, stop_after_attempt, wait_exponential

from reverse_etl.destinations import RecordResult
from reverse_etl.destinations.salesforce import PreflightError, parse_retry_after
from reverse_etl.planner import RecordChange
from reverse_etl.spec import SyncSpec

logger = logging.getLogger(__name__)

BATCH_LIMIT = 100
# A margin on the server's window: our clock starts a call before the portal counts it.
WINDOW_MARGIN_S = 0.05


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return True
    status = getattr(exc, "status", None)
    return isinstance(exc, Exception) and isinstance(status, int) and (status == 429 or status >= 500)


class RateWindow:
    """At most `limit` calls in any `interval` seconds, as the portal counts them (sliding)."""

    def __init__(self, limit: int = 100, interval: float = 10.0) -> None:
        self.limit, self.interval = limit, interval
        self.calls: deque[float] = deque()

    def learn(self, headers: Any) -> None:
        """The portal says what its budget is; follow it rather than a configured guess."""
        if not headers:
            return
        limit = headers.get("X-HubSpot-RateLimit-Max")
        interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        if limit and str(limit).isdigit() and int(limit) > 0:
            self.limit = int(limit)
        if interval and str(interval).isdigit() and int(interval) > 0:
            self.interval = int(interval) / 1000

    def wait_for_room(self) -> float:
        """Sleeps until one more call fits; returns the seconds slept."""
        now = time.monotonic()
        while self.calls and now - self.calls[0] >= self.interval + WINDOW_MARGIN_S:
            self.calls.popleft()
        slept = 0.0
        if len(self.calls) >= self.limit:
            slept = self.calls[0] + self.interval + WINDOW_MARGIN_S - now
            if slept > 0:
                time.sleep(slept)
            self.calls.popleft()
        self.calls.append(time.monotonic())
        return max(slept, 0.0)


class HubSpotDestination:
    def __init__(
        self,
        client: HubSpot,
        *,
        create_properties: bool = False,
        property_types: dict[str, str] | None = None,
        attempts: int = 6,
        backoff: float = 0.5,
        max_wait: float = 10.0,
        window: RateWindow | None = None,
    ) -> None:
        """`create_properties` (opt-in) lets the preflight create missing properties through the
        properties API, typed by `property_types` (name -> "number" | "string"; default string).
        A spec may opt in itself (`destination.create_properties`, `property_types`)."""
        self.client = client
        self.create_properties = create_properties
        self.property_types = property_types or {}
        self.window = window or RateWindow()
        self.calls = 0
        self._backoff = wait_exponential(multiplier=backoff, max=max_wait)
        self._send = retry(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            reraise=True,
        )(self._send_once)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        headers = getattr(exc, "headers", None) or {}
        asked = parse_retry_after(headers.get("Retry-After")) if headers else None
        return max(self._backoff(state), asked or 0.0)

    # ------------------------------------------------------------------ cost and preflight
    def write_size(self, spec: SyncSpec, planned: int) -> int:
        return min(spec.batch_size, BATCH_LIMIT)

    def estimate_calls(self, spec: SyncSpec, changes: Sequence[RecordChange]) -> int:
        return math.ceil(len(changes) / min(spec.batch_size, BATCH_LIMIT)) if changes else 0

    def preflight(self, spec: SyncSpec) -> None:
        """Every mapped property must exist on the object type; with `create_properties` the
        missing ones are created first, otherwise nothing is sent and the error lists them."""
        self.window.wait_for_room()
        existing = {p.name for p in self.client.crm.properties.core_api.get_all(spec.object).results}
        missing = [name for name in spec.fields.values() if name not in existing]
        # The opt-in is the caller's (asset config, CLI flag) or the spec's own reviewed line.
        types = {**dict(spec.property_types), **self.property_types}
        if missing and (self.create_properties or spec.create_properties):
            for name in missing:
                kind = types.get(name, "string")
                self.window.wait_for_room()
                try:
                    self.client.crm.properties.core_api.create(
                        spec.object,
                        PropertyCreate(
                            name=name,
                            label=name.replace("_", " ").capitalize(),
                            type=kind,
                            field_type="number" if kind == "number" else "text",
                            group_name="contactinformation",
                            description="Written by Leadloop's sync; do not edit.",
                        ),
                    )
                except PropertiesApiException as exc:
                    if exc.status != 409:  # 409: created meanwhile (another sync run): what we wanted
                        raise
            logger.info("%s: created %d HubSpot propert(ies): %s", spec.name, len(missing), ", ".join(missing))
            return
        if missing:
            raise PreflightError(
                f"{spec.name}: the portal is not ready, nothing was sent (missing on {spec.object}: "
                f"{', '.join(missing)}); create them or run with create_properties enabled"
            )

    # ------------------------------------------------------------------ writes
    def current_values(self, spec: SyncSpec, keys: list[str]) -> dict[str, tuple[dict[str, Any], bool]]:
        """The mapped properties of the records the portal still has (batch read, 100 a call).
        HubSpot does not say who made a record's last change, so none counts as this sync's."""
        names = list(spec.fields.values())
        found: dict[str, tuple[dict[str, Any], bool]] = {}
        for start in range(0, len(keys), BATCH_LIMIT):
            body = BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=key) for key in keys[start : start + BATCH_LIMIT]], properties=names
            )
            self.window.wait_for_room()
            self.calls += 1
            data = self.client.crm.objects.batch_api.read(spec.object, body)
            for record in data.results or []:
                properties = record.properties or {}
                found[str(record.id)] = ({name: properties.get(name) for name in names}, False)
        return found

    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]:
        if spec.operation != "update":
            raise ValueError(f"{spec.name}: HubSpot operation {spec.operation!r} is not supported yet")
        results: list[RecordResult] = []
        for batch in _batches(changes, min(spec.batch_size, BATCH_LIMIT)):
            results.extend(self._write_batch(spec, batch))
        return results

    def _write_batch(self, spec: SyncSpec, batch: Sequence[RecordChange]) -> list[RecordResult]:
        body = BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=c.key, properties={k: _value(v) for k, v in c.payload.items()})
                for c in batch
            ]
        )
        try:
            data = self._send(spec.object, body)
        except Exception as exc:  # the client raises a per-API ApiException, urllib3 its own errors
            error = _describe(exc)
            logger.warning("%s: a batch of %d failed as a whole (%s)", spec.name, len(batch), error.split(":", 1)[0])
            return [RecordResult(c.key, False, error) for c in batch]
        confirmed = {str(r.id) for r in (data.results or [])}
        failed: dict[str, str] = {}
        for error in getattr(data, "errors", None) or []:
            for key in (error.context or {}).get("id", []) or (error.context or {}).get("ids", []):
                failed[str(key)] = f"{error.category}: {error.message}"
        return [
            RecordResult(c.key, True)
            if c.key in confirmed and c.key not in failed
            else RecordResult(c.key, False, failed.get(c.key, "NO_RESULT: HubSpot reported nothing for this input"))
            for c in batch
        ]

    def _send_once(self, object_type: str, body: BatchInputSimplePublicObjectBatchInput) -> Any:
        self.window.wait_for_room()
        self.calls += 1
        data, _status, headers = self.client.crm.objects.batch_api.update_with_http_info(object_type, body)
        self.window.learn(headers)
        return data


def _value(value: Any) -> str:
    """HubSpot takes every property value as a string; an empty string clears the property."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _batches(items: Sequence[RecordChange], size: int) -> Iterator[Sequence[RecordChange]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _describe(exc: Exception) -> str:
    """Status and category only: HubSpot's error text can quote the input, and the client's own
    message includes every response header."""
    if isinstance(exc, ApiException) or hasattr(exc, "status"):
        return f"HTTP_{getattr(exc, 'status', 'ERROR')}: HubSpot refused the batch"
    return f"CONNECTION_ERROR: could not reach HubSpot ({type(exc).__name__})"
