"""HubSpot: batch update and upsert through the real hubspot-api-client, 100 inputs a call,
per-input results.

`update` addresses records by HubSpot record id (read into bronze) or, with the spec's
`id_property`, by a unique property such as email; it never creates a record. `upsert` matches on
the unique property (default `email`) and creates what the portal lacks, but only for rows the
spec's `create_when` column allows; the other rows, and every clear, go through update by the
same property, so an opted-out or erased person never becomes a contact.

A batch answers 200 (all confirmed) or 207 (`errors`, each naming its input in `context`): only
inputs among `results` are confirmed. Inputs addressed by a property carry an
`objectWriteTraceId` (their position in the call), which HubSpot echoes on results and errors:
an upsert's result `id` is the record id, not the email it was sent by.

The portal's budget (`X-HubSpot-RateLimit-Max` per `-Interval-Milliseconds`, read from every
answer) is kept on our side with a sliding window, so a sync runs close to the limit without
meeting a 429; one that comes anyway (another app on the same portal) is waited out as
`Retry-After` says, and retried, as are 5xx and connection errors. Writes are keyed (record id or
unique property), so a repeat is harmless: a repeated upsert finds the record it created.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.objects.exceptions import ApiException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from tenacity import RetryCallState, retry, retry_if_exception, stop_after_attempt, wait_exponential

from reverse_etl.destinations import RecordResult
from reverse_etl.destinations.salesforce import PreflightError, parse_retry_after
from reverse_etl.planner import RecordChange
from reverse_etl.preview import mask
from reverse_etl.spec import HUBSPOT_RECORD_ID, SyncSpec

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
        # Every request sent to the portal (preflight, property creation, batches, retries): the
        # executor records the run's share in reverse_etl.sync_runs.api_calls.
        self.api_calls = 0
        # Records the portal created (upsert results with `new: true`), for the run's log line.
        self.created = 0
        self._backoff = wait_exponential(multiplier=backoff, max=max_wait)
        policy = retry(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            reraise=True,
        )
        # One batch API for the destination's life: the client's `crm.objects.batch_api` is a
        # property that builds a new Configuration, ApiClient and connection pool on every
        # access (1.4 ms, and a new connection, per batch). Every request model is built with
        # that API's configuration: without one, the generated models each make a Configuration
        # of their own, whose `debug` setter calls `Logger.setLevel`, which clears the cache of
        # every logger in the process (Dagster, dbt and dlt register hundreds): 6.5 ms a
        # 100-input batch, at 1M leads half a minute of a HubSpot sync (py-spy, issue 24).
        self._batch_api = client.crm.objects.batch_api
        self._models = self._batch_api.api_client.configuration
        self._send = policy(self._send_once)
        # The preflight's reads and property creations wait out the same transient failures.
        self._call = policy(self._call_once)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        headers = getattr(exc, "headers", None) or {}
        asked = parse_retry_after(headers.get("Retry-After")) if headers else None
        return max(self._backoff(state), asked or 0.0)

    # ------------------------------------------------------------------ cost and preflight
    def write_size(self, spec: SyncSpec, planned: int) -> int:
        return min(spec.batch_size, BATCH_LIMIT)

    def estimate_calls(self, spec: SyncSpec, changes: Sequence[RecordChange]) -> int:
        """One call per batch, or two for a batch that mixes upserts and updates (the planner
        puts upserts first, so at most one batch does)."""
        size = min(spec.batch_size, BATCH_LIMIT)
        calls = 0
        for batch in _batches(changes, size):
            upserts, updates = _split(spec, batch)
            calls += bool(upserts) + bool(updates)
        return calls

    def preflight(self, spec: SyncSpec) -> None:
        """Every mapped property must exist on the object type; with `create_properties` the
        missing ones are created first, otherwise nothing is sent and the error lists them."""
        properties = self._call(self.client.crm.properties.core_api.get_all, spec.object)
        described = {p.name: p for p in properties.results}
        existing = set(described)
        id_property = spec.hubspot_id_property
        if id_property != HUBSPOT_RECORD_ID:
            # Matching on a property that is missing or not unique would fail every input alike.
            found = described.get(id_property)
            if found is None or not found.has_unique_value:
                raise PreflightError(
                    f"{spec.name}: the portal is not ready, nothing was sent ({spec.object} has no "
                    f"{'' if found is None else 'unique '}property {id_property!r} to match records on)"
                )
        missing = [name for name in spec.fields.values() if name not in existing]
        # The opt-in is the caller's (asset config, CLI flag) or the spec's own reviewed line.
        types = {**dict(spec.property_types), **self.property_types}
        if missing and (self.create_properties or spec.create_properties):
            for name in missing:
                kind = types.get(name, "string")
                try:
                    self._call(
                        self.client.crm.properties.core_api.create,
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
                inputs=[
                    SimplePublicObjectId(id=key, local_vars_configuration=self._models)
                    for key in keys[start : start + BATCH_LIMIT]
                ],
                properties=names,
                local_vars_configuration=self._models,
            )
            self.window.wait_for_room()
            self.api_calls += 1
            data = self._batch_api.read(spec.object, body)
            for record in data.results or []:
                properties = record.properties or {}
                found[str(record.id)] = ({name: properties.get(name) for name in names}, False)
        return found

    def write(self, spec: SyncSpec, changes: list[RecordChange]) -> list[RecordResult]:
        if spec.operation not in {"update", "upsert"}:
            raise ValueError(f"{spec.name}: HubSpot operation {spec.operation!r} is not supported")
        results: list[RecordResult] = []
        for batch in _batches(changes, min(spec.batch_size, BATCH_LIMIT)):
            upserts, updates = _split(spec, batch)
            if upserts:
                results.extend(self._write_batch(spec, upserts, "upsert"))
            if updates:
                results.extend(self._write_batch(spec, updates, "update"))
        return results

    def _write_batch(self, spec: SyncSpec, batch: Sequence[RecordChange], action: str) -> list[RecordResult]:
        by_property = spec.hubspot_id_property != HUBSPOT_RECORD_ID
        body = self.batch_body(spec, batch, action)
        try:
            data = self._send(spec.object, body, action)
        except Exception as exc:  # the client raises a per-API ApiException, urllib3 its own errors
            error = _describe(exc)
            logger.warning("%s: a batch of %d failed as a whole (%s)", spec.name, len(batch), error.split(":", 1)[0])
            return [RecordResult(c.key, False, error) for c in batch]
        keys = [c.key for c in batch]
        confirmed: set[str] = set()
        for result in data.get("results") or []:
            key = _input_key(keys, result.get("objectWriteTraceId")) if by_property else str(result.get("id"))
            if key is not None:
                confirmed.add(key)
                self.created += bool(result.get("new", False))
        failed: dict[str, str] = {}
        for error in data.get("errors") or []:
            context = error.get("context") or {}
            traced = [_input_key(keys, trace) for trace in context.get("objectWriteTraceId") or []]
            named = traced if by_property and traced else context.get("id", []) or context.get("ids", [])
            for key in named:
                if key is not None:
                    # The message can quote the input (an email): masked before it is stored.
                    failed[str(key)] = f"{error.get('category')}: {mask(error.get('message'))}"
        return [
            RecordResult(c.key, True)
            if c.key in confirmed and c.key not in failed
            else RecordResult(c.key, False, failed.get(c.key, "NO_RESULT: HubSpot reported nothing for this input"))
            for c in batch
        ]

    def batch_body(self, spec: SyncSpec, batch: Sequence[RecordChange], action: str) -> Any:
        """The request body of one batch `action` ("upsert" or "update"): inputs addressed by
        record id, or by the spec's id property with each input's position as its trace id."""
        id_property = spec.hubspot_id_property
        config = self._models
        upsert = action == "upsert"
        properties = [{k: _value(v) for k, v in c.payload.items()} for c in batch]
        if upsert or id_property != HUBSPOT_RECORD_ID:
            model = SimplePublicObjectBatchInputUpsert if upsert else SimplePublicObjectBatchInput
            inputs = [
                model(
                    id_property=id_property,
                    object_write_trace_id=str(n),
                    id=c.key,
                    properties=props,
                    local_vars_configuration=config,
                )
                for n, (c, props) in enumerate(zip(batch, properties, strict=True))
            ]
        else:
            inputs = [
                SimplePublicObjectBatchInput(id=c.key, properties=props, local_vars_configuration=config)
                for c, props in zip(batch, properties, strict=True)
            ]
        wrapper = BatchInputSimplePublicObjectBatchInputUpsert if upsert else BatchInputSimplePublicObjectBatchInput
        return wrapper(inputs=inputs, local_vars_configuration=config)

    def _call_once(self, method: Any, *args: Any) -> Any:
        self.window.wait_for_room()
        self.api_calls += 1
        return method(*args)

    def _send_once(self, object_type: str, body: Any, action: str = "update") -> dict[str, Any]:
        """The batch's answer as parsed JSON. Read raw: the client's models for 100 results
        (each with its timestamps parsed by dateutil) cost more than the call itself, a fifth of
        a HubSpot sync at 1M leads (py-spy, issue 24). A status outside 2xx still raises."""
        self.window.wait_for_room()
        self.api_calls += 1
        send = self._batch_api.upsert if action == "upsert" else self._batch_api.update
        response = send(object_type, body, _preload_content=False)
        self.window.learn(response.headers)
        return json.loads(response.data)


def _split(spec: SyncSpec, batch: Sequence[RecordChange]) -> tuple[list[RecordChange], list[RecordChange]]:
    """(upserts, updates): only an upsert spec's rows that may create, and never a clear."""
    if spec.operation != "upsert":
        return [], list(batch)
    upserts = [c for c in batch if c.may_create and c.reason != "clear"]
    updates = [c for c in batch if not (c.may_create and c.reason != "clear")]
    return upserts, updates


def _input_key(keys: Sequence[str], trace: Any) -> str | None:
    """The key of the input a trace id (its position in the call) names, if it names one."""
    text = str(trace) if trace is not None else ""
    return keys[int(text)] if text.isdigit() and int(text) < len(keys) else None


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
