"""Companies, deals, associations (v3 and v4, both directions), incremental search and archiving,
read through the real hubspot-api-client's own models.

Each test seeds a small, known graph next to the generated world (ids from 90,000,000 up, where
the generator never goes), so the expectations do not depend on what the generator draws.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput as ContactBatch
from hubspot.crm.contacts import SimplePublicObjectBatchInput as ContactInput
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.deals import PublicObjectSearchRequest as DealSearchRequest
from urllib3.util.retry import Retry

from sandbox.hubspot.associations import add_associations
from sandbox.hubspot.server import HubSpotSandbox

COMPANY_A, COMPANY_B = "90000001", "90000002"
ALICE, BOB, CAROL = "90000011", "90000012", "90000013"
DEAL_X, DEAL_Y, BIG_DEAL = "90000021", "90000022", "90000030"
SEEDED_AT = "2020-01-01T00:00:00.000Z"


def _seed(world_dir) -> None:
    """Two companies, three contacts, three deals and their links, written the way the generator
    writes them: one row per pair, in HubSpot's default direction, through `add_associations`."""
    objects = [
        ("companies", COMPANY_A, {"name": "Acme", "domain": "acme.test", "numberofemployees": "9"}),
        ("companies", COMPANY_B, {"name": "Globex", "domain": "globex.test", "numberofemployees": "10"}),
        ("contacts", ALICE, {"email": "alice@acme.test", "firstname": "Alice"}),
        ("contacts", BOB, {"email": "bob@acme.test", "firstname": "Bob"}),
        ("contacts", CAROL, {"email": "carol@globex.test", "firstname": "Carol"}),
        ("deals", DEAL_X, {"dealname": "Acme renewal", "amount": "1200", "pipeline": "default"}),
        ("deals", DEAL_Y, {"dealname": "Globex pilot", "amount": "300", "pipeline": "default"}),
        ("deals", BIG_DEAL, {"dealname": "Everyone", "amount": "1", "pipeline": "default"}),
    ]
    links = [
        ("contacts", ALICE, "companies", COMPANY_A, 1),  # Alice's primary company: 1 and 279, as HubSpot keeps it
        ("contacts", ALICE, "companies", COMPANY_A, 279),
        ("contacts", BOB, "companies", COMPANY_A, 279),
        ("contacts", CAROL, "companies", COMPANY_B, 279),
        ("deals", DEAL_X, "contacts", ALICE, 3),
        ("deals", DEAL_X, "companies", COMPANY_A, 341),
        ("deals", DEAL_Y, "contacts", CAROL, 3),
        *[("deals", BIG_DEAL, "contacts", str(91_000_000 + i), 3) for i in range(501)],
    ]
    conn = sqlite3.connect(world_dir / "hubspot.sqlite", isolation_level=None)
    try:
        conn.executemany(
            "insert into objects values (?, ?, ?, ?, ?, 0)",
            [(kind, oid, json.dumps(props), SEEDED_AT, SEEDED_AT) for kind, oid, props in objects],
        )
        add_associations(conn, links)
        add_associations(conn, links)  # repeats are ignored: the generator may run twice
        (count,) = conn.execute("select count(*) from associations where from_id = ?", [BIG_DEAL]).fetchone()
        assert count == 501
    finally:
        conn.close()


@pytest.fixture
def seeded(hubspot, world_dir) -> HubSpot:
    _seed(world_dir)
    return hubspot


def _by_id(records, record_id):
    [record] = [r for r in records if r.id == record_id]
    return record


def _links(record, to_type) -> list[tuple[str, str]]:
    return [(a.id, a.type) for a in record.associations[to_type].results]


