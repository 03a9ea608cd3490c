"""HubSpot search, associations and archiving through the real hubspot-api-client's own models."""

from __future__ import annotations

import sqlite3

import pytest
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest


def _world(world_dir, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(world_dir / "hubspot.sqlite")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_search_filters_sorts_and_pages_by_last_modified(hubspot, world_dir):
    stamps = sorted(r[0] for r in _world(world_dir, "select updated_at from objects where object_type = 'contacts'"))
    cutoff = stamps[len(stamps) // 2]
    expected = sum(1 for s in stamps if s >= cutoff)
    seen, after = [], None
    while True:
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": cutoff}]}],
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=["email", "lastmodifieddate"],
            limit=25,
            after=after,
        )
        page = hubspot.crm.contacts.search_api.do_search(public_object_search_request=request)
        assert page.total == expected
        seen.extend(page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == expected == len({c.id for c in seen})
    modified = [c.updated_at for c in seen]
    assert modified == sorted(modified) and min(modified).isoformat() >= cutoff[:19]
    assert "lastmodifieddate" in seen[0].properties and "email" in seen[0].properties


def test_search_refuses_what_hubspot_refuses(hubspot):
    api = hubspot.crm.contacts.search_api
    too_far = PublicObjectSearchRequest(limit=100, after="10000")
    too_many = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}] * 6
    )
    unknown = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "email", "operator": "SOUNDS_LIKE", "value": "x"}]}]
    )
    for request in (too_far, too_many, unknown):
        with pytest.raises(ApiException) as excinfo:
            api.do_search(public_object_search_request=request)
        assert excinfo.value.status == 400


def test_associations_read_from_either_side_in_v3_and_v4(hubspot, world_dir):
    deal_id, contact_id = _world(
        world_dir, "select from_id, to_id from associations where from_type = 'deals' and to_type = 'contacts' limit 1"
    )[0]
    deal = hubspot.crm.deals.basic_api.get_by_id(deal_id, associations=["contacts", "companies"])
    assert [a.id for a in deal.associations["contacts"].results] == [contact_id]
    assert deal.associations["contacts"].results[0].type == "deal_to_contact"
    assert len(deal.associations["companies"].results) == 1

    page = hubspot.crm.contacts.basic_api.get_page(limit=100, associations=["companies", "deals"])
    assert all(len(c.associations["companies"].results) == 1 for c in page.results)

    batch = hubspot.crm.associations.v4.batch_api.get_page(
        "contacts", "deals", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": contact_id}])
    )
    [result] = batch.results
    assert str(result.to[0].to_object_id) == deal_id
    assert result.to[0].association_types[0].type_id == 4  # contact→deal, the pair of deal→contact (3)


def test_archived_contacts_leave_search_and_list_but_not_archived_list(hubspot, world_dir):
    contact_id = _world(world_dir, "select min(id) from objects where object_type = 'contacts'")[0][0]
    hubspot.crm.contacts.basic_api.archive(contact_id)
    live = hubspot.crm.contacts.basic_api.get_page(limit=100)
    assert contact_id not in {c.id for c in live.results}
    archived = hubspot.crm.contacts.basic_api.get_page(limit=100, archived=True)
    assert [c.id for c in archived.results] == [contact_id] and archived.results[0].archived
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": contact_id}]}]
    )
    assert hubspot.crm.contacts.search_api.do_search(public_object_search_request=request).total == 0


def test_a_search_total_follows_writes_between_its_pages(hubspot, world_dir):
    """The sandbox counts a query's matches once for all its pages; a write through the API or
    by another connection (the world advancing) between two pages must still show in `total`."""
    stamps = sorted(r[0] for r in _world(world_dir, "select updated_at from objects where object_type = 'contacts'"))
    cutoff = stamps[-5]
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": cutoff}]}],
        limit=2,
    )
    api = hubspot.crm.contacts.search_api
    before = api.do_search(public_object_search_request=request).total
    assert before == sum(1 for s in stamps if s >= cutoff)
    assert api.do_search(public_object_search_request=request).total == before

    (older,) = _world(
        world_dir, "select id from objects where object_type = 'contacts' and updated_at < ? limit 1", [cutoff]
    )[0]
    hubspot.crm.contacts.batch_api.update({"inputs": [{"id": older, "properties": {"firstname": "Moved"}}]})
    assert api.do_search(public_object_search_request=request).total == before + 1

    conn = sqlite3.connect(world_dir / "hubspot.sqlite")
    with conn:
        conn.execute(
            "update objects set updated_at = '2000-01-01T00:00:00.000Z' where object_type = 'contacts' and id = ?",
            [older],
        )
    conn.close()
    assert api.do_search(public_object_search_request=request).total == before
