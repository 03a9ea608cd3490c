"""The real hubspot-api-client against the HubSpot sandbox."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.properties import PropertyCreate
from urllib3.util.retry import Retry

from sandbox.hubspot.server import HubSpotSandbox


def test_list_pages_with_after_and_a_next_link_and_covers_every_contact(hubspot, hubspot_sandbox):
    first = hubspot.crm.contacts.basic_api.get_page(limit=50, properties=["email", "phone"], archived=False)
    assert len(first.results) == 50
    assert first.paging.next.link.startswith(f"{hubspot_sandbox.url}/crm/v3/objects/contacts?after=")
    assert set(first.results[0].properties) >= {"email", "phone", "hs_object_id", "lastmodifieddate"}
    everyone = hubspot.crm.contacts.get_all(properties=["email"])
    ids = [c.id for c in everyone]
    assert len(ids) == len(set(ids)) > 50
    last_page = hubspot_sandbox.request_log()[-1]
    assert "after=" in last_page["path"] or last_page["records"] <= 100


def test_batch_read_by_id_and_by_email(hubspot):
    contact = hubspot.crm.contacts.basic_api.get_page(limit=1, properties=["email"]).results[0]
    by_id = hubspot.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=contact.id)], properties=["email"])
    )
    assert by_id.status == "COMPLETE" and by_id.results[0].id == contact.id
    by_email = hubspot.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=contact.properties["email"].swapcase())],
            properties=["email"],
            id_property="email",
        )
    )
    assert by_email.results[0].id == contact.id  # emails match case-insensitively, as in HubSpot


def test_batch_update_is_207_with_per_input_errors_and_applies_the_rest(hubspot):
    ids = [c.id for c in hubspot.crm.contacts.basic_api.get_page(limit=2).results]
    response = hubspot.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=ids[0], properties={"jobtitle": "Chief Revenue Officer"}),
                SimplePublicObjectBatchInput(id=ids[1], properties={"shoe_size": "44"}),
                SimplePublicObjectBatchInput(id="99999999", properties={"jobtitle": "x"}),
            ]
        )
    )
    assert response.num_errors == 2
    assert {e.category for e in response.errors} == {"VALIDATION_ERROR", "OBJECT_NOT_FOUND"}
    assert [r.id for r in response.results] == [ids[0]]
    got = hubspot.crm.contacts.basic_api.get_by_id(ids[0], properties=["jobtitle"])
    assert got.properties["jobtitle"] == "Chief Revenue Officer"


def test_batch_upsert_by_email_creates_then_updates(hubspot):
    def upsert(properties):
        return hubspot.crm.contacts.batch_api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(id_property="email", id="new.person@x.io", properties=properties)
                ]
            )
        ).results[0]

    created = upsert({"firstname": "New"})
    updated = upsert({"lastname": "Person"})
    assert (created.new, updated.new) == (True, False)
    assert created.id == updated.id


def test_more_than_100_inputs_are_refused(hubspot):
    inputs = [SimplePublicObjectBatchInput(id=str(i), properties={"jobtitle": "x"}) for i in range(101)]
    with pytest.raises(ApiException) as excinfo:
        hubspot.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))
    assert excinfo.value.status == 400


def test_properties_list_create_and_409_on_duplicate(hubspot):
    names = {p.name for p in hubspot.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "hs_email_optout", "hubspot_owner_id", "lifecyclestage"} <= names
    spec = PropertyCreate(
        name="leadloop_score",
        label="Leadloop score",
        type="number",
        field_type="number",
        group_name="contactinformation",
    )
    assert hubspot.crm.properties.core_api.create("contacts", spec).name == "leadloop_score"
    with pytest.raises(Exception) as excinfo:
        hubspot.crm.properties.core_api.create("contacts", spec)
    assert excinfo.value.status == 409


def test_owners(hubspot):
    owners = hubspot.crm.owners.owners_api.get_page().results
    assert len(owners) == 8 and all(o.email for o in owners)


def test_rate_limit_answers_429_with_the_real_headers_and_body(world_dir):
    with HubSpotSandbox(world_dir, requests_per_ten_seconds=3, rate_window_seconds=1.0) as sandbox:
        no_retries = HubSpot(
            access_token=sandbox.token, host=sandbox.url, retry=Retry(total=0, respect_retry_after_header=False)
        )
        for _ in range(3):
            no_retries.crm.owners.owners_api.get_page()
        with pytest.raises(Exception) as excinfo:
            no_retries.crm.owners.owners_api.get_page()
        # The client's default urllib3 retry honours Retry-After and gets through once the window passes.
        patient = HubSpot(access_token=sandbox.token, host=sandbox.url)
        assert len(patient.crm.owners.owners_api.get_page().results) == 8
        statuses = [r["status"] for r in sandbox.request_log()]
    error = excinfo.value
    assert error.status == 429
    assert error.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert error.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert int(error.headers["Retry-After"]) >= 1
    assert '"policyName":"SECONDLY"' in error.body.replace(" ", "")
    assert statuses[:4] == [200, 200, 200, 429] and statuses[-1] == 200


def test_bad_token_is_401(hubspot_sandbox):
    client = HubSpot(access_token="wrong", host=hubspot_sandbox.url)
    with pytest.raises(Exception) as excinfo:
        client.crm.contacts.basic_api.get_page(limit=1)
    assert excinfo.value.status == 401
