"""Builders for the real CRM clients, shared by the dlt sources, the syncs, the sandbox and tests.

One place decides how a client trusts the sandbox CA and which API version it speaks, so the
code under test and the code in production build their clients the same way.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import tenacity
from hubspot import HubSpot
from simple_salesforce import Salesforce
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

SALESFORCE_API_VERSION = "59.0"
# Answers that say "try again": throttled, or the server (or a proxy in front of it) failing.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
READ_ATTEMPTS = 6  # with the default backoff, some 15 s of waiting before a read gives up
# The longest wait between attempts: a longer Retry-After is cut to it (the attempts are few, so
# a read still gives up in minutes). A Retry-After given as an HTTP date falls back to backoff.
MAX_WAIT_SECONDS = 60.0


class PinnedCASession(requests.Session):
    """A session whose own CA bundle wins.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `session.verify`, so on a
    machine that sets them (CI images do) the sandbox CA would silently be ignored.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None:
            settings["verify"] = self.verify
        return settings


class TransientResponseError(Exception):
    """A read answered with a transient status; carries the response for the last attempt."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class ReadRetryingSession(PinnedCASession):
    """A session that repeats *reads* the server failed transiently, with backoff.

    A read is a GET or HEAD, or the POST that creates a Bulk API 2.0 query job (an abandoned
    duplicate job changes nothing). Repeated: 429 (after its `Retry-After`), 5xx, a response cut
    off mid-body (`ChunkedEncodingError`), a connection reset or a read timeout, up to `attempts`
    times with exponential backoff. A refused connection is not repeated (the endpoint is not
    there; the caller says so at once), nor is any write: the reverse ETL decides itself what is
    safe to send twice. When the attempts run out the last answer is returned (or its error
    raised) for the client's own error handling.

    Retrying per request makes a paged read resume at the page that failed, not from the start.
    `pinned` keeps `PinnedCASession`'s own-CA-wins behaviour for a session that had it.
    """

    def __init__(self, attempts: int = READ_ATTEMPTS, backoff_seconds: float = 0.5, pinned: bool = False) -> None:
        super().__init__()
        self.attempts, self.backoff_seconds, self.pinned = attempts, backoff_seconds, pinned

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]
        if self.pinned:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        return requests.Session.merge_environment_settings(self, url, proxies, stream, verify, cert)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.attempts <= 1 or not _is_read(method, url):
            return super().request(method, url, *args, **kwargs)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception(_transient),
            before_sleep=lambda state: _log_retry(method, url, state, self.attempts),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = super().request(method, url, *args, **kwargs)
                    if response.status_code in TRANSIENT_STATUSES:
                        raise TransientResponseError(response)
                    return response
        except TransientResponseError as exc:
            return exc.response
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """`Retry-After` when the server gave one, else exponential backoff with a little jitter."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientResponseError):
            after = error.response.headers.get("Retry-After", "")
            if after.strip().isdigit():
                return min(float(after), MAX_WAIT_SECONDS)
        backoff = self.backoff_seconds * 2 ** (state.attempt_number - 1)
        return min(backoff + random.uniform(0, backoff / 10), MAX_WAIT_SECONDS)


def _is_read(method: str, url: str) -> bool:
    method = method.upper()
    return method in {"GET", "HEAD"} or (method == "POST" and urlsplit(url).path.rstrip("/").endswith("/jobs/query"))


def _transient(error: BaseException) -> bool:
    if isinstance(error, TransientResponseError | requests.exceptions.ChunkedEncodingError | requests.Timeout):
        return True
    if isinstance(error, requests.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        return not isinstance(reason, NewConnectionError)  # refused: nothing is listening
    return False


def _log_retry(method: str, url: str, state: tenacity.RetryCallState, attempts: int) -> None:
    error = state.outcome.exception() if state.outcome else None
    # The path only: a query string may carry a SOQL filter.
    logger.warning(
        "Salesforce %s %s: %s; attempt %d of %d in %.2f s",
        method.upper(),
        urlsplit(url).path,
        error if isinstance(error, TransientResponseError) else type(error).__name__,
        state.attempt_number + 1,
        attempts,
        state.next_action.sleep if state.next_action else 0.0,
    )


def with_read_retries(client: Salesforce, attempts: int = READ_ATTEMPTS, backoff_seconds: float = 0.5) -> Salesforce:
    """`client` with its session replaced by a `ReadRetryingSession` carrying the same trust,
    headers and proxies. The ingestion sources call this on whatever client they are given, so
    reads are retried however the client was built; the syncs' writes are left alone. A client
    whose session already retries reads keeps its own settings (a test's short backoff, or
    `attempts=1` for none)."""
    old = client.session
    if isinstance(old, ReadRetryingSession):
        return client
    new = ReadRetryingSession(attempts, backoff_seconds, pinned=isinstance(old, PinnedCASession))
    new.verify, new.cert, new.proxies, new.trust_env = old.verify, old.cert, old.proxies, old.trust_env
    new.headers.update(old.headers)
    client.session = new
    return client


def salesforce_client(instance_url: str, token: str, ca_path: str | Path | None = None) -> Salesforce:
    """A `simple_salesforce.Salesforce` on an existing session token.

    `ca_path` lets the client trust the sandbox's locally generated CA; with real credentials it
    is None and the system trust store applies.
    """
    session = PinnedCASession() if ca_path else requests.Session()
    if ca_path:
        session.verify = str(ca_path)
    return Salesforce(
        instance_url=instance_url.rstrip("/"),
        session_id=token,
        session=session,
        version=SALESFORCE_API_VERSION,
    )


def hubspot_client(host: str | None, token: str) -> HubSpot:
    """A `hubspot.HubSpot` client that waits out rate limits and transient errors.

    urllib3 retries only idempotent methods by default; `allowed_methods=None` lets it retry the
    POSTs that batch reads and searches are, which are safe to repeat. 429s honour Retry-After.
    """
    retry = Retry(
        total=8,
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    return HubSpot(access_token=token, host=host, retry=retry) if host else HubSpot(access_token=token, retry=retry)
