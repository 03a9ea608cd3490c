"""The first SOQL a RevOps user types works in the sandbox as in an org: `Name` on Lead, Contact
and User is the read-only compound of FirstName and LastName. Through the real simple-salesforce."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from ingestion.crm_clients import salesforce_client


@pytest.mark.parametrize("sobject", ["Lead", "Contact", "User"])
def test_name_is_first_and_last_name_and_read_only(sf, sobject):
    rows = sf.query(f"SELECT Id, FirstName, LastName, Name FROM {sobject} LIMIT 20")["records"]
    assert rows
    for row in rows:
        assert row["Name"] == " ".join(p for p in (row["FirstName"], row["LastName"]) if p)
    fields = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}
    assert fields["Name"]["nameField"] is True
    assert (fields["Name"]["createable"], fields["Name"]["updateable"]) == (False, False)
    assert fields["FirstName"]["compoundFieldName"] == "Name"


def test_revops_first_query_and_a_rename_follows(sf):
    lead = sf.query("SELECT Id, Name, Lead_Score__c FROM Lead WHERE IsConverted = false LIMIT 1")["records"][0]
    assert set(lead) >= {"Id", "Name", "Lead_Score__c"}
    sf.Lead.update(lead["Id"], {"FirstName": "Ada", "LastName": "Lovelace"})
    found = sf.query("SELECT Id FROM Lead WHERE Name = 'Ada Lovelace'")["records"]
    assert [r["Id"] for r in found] == [lead["Id"]]
    with pytest.raises(SalesforceMalformedRequest, match="Name"):
        sf.Lead.update(lead["Id"], {"Name": "Someone Else"})


def test_client_trusts_the_sandbox_ca_whatever_requests_ca_bundle_says(salesforce_sandbox, tmp_path, monkeypatch):
    """Corporate machines and CI images set REQUESTS_CA_BUNDLE to a bundle without the sandbox's
    CA; requests would let it override the session's own trust."""
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    client = salesforce_client(salesforce_sandbox.instance_url, salesforce_sandbox.token, salesforce_sandbox.ca_path)
    assert client.query("SELECT COUNT() FROM Lead")["totalSize"] > 0
