"""The real simple-salesforce client against the sandbox, over HTTPS on loopback."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from ingestion.crm_clients import salesforce_client
from sandbox.salesforce.server import SalesforceSandbox


def test_query_pages_through_next_records_url_and_returns_every_row_once(world_dir):
    with SalesforceSandbox(world_dir, page_size=35) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        first = sf.query("SELECT Id FROM Lead ORDER BY Id")
        assert first["totalSize"] == 200 and first["done"] is False
        assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
        ids = [r["Id"] for r in sf.query_all_iter("SELECT Id, SystemModstamp FROM Lead")]
        pages = [r for r in sandbox.request_log() if r["path"].startswith("/services/data/v59.0/query")]
    assert len(ids) == len(set(ids)) == 200
    assert len(pages) == 1 + 6  # the first call above, then 200 rows / 35 per page
    assert all(len(i) == 18 and i.startswith("00Q") for i in ids)


def test_records_have_real_shapes_and_json_types(sf):
    record = sf.query(
        "SELECT Id, IsDeleted, NumberOfEmployees, AnnualRevenue, SystemModstamp, Lead_Score__c FROM Lead LIMIT 1"
    )["records"][0]
    assert record["attributes"] == {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{record['Id']}"}
    assert record["IsDeleted"] is False
    assert isinstance(record["NumberOfEmployees"], int)
    assert isinstance(record["AnnualRevenue"], float)
    assert record["SystemModstamp"].endswith(".000+0000") or record["SystemModstamp"][-8:-5].isdigit()
    assert record["Lead_Score__c"] is None


def test_where_order_and_limit_answer_like_sql(sf):
    every = sf.query_all("SELECT Id, SystemModstamp, Industry FROM Lead")["records"]
    cutoff = sorted(r["SystemModstamp"] for r in every)[150]
    literal = cutoff.replace("+0000", "Z")
    newer = sf.query_all(f"SELECT Id FROM Lead WHERE SystemModstamp >= {literal}")["records"]
    assert len(newer) == sum(r["SystemModstamp"] >= cutoff for r in every)
    tech = sf.query_all("SELECT Id FROM Lead WHERE Industry = 'TECHNOLOGY'")["records"]  # case-insensitive
    assert len(tech) == sum(r["Industry"] == "Technology" for r in every) > 0
    top = sf.query("SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp DESC LIMIT 3")["records"]
    assert [r["SystemModstamp"] for r in top] == sorted((r["SystemModstamp"] for r in every), reverse=True)[:3]


def test_bad_soql_and_unknown_fields_raise_the_clients_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query("SELECT Id FROM Lead GROUP BY Id")
    assert excinfo.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query("SELECT Shoe_Size__c FROM Lead")
    assert excinfo.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_describe_lists_custom_fields_with_every_key(sf):
    described = sf.Lead.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert described["keyPrefix"] == "00Q"
    assert {"Lead_Score__c", "Lead_Grade__c", "Lead_Score_Reasons__c", "Leadloop_Key__c"} <= set(fields)
    assert fields["Leadloop_Key__c"]["externalId"] is True
    assert fields["Email"]["idLookup"] is True
    expected_keys = {
        "name",
        "type",
        "label",
        "length",
        "nillable",
        "createable",
        "updateable",
        "custom",
        "externalId",
        "idLookup",
        "unique",
        "picklistValues",
        "referenceTo",
        "soapType",
        "compoundFieldName",
    }
    assert all(expected_keys <= set(f) for f in fields.values())


def test_update_persists_bumps_modstamp_and_validates(sf):
    lead = sf.query("SELECT Id, SystemModstamp FROM Lead LIMIT 1")["records"][0]
    assert sf.Lead.update(lead["Id"], {"Lead_Score__c": 42, "Lead_Grade__c": "B"}) == 204
    after = sf.Lead.get(lead["Id"])
    assert (after["Lead_Score__c"], after["Lead_Grade__c"]) == (42.0, "B")
    assert after["SystemModstamp"] > lead["SystemModstamp"]
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.update(lead["Id"], {"Status": "Maybe"})
    assert excinfo.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.update(lead["Id"], {"SystemModstamp": "2020-01-01T00:00:00Z"})
    assert excinfo.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_create_requires_fields_and_upsert_by_external_id(sf):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.create({"FirstName": "No", "Company": "Nameless"})
    assert excinfo.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    created = sf.Lead.create({"LastName": "New", "Company": "Co", "Status": "Open - Not Contacted"})
    assert created["success"] and created["id"].startswith("00Q")
    assert (
        sf.Lead.upsert("Leadloop_Key__c/k-1", {"LastName": "U", "Company": "C", "Status": "Working - Contacted"}) == 201
    )
    assert sf.Lead.upsert("Leadloop_Key__c/k-1", {"Title": "CTO"}) == 200  # updated: 200, created false
    rows = sf.query("SELECT Id, Title FROM Lead WHERE Leadloop_Key__c = 'k-1'")["records"]
    assert len(rows) == 1 and rows[0]["Title"] == "CTO"


def test_collections_give_per_record_results_in_request_order(sf, salesforce_sandbox):
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 3")["records"]]
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "Id": ids[0], "Lead_Grade__c": "A"},
            {"attributes": {"type": "Lead"}, "Id": ids[1], "Lead_Score_Reasons__c": "x" * 1001},
            {"attributes": {"type": "Lead"}, "Id": ids[2], "Favourite_Colour__c": "blue"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["success"] for r in results] == [True, False, False]
    assert [r["id"] for r in results] == ids
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert results[2]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Lead.get(ids[0])["Lead_Grade__c"] == "A"
    collection_calls = [r for r in salesforce_sandbox.request_log() if r["path"].endswith("/composite/sobjects")]
    assert [(c["method"], c["records"]) for c in collection_calls] == [("PATCH", 3)]
    too_many = {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "Id": ids[0]}] * 201}
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="PATCH", json=too_many)


def test_delete_is_visible_only_through_query_all(sf):
    lead_id = sf.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
    assert sf.Lead.delete(lead_id) == 204
    assert sf.query(f"SELECT Id FROM Lead WHERE Id = '{lead_id}'")["totalSize"] == 0
    gone = sf.query_all(f"SELECT Id, IsDeleted FROM Lead WHERE Id = '{lead_id}'", include_deleted=True)["records"]
    assert gone[0]["IsDeleted"] is True
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.update(lead_id, {"Title": "x"})


def test_bad_token_is_an_expired_session(salesforce_sandbox):
    bad = salesforce_client(salesforce_sandbox.instance_url, "wrong", salesforce_sandbox.ca_path)
    with pytest.raises(SalesforceExpiredSession):
        bad.query("SELECT Id FROM Lead LIMIT 1")


def test_api_usage_header_and_daily_limit(world_dir):
    with SalesforceSandbox(world_dir, daily_api_limit=3) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        sf.query("SELECT Id FROM Lead LIMIT 1")
        assert (sf.api_usage["api-usage"].used, sf.api_usage["api-usage"].total) == (1, 3)
        sf.query("SELECT Id FROM Lead LIMIT 1")
        sf.query("SELECT Id FROM Lead LIMIT 1")
        with pytest.raises(Exception) as excinfo:
            sf.query("SELECT Id FROM Lead LIMIT 1")
        assert "REQUEST_LIMIT_EXCEEDED" in str(excinfo.value)


def test_state_survives_a_restart(world_dir):
    with SalesforceSandbox(world_dir) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        lead_id = sf.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
        sf.Lead.update(lead_id, {"Lead_Score__c": 77})
        requests_before = sandbox.last_request_id()
    with SalesforceSandbox(world_dir) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        assert sf.Lead.get(lead_id)["Lead_Score__c"] == 77.0
        assert sandbox.request_log(since_id=0)[requests_before - 1]["method"] == "PATCH"


def test_bulk_query_pages_csv_behind_the_locator(world_dir):
    import csv
    import io

    with SalesforceSandbox(world_dir) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        pages = list(sf.bulk2.Lead.query("SELECT Id, IsDeleted, AnnualRevenue FROM Lead", max_records=70, wait=0))
        results = [r for r in sandbox.request_log() if r["path"].endswith("/results")]
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert [r["records"] for r in results] == [70, 70, 60]
    assert len({r["Id"] for r in rows}) == 200
    assert {r["IsDeleted"] for r in rows} == {"false"}
    assert all(float(r["AnnualRevenue"]) >= 0 for r in rows if r["AnnualRevenue"])


def test_bulk_query_all_includes_deleted_rows(sf):
    import csv
    import io

    lead_id = sf.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
    sf.Lead.delete(lead_id)
    live = "".join(sf.bulk2.Lead.query("SELECT Id FROM Lead", wait=0))
    everything = list(sf.bulk2.Lead.query_all("SELECT Id, IsDeleted FROM Lead", wait=0))
    rows = [row for page in everything for row in csv.DictReader(io.StringIO(page))]
    assert lead_id not in live
    assert {r["Id"]: r["IsDeleted"] for r in rows}[lead_id] == "true"


def test_bulk_ingest_reports_successes_and_failures_per_record(sf):
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 2")["records"]]
    [summary] = sf.bulk2.Lead.update(
        records=[
            {"Id": ids[0], "Lead_Grade__c": "A"},
            {"Id": ids[1], "Lead_Grade__c": "TOO LONG"},
            {"Id": "00Q000000000000ZZZ", "Lead_Grade__c": "B"},
        ],
        wait=0,
    )
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"]) == (3, 2)
    failed = sf.bulk2.Lead.get_failed_records(summary["job_id"])
    assert "STRING_TOO_LONG:" in failed and "INVALID_CROSS_REFERENCE_KEY:" in failed
    assert failed.splitlines()[0].startswith("sf__Id,sf__Error")
    assert ids[0] in sf.bulk2.Lead.get_successful_records(summary["job_id"])
    assert sf.Lead.get(ids[0])["Lead_Grade__c"] == "A"


def test_bulk_upsert_creates_then_updates_and_na_sets_null(sf):
    record = {
        "Leadloop_Key__c": "bulk-1",
        "LastName": "Bulk",
        "Company": "Co",
        "Status": "Open - Not Contacted",
        "Title": "CTO",
    }
    [created] = sf.bulk2.Lead.upsert(records=[record], external_id_field="Leadloop_Key__c", wait=0)
    [updated] = sf.bulk2.Lead.upsert(
        records=[{"Leadloop_Key__c": "bulk-1", "Title": "#N/A"}], external_id_field="Leadloop_Key__c", wait=0
    )
    assert created["numberRecordsFailed"] == updated["numberRecordsFailed"] == 0
    assert "true" in sf.bulk2.Lead.get_successful_records(created["job_id"]).splitlines()[1]
    [row] = sf.query("SELECT Id, Title FROM Lead WHERE Leadloop_Key__c = 'bulk-1'")["records"]
    assert row["Title"] is None


def test_all_or_none_collections_roll_back_every_record(sf):
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 2")["records"]]
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Lead"}, "Id": ids[0], "Lead_Grade__c": "A"},
            {"attributes": {"type": "Lead"}, "Id": ids[1], "Lead_Grade__c": "TOO LONG"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["errors"][0]["statusCode"] for r in results] == ["ALL_OR_NONE_OPERATION_ROLLED_BACK", "STRING_TOO_LONG"]
    assert sf.Lead.get(ids[0])["Lead_Grade__c"] is None


def test_records_carry_their_url_even_when_id_is_not_selected(sf):
    record = sf.query("SELECT Email FROM Lead ORDER BY Id LIMIT 1")["records"][0]
    assert set(record) == {"attributes", "Email"}
    assert record["attributes"]["url"].startswith("/services/data/v59.0/sobjects/Lead/00Q")


def test_a_query_locator_is_a_snapshot_so_writes_between_pages_neither_skip_nor_repeat(world_dir):
    with SalesforceSandbox(world_dir, page_size=50) as sandbox:
        sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
        first = sf.query("SELECT Id, IsConverted FROM Lead ORDER BY SystemModstamp")
        # Moving the first page to the end of the ordering would shift every later offset.
        # (Converted leads refuse updates, as in a real org.)
        for record in [r for r in first["records"] if not r["IsConverted"]][:20]:
            sf.Lead.update(record["Id"], {"Lead_Grade__c": "A"})
        ids = [r["Id"] for r in first["records"]]
        url = first.get("nextRecordsUrl")
        while url:
            page = sf.query_more(url, identifier_is_url=True)
            ids += [r["Id"] for r in page["records"]]
            url = page.get("nextRecordsUrl")
    assert len(ids) == len(set(ids)) == 200


def test_deleted_records_answer_entity_is_deleted(sf):
    lead_id = sf.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
    sf.Lead.delete(lead_id)
    for call in (lambda: sf.Lead.get(lead_id), lambda: sf.Lead.delete(lead_id)):
        with pytest.raises(SalesforceResourceNotFound) as excinfo:
            call()
        assert excinfo.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_global_describe_and_object_summary(sf):
    assert {o["name"] for o in sf.describe()["sobjects"]} >= {"Lead", "User"}
    assert sf.Lead.metadata()["objectDescribe"]["keyPrefix"] == "00Q"
    owner = sf.query("SELECT OwnerId FROM Lead LIMIT 1")["records"][0]["OwnerId"]
    assert sf.query(f"SELECT Id FROM User WHERE Id = '{owner}'")["totalSize"] == 1


def test_modstamps_never_go_backwards_across_restarts_or_behind_stored_data(world_dir):
    import sqlite3

    conn = sqlite3.connect(world_dir / "salesforce.sqlite")
    conn.execute("""update "Lead" set "SystemModstamp" = '2099-01-01T00:00:00.000Z' where rowid = 1""")
    conn.commit()
    conn.close()
    stamps = []
    for _ in range(2):
        with SalesforceSandbox(world_dir) as sandbox:
            sf = salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)
            lead_id = sf.query("SELECT Id FROM Lead ORDER BY Id DESC LIMIT 1")["records"][0]["Id"]
            for _ in range(2):
                sf.Lead.update(lead_id, {"Lead_Score__c": 1})
                stamps.append(sf.Lead.get(lead_id)["SystemModstamp"])
    assert stamps == sorted(set(stamps)) and stamps[0] > "2099-01-01T00:00:00.000+0000"


def test_converted_leads_refuse_updates_through_every_write_path(sf):
    converted = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = true LIMIT 2")["records"]]
    open_lead = sf.query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Lead.update(converted[0], {"Lead_Score__c": 1})
    assert excinfo.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"

    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Lead"}, "Id": i, "Lead_Score__c": 2} for i in [converted[1], open_lead]],
    }
    results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["success"] for r in results] == [False, True]
    assert results[0]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"

    (job,) = sf.bulk2.Lead.update(records=[{"Id": i, "Lead_Score__c": "3"} for i in converted], wait=0)
    assert job["numberRecordsFailed"] == 2
    failed = sf.bulk2.Lead.get_failed_records(job["job_id"])
    assert failed.count("CANNOT_UPDATE_CONVERTED_LEAD:cannot reference converted lead") == 2
    assert all(sf.Lead.get(i)["Lead_Score__c"] is None for i in converted)


def test_field_history_dates_each_consent_change_and_a_new_address_clears_its_bounce(sf):
    """LeadHistory records a change of a tracked flag (not of other fields) with its own stamp;
    a lead created through the API gets its `created` row; a changed Email clears the bounce."""
    lead = sf.query("SELECT Id FROM Lead WHERE HasOptedOutOfEmail = false AND IsConverted = false LIMIT 1")
    lead_id = lead["records"][0]["Id"]
    history = f"SELECT LeadId, Field, CreatedDate FROM LeadHistory WHERE LeadId = '{lead_id}'"
    before = sf.query(history)["records"]
    sf.Lead.update(lead_id, {"HasOptedOutOfEmail": True})
    opted_out_at = sf.Lead.get(lead_id)["SystemModstamp"]
    sf.Lead.update(lead_id, {"Title": "VP Sales", "HasOptedOutOfEmail": True})  # the flag is unchanged
    changes = sf.query(history)["records"][len(before) :]
    assert [(c["Field"], c["CreatedDate"]) for c in changes] == [("HasOptedOutOfEmail", opted_out_at)]
    assert sf.Lead.get(lead_id)["SystemModstamp"] > opted_out_at

    created = sf.Lead.create({"LastName": "Okafor", "Company": "Acme", "Status": "Open - Not Contacted"})["id"]
    rows = sf.query(f"SELECT Field FROM LeadHistory WHERE LeadId = '{created}'")["records"]
    assert [r["Field"] for r in rows] == ["created"]

    bounced = sf.query("SELECT Id, Email FROM Lead WHERE EmailBouncedReason != null AND IsConverted = false LIMIT 1")
    bounced_id = bounced["records"][0]["Id"]
    sf.Lead.update(bounced_id, {"Email": bounced["records"][0]["Email"].upper()})  # the same address
    assert sf.Lead.get(bounced_id)["EmailBouncedReason"]
    sf.Lead.update(bounced_id, {"Email": "fixed.address@example.com"})
    after = sf.Lead.get(bounced_id)
    assert (after["EmailBouncedReason"], after["EmailBouncedDate"]) == (None, None)
