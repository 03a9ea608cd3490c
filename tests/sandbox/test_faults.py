"""Fault injection: the bad days a CRM has, reproducible from a seed."""

from __future__ import annotations

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce.exceptions import SalesforceError
from urllib3.util.retry import Retry

from ingestion.crm_clients import salesforce_client
from sandbox.faults import Faults
from sandbox.hubspot.server import HubSpotSandbox
from sandbox.salesforce.server import SalesforceSandbox


def _outcomes(world_dir, faults, n=40):
    outcomes = []
    with SalesforceSandbox(world_dir, faults=faults) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        for _ in range(n):
            try:
                sf.query("SELECT Id FROM Lead LIMIT 1")
                outcomes.append("ok")
            except SalesforceError as exc:
                outcomes.append(str(exc.status))
            except requests.RequestException as exc:
                outcomes.append(type(exc).__name__)
    return outcomes


def test_the_same_seed_gives_the_same_faults(world_dir):
    faults = "seed=7,server_error_rate=0.3,drop_connection_rate=0.2"
    first = _outcomes(world_dir, Faults.parse(faults))
    second = _outcomes(world_dir, Faults.parse(faults))
    assert first == second
    assert {"ok", "503"} <= set(first)
    assert set(first) - {"ok", "503"}, "some responses should have been cut off"


def test_per_record_rejections_in_collections(world_dir):
    with SalesforceSandbox(world_dir, faults=Faults(seed=1, record_rejection_rate=0.5)) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 20")["records"]]
        body = {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "Id": i, "Title": "x"} for i in ids]}
        results = sf.restful("composite/sobjects", method="PATCH", json=body)
    codes = {r["errors"][0]["statusCode"] for r in results if not r["success"]}
    assert codes == {"UNABLE_TO_LOCK_ROW"}
    assert 0 < sum(not r["success"] for r in results) < 20


def test_a_failed_bulk_job_surfaces_its_error(world_dir):
    with SalesforceSandbox(world_dir, faults=Faults(failed_job_rate=1.0)) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        with pytest.raises(Exception, match="InternalServerError"):
            list(sf.bulk2.Lead.query("SELECT Id FROM Lead", wait=0))


def test_hubspot_429_bursts_and_latency(world_dir):
    faults = Faults(throttle_every=3, throttle_burst=2, latency_ms=5)
    with HubSpotSandbox(world_dir, faults=faults) as sandbox:
        client = HubSpot(
            access_token=sandbox.token, host=sandbox.url, retry=Retry(total=0, respect_retry_after_header=False)
        )
        statuses = []
        for _ in range(7):
            try:
                client.crm.owners.owners_api.get_page()
                statuses.append(200)
            except Exception as exc:  # the client raises a per-API ApiException
                statuses.append(exc.status)
    assert statuses == [200, 200, 429, 429, 200, 429, 429]


def test_unknown_fault_names_are_refused():
    with pytest.raises(ValueError, match="unknown fault 'gremlins'"):
        Faults.parse("gremlins=1")


def test_salesforce_429_bursts_carry_retry_after(world_dir):
    faults = Faults(throttle_every=3, throttle_burst=2, retry_after=7)
    with SalesforceSandbox(world_dir, faults=faults) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        answers = []
        for _ in range(5):
            response = sf.session.get(
                f"{sandbox.instance_url}/services/data/v59.0/sobjects/Lead/describe",
                headers={"Authorization": f"Bearer {sandbox.token}"},
            )
            answers.append((response.status_code, response.headers.get("Retry-After")))
            if response.status_code == 429:
                assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert answers == [(200, None), (200, None), (429, "7"), (429, "7"), (200, None)]