def test_company_and_deal_pages_carry_associations_both_ways_and_their_own_stamp(seeded):
    companies = seeded.crm.companies.get_all(properties=["name", "domain"], associations=["contacts", "deals"])
    assert len({c.id for c in companies}) == len(companies) > 2
    acme = _by_id(companies, COMPANY_A)
    assert _links(acme, "contacts") == [
        (ALICE, "company_to_contact"),
        (ALICE, "company_to_contact_unlabeled"),
        (BOB, "company_to_contact_unlabeled"),
    ]
    assert _links(acme, "deals") == [(DEAL_X, "company_to_deal_unlabeled")]
    # Companies keep their stamp in hs_lastmodifieddate; a real portal has no lastmodifieddate on them.
    assert set(acme.properties) == {"name", "domain", "createdate", "hs_object_id", "hs_lastmodifieddate"}
    assert acme.properties["hs_lastmodifieddate"] == SEEDED_AT and acme.properties["hs_object_id"] == COMPANY_A
    globex = _by_id(companies, COMPANY_B)
    assert "deals" not in globex.associations  # HubSpot leaves out a type with no links

    deals = seeded.crm.deals.basic_api.get_page(limit=100, after="90000020", associations=["contacts", "companies"])
    deal_x = _by_id(deals.results, DEAL_X)
    assert _links(deal_x, "contacts") == [(ALICE, "deal_to_contact")]
    assert _links(deal_x, "companies") == [(COMPANY_A, "deal_to_company_unlabeled")]
    assert set(deal_x.properties) >= {"dealname", "amount", "pipeline", "hs_lastmodifieddate", "hs_object_id"}

    alice = seeded.crm.contacts.basic_api.get_by_id(ALICE, properties=["email"], associations=["companies", "deals"])
    assert _links(alice, "companies") == [
        (COMPANY_A, "contact_to_company"),
        (COMPANY_A, "contact_to_company_unlabeled"),
    ]
    assert _links(alice, "deals") == [(DEAL_X, "contact_to_deal")]
    assert set(alice.properties) == {"email", "createdate", "hs_object_id", "lastmodifieddate"}


def test_v4_batch_read_answers_both_directions_and_reports_ids_without_links_as_207_errors(seeded, hubspot_sandbox):
    batch = seeded.crm.associations.v4.batch_api
    since = hubspot_sandbox.store.last_request_id()
    reverse = batch.get_page(
        "companies",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": COMPANY_A}, {"id": COMPANY_B}, {"id": "404"}]),
    )
    got = {
        r._from.id: [
            (str(t.to_object_id), [(a.type_id, a.label, a.category) for a in t.association_types]) for t in r.to
        ]
        for r in reverse.results
    }
    assert got == {
        COMPANY_A: [
            (ALICE, [(2, "Primary", "HUBSPOT_DEFINED"), (280, None, "HUBSPOT_DEFINED")]),
            (BOB, [(280, None, "HUBSPOT_DEFINED")]),
        ],
        COMPANY_B: [(CAROL, [(280, None, "HUBSPOT_DEFINED")])],
    }
    assert reverse.num_errors == 1
    [error] = reverse.errors
    assert error.sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND" and error.context["fromObjectId"] == ["404"]

    forward = batch.get_page(
        "deals", "companies", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": DEAL_X}])
    )
    assert [(t.to_object_id, t.association_types[0].type_id) for t in forward.results[0].to] == [(COMPANY_A, 341)]
    assert not getattr(forward, "errors", None)

    log = hubspot_sandbox.request_log(since)
    assert [(r["method"], r["object"], r["records"], r["status"]) for r in log] == [
        ("POST", "companies", 3, 207),
        ("POST", "deals", 1, 200),
    ]


def test_v4_batch_read_pages_one_ids_links_with_after(seeded):
    batch = seeded.crm.associations.v4.batch_api
    first = batch.get_page(
        "deals", "contacts", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": BIG_DEAL}])
    )
    [page] = first.results
    assert len(page.to) == 500 and page.paging.next.after
    rest = batch.get_page(
        "deals",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": BIG_DEAL, "after": page.paging.next.after}]),
    )
    [tail] = rest.results
    assert tail.paging is None
    ids = [t.to_object_id for t in page.to] + [t.to_object_id for t in tail.to]
    assert len(set(ids)) == 501 == len(ids)


