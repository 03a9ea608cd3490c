"""What every end-to-end test shares: the loop's resources pointed at the test's sandboxes, and
the file and product-database sources reading the test's world."""

import pytest

from orchestration.resources import HubSpotResource, SalesforceResource


@pytest.fixture
def salesforce(salesforce_sandbox) -> SalesforceResource:
    return SalesforceResource(
        instance_url=salesforce_sandbox.instance_url,
        access_token=salesforce_sandbox.token,
        ca_bundle=str(salesforce_sandbox.ca_path),
    )


@pytest.fixture
def hubspot(hubspot_sandbox) -> HubSpotResource:
    return HubSpotResource(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url)


@pytest.fixture(autouse=True)
def world_data_dir(world_dir, monkeypatch):
    monkeypatch.setenv("LEADLOOP_DATA_DIR", str(world_dir.parent))
    monkeypatch.delenv("LEADLOOP_PRODUCT_DB_URL", raising=False)
