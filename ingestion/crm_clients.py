"""Builders for the real CRM clients, shared by the dlt sources, the syncs, the sandbox and tests.

One place decides how a client trusts the sandbox CA and which API version it speaks, so the
code under test and the code in production build their clients the same way.
"""

from __future__ import annotations

from pathlib import Path

import requests
from simple_salesforce import Salesforce

SALESFORCE_API_VERSION = "59.0"


def salesforce_client(instance_url: str, token: str, ca_path: str | Path | None = None) -> Salesforce:
    """A `simple_salesforce.Salesforce` on an existing session token.

    `ca_path` lets the client trust the sandbox's locally generated CA; with real credentials it
    is None and the system trust store applies.
    """
    session = requests.Session()
    if ca_path:
        session.verify = str(ca_path)
    return Salesforce(
        instance_url=instance_url.rstrip("/"),
        session_id=token,
        session=session,
        version=SALESFORCE_API_VERSION,
    )