def test_archiving_removes_a_record_from_lists_search_and_its_partners_links(seeded, world_dir):
    contacts = seeded.crm.contacts.basic_api
    before = contacts.get_by_id(BOB).updated_at
    contacts.archive(BOB)
    contacts.archive(BOB)  # archiving twice is harmless and does not move the stamp again

    with pytest.raises(ContactsApiException) as excinfo:
        contacts.get_by_id(BOB)
    assert excinfo.value.status == 404
    archived_bob = contacts.get_by_id(BOB, archived=True)
    assert archived_bob.archived and archived_bob.updated_at > before
    assert archived_bob.archived_at == archived_bob.updated_at

    archived = contacts.get_page(limit=100, archived=True)
    assert [c.id for c in archived.results] == [BOB]
    live = seeded.crm.contacts.get_all()
    assert BOB not in {c.id for c in live} and ALICE in {c.id for c in live}

    acme = seeded.crm.companies.basic_api.get_by_id(COMPANY_A, associations=["contacts"])
    assert {a.id for a in acme.associations["contacts"].results} == {ALICE}
    v4 = seeded.crm.associations.v4.batch_api.get_page(
        "companies", "contacts", BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": COMPANY_A}])
    )
    assert [str(t.to_object_id) for t in v4.results[0].to] == [ALICE]
    # The stored link survives (HubSpot restores it with the record); it is only hidden.
    with sqlite3.connect(world_dir / "hubspot.sqlite") as conn:
        assert conn.execute("select count(*) from associations where from_id = ?", [BOB]).fetchone() == (1,)


def _millis(iso: str) -> str:
    return str(int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000))


def test_incremental_search_finds_what_was_written_after_the_cursor_sorted_and_paged(seeded, world_dir):
    with sqlite3.connect(world_dir / "hubspot.sqlite") as conn:
        (cursor,) = conn.execute("select max(updated_at) from objects where object_type = 'companies'").fetchone()
    assert cursor < datetime.now(UTC).isoformat()
    companies = seeded.crm.companies
    for company_id in (COMPANY_B, COMPANY_A):  # B is written first, so A is the newest
        companies.batch_api.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[SimplePublicObjectBatchInput(id=company_id, properties={"industry": "Software"})]
            )
        )

    def page(after, value):
        request = PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": value}]}],
            sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
            properties=["name", "industry"],
            limit=1,
            after=after,
        )
        return companies.search_api.do_search(public_object_search_request=request)

    first = page(None, _millis(cursor))
    second = page(first.paging.next.after, _millis(cursor))
    assert (first.total, second.total) == (2, 2) and second.paging is None
    found = first.results + second.results
    assert [c.id for c in found] == [COMPANY_A, COMPANY_B]
    assert found[0].updated_at > found[1].updated_at > datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    assert all(c.properties["industry"] == "Software" for c in found)
    assert set(found[0].properties) == {"name", "industry", "createdate", "hs_object_id", "hs_lastmodifieddate"}
    assert page(None, cursor).total == 2  # an ISO value means the same instant as its epoch millis


def test_search_compares_numbers_as_numbers_and_text_without_case(seeded):
    search = seeded.crm.companies.search_api

    def ids(*filters):
        request = PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "hs_object_id", "operator": "IN", "values": [COMPANY_A, COMPANY_B]}, *f]}
                for f in filters
            ]
        )
        return sorted(c.id for c in search.do_search(public_object_search_request=request).results)

    # As text "9" > "10"; HubSpot compares number properties numerically.
    assert ids([{"propertyName": "numberofemployees", "operator": "GT", "value": "9"}]) == [COMPANY_B]
    assert ids([{"propertyName": "domain", "operator": "EQ", "value": "ACME.test"}]) == [COMPANY_A]
    # Filter groups are ORed, filters within a group ANDed.
    assert ids(
        [{"propertyName": "name", "operator": "EQ", "value": "acme"}],
        [
            {"propertyName": "name", "operator": "NEQ", "value": "acme"},
            {"propertyName": "industry", "operator": "NOT_HAS_PROPERTY"},
        ],
    ) == [COMPANY_A, COMPANY_B]


