"""Builders for the real CRM clients, shared by the dlt sources, the syncs, the sandbox and tests.

One place decides how a client trusts the sandbox CA and which API version it speaks, so the
code under test and the code in production build their clients the same way.
"""

from __future__ import annotations

from pathlib import Path

import requests
from simple_salesforce import Salesforce

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
