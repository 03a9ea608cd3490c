"""Builders for the real CRM clients, shared by the dlt sources, the syncs, the sandbox and tests.

One place decides how a client trusts the sandbox CA and which API version it speaks, so the
code under test and the code in production build their clients the same way.
"""

from __future__ import annotations

from pathlib import Path

import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce
from urllib3.util.retry import Retry

SALESFORCE_API_VERSION = "59.0"


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