def test_search_refuses_paging_past_10000_seven_filters_and_unknown_operators(seeded):
    search = seeded.crm.deals.search_api
    one = {"propertyName": "amount", "operator": "HAS_PROPERTY"}
    refused = [
        DealSearchRequest(limit=200, after="10000"),
        DealSearchRequest(filter_groups=[{"filters": [one] * 7}]),
        DealSearchRequest(filter_groups=[{"filters": [{**one, "operator": "SOUNDS_LIKE"}]}]),
        DealSearchRequest(limit=201),
    ]
    for request in refused:
        with pytest.raises(DealsApiException) as excinfo:
            search.do_search(public_object_search_request=request)
        assert excinfo.value.status == 400
        assert json.loads(excinfo.value.body)["category"] == "VALIDATION_ERROR"
    last = DealSearchRequest(limit=200, after="9800")
    assert search.do_search(public_object_search_request=last).results == []  # the last page allowed


def test_every_write_moves_the_stamp_forward(seeded):
    contacts = seeded.crm.contacts
    stamps = []
    for title in ("CEO", "CTO", "CFO"):
        result = contacts.batch_api.update(
            ContactBatch(inputs=[ContactInput(id=ALICE, properties={"jobtitle": title})])
        )
        stamps.append(result.results[0].updated_at)
    assert stamps == sorted(set(stamps)) and len(stamps) == 3
    assert contacts.basic_api.get_by_id(ALICE, properties=["lastmodifieddate"]).properties["lastmodifieddate"] == (
        stamps[-1].strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamps[-1].microsecond // 1000:03d}Z"
    )


def test_search_has_its_own_five_per_second_limit(world_dir):
    with HubSpotSandbox(world_dir, search_requests_per_second=5) as sandbox:
        client = HubSpot(access_token=sandbox.token, host=sandbox.url, retry=Retry(total=0))
        statuses = []
        for _ in range(6):
            try:
                client.crm.contacts.search_api.do_search(public_object_search_request=PublicObjectSearchRequest())
                statuses.append(200)
            except ContactsApiException as exc:
                statuses.append(exc.status)
                assert int(exc.headers["Retry-After"]) >= 1
        client.crm.contacts.basic_api.get_page(limit=1)  # other endpoints still answer
        log = sandbox.request_log()
    assert statuses == [200] * 5 + [429]
    assert [r["status"] for r in log] == [200] * 5 + [429, 200]


def test_links_are_looked_up_by_id_in_both_directions_never_by_scanning_a_type(world_dir):
    """SQLite's planner, left alone, answered the reverse direction by walking every link of
    the other type (every contact→company link for each page of deals)."""
    from sandbox.hubspot.associations import associated

    conn = sqlite3.connect(world_dir / "hubspot.sqlite")
    plans: list[str] = []

    def execute(sql, params):
        plans.extend(row[3] for row in conn.execute(f"explain query plan {sql}", params).fetchall())
        return conn.execute(sql, params).fetchall()

    try:
        deals = [r[0] for r in conn.execute("select id from objects where object_type = 'deals' limit 5")]
        links = associated(execute, "deals", deals, "contacts")
        contacts = [r[0] for r in conn.execute("select id from objects where object_type = 'contacts' limit 5")]
        associated(execute, "contacts", contacts, "deals")
    finally:
        conn.close()
    assert any(links.values())
    searches = [p for p in plans if p.startswith("SEARCH associations")]
    assert len(searches) == 4
    assert all("from_id=?" in p or "to_id=?" in p for p in searches), searches
