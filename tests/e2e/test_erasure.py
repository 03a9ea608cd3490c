"""Erasure on request: the person leaves silver and gold on the next run, and a reload from the
source does not bring them back."""

import csv
import logging

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance

from ingestion.pipelines import pipelines_dir
from orchestration.assets.dbt import DBT_PROJECT_DIR
from orchestration.cli import cli
from orchestration.dbt_partial_parse import target_root
from orchestration.demo import run_lead_loop
from silver.erasure import SCHEMA, TABLE
from tests.e2e.consent_checks import crm_consent_violations
from tests.reliability.pii_sweep import files_holding, run_records, tables_holding, texts_holding

pytestmark = pytest.mark.e2e


def person_of(warehouse, lead_id: str) -> tuple[str, list[str]]:
    person = warehouse.query(
        "select person_id from silver.identity_records where record_key = ?", [f"salesforce_lead:{lead_id}"]
    )[0][0]
    keys = warehouse.query("select record_key from silver.identity_records where person_id = ?", [person])
    return person, [k for (k,) in keys]


def test_an_erased_person_is_gone_and_stays_gone(looped, monkeypatch, caplog):
    warehouse, world_dir, sf = looped.warehouse, looped.world_dir, looped.sf
    leads = sf.query_all("SELECT Id, Email FROM Lead WHERE Email != null ORDER BY Id")["records"]
    tokens = [looped.salesforce_sandbox.token, looped.hubspot_sandbox.token]
    by_cli, by_file = leads[0], leads[1]
    scored = sf.query_all("SELECT Id FROM Lead WHERE Lead_Score__c != null")["records"]
    assert {by_cli["Id"], by_file["Id"]} & {r["Id"] for r in scored}, "at least one of them was synced"
    person, records = person_of(warehouse, by_cli["Id"])
    file_person, file_records = person_of(warehouse, by_file["Id"])
    erased = [by_cli["Email"], by_file["Email"]]
    # The file sweep can find them: the sources' own files hold them (the table sweep's own test
    # is in tests/reliability/test_erasure_leftovers.py).
    assert files_holding([world_dir], erased)

    # The consent sweep finds what it must: a scored lead planted as erased is reported.
    planted = next(r["Id"] for r in scored)
    plant = [f"salesforce_lead:{planted}", "salesforce_lead", planted]
    warehouse.query(
        "insert into silver.identity_suppressed_records (record_key, source, source_id) values (?, ?, ?)", plant
    )
    assert ("Lead", planted, "erased person scored") in crm_consent_violations(warehouse, sf, world_dir)
    warehouse.query("delete from silver.identity_suppressed_records where record_key = ?", plant[:1])

    monkeypatch.setenv("LEADLOOP_WAREHOUSE_URL", warehouse.url)
    # The address as a person types it: other case, padding. The request matches regardless.
    result = CliRunner().invoke(cli, ["erase", "--email", f"  {by_cli['Email'].upper()} "])
    assert result.exit_code == 0, result.output
    assert by_cli["Email"].lower() not in result.output.lower()
    drop = world_dir / "landing" / "erasure"
    drop.mkdir(parents=True)
    with open(drop / "requests-2026-11-24.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["email"], [by_file["Email"]]])

    for loop in range(2):  # the second run reloads every source: nobody comes back
        if loop == 0:  # the first also shows that no secret or address reaches a log
            instance = DagsterInstance.ephemeral()
            with caplog.at_level(logging.INFO):
                run_lead_loop(warehouse, looped.salesforce, hubspot=looped.hubspot, instance=instance)
            assert_no_secret_or_address_leaked(instance, caplog, tokens, [lead["Email"] for lead in leads])
        else:
            looped.run()
        for gone, gone_records, lead in ((person, records, by_cli), (file_person, file_records, by_file)):
            assert warehouse.query("select count(*) from silver.int_people where person_id = ?", [gone]) == [(0,)]
            assert warehouse.query(
                "select count(*) from gold.salesforce_lead_scores where lead_id = ?", [lead["Id"]]
            ) == [(0,)]
            for table in ("lead_scores", "lead_score_history"):
                assert warehouse.query(f"select count(*) from gold.{table} where person_id = ?", [gone]) == [(0,)]
            kept = warehouse.query("select count(*) from silver.identity_records where person_id = ?", [gone])
            assert kept == [(0,)]
            suppressed = {k for (k,) in warehouse.query("select record_key from silver.identity_suppressed_records")}
            assert set(gone_records) <= suppressed
            # Silver's staging views read bronze: its copy of the person is deleted, not blanked, so
            # nothing built on it keeps a row of theirs.
            assert warehouse.query(
                "select count(*) from silver.stg_salesforce__leads where lead_id = ?", [lead["Id"]]
            ) == [(0,)]
            assert warehouse.query(
                "select count(*) from silver.stg_web_events__events where email = ?", [lead["Email"].lower()]
            ) == [(0,)]
            # The sync cleared what it had written: the CRM holds no score for them.
            crm = sf.Lead.get(lead["Id"])
            assert (crm["Lead_Score__c"], crm["Lead_Grade__c"], crm["Lead_Score_Reasons__c"]) == (None, None, None)
            # … and, once the clear was confirmed, forgot the lead: no sync state names it.
            assert warehouse.query(
                "select count(*) from reverse_etl.sync_state where record_key = ? or payload like ?",
                [lead["Id"], f"%{lead['Id']}%"],
            ) == [(0,)]
        # No CRM holds a score of theirs on any record (Lead, Contact, HubSpot contact), nor a task.
        assert crm_consent_violations(warehouse, sf, world_dir) == []
        # The registry holds hashes only.
        registry = warehouse.query(f"select key_hash, requested_by from {SCHEMA}.{TABLE} order by requested_by")
        assert [by for _, by in registry] == ["cli", "file:requests-2026-11-24.csv"]
        assert all("@" not in digest and len(digest) == 64 for digest, _ in registry)

    # Nowhere of ours holds their address any more: no table or view of any schema (bronze and
    # its quarantine and dlt staging datasets included), and no file in the data dir or dlt's
    # working folders. The world's files are the sources' own (the CRMs, the landing zone).
    assert tables_holding(warehouse, erased) == {}
    # Nor does any table or view of any schema (bronze, silver, gold, the sync state and run logs)
    # keep a row of their leads, blanked or not, by lead id: only the suppression list, which
    # keeps them out by record id.
    kept = tables_holding(warehouse, [by_cli["Id"], by_file["Id"]])
    assert set(kept) == {"silver.identity_suppressed_records"}
    assert files_holding([world_dir.parent, pipelines_dir(warehouse)], erased, exclude=[world_dir]) == {}


def assert_no_secret_or_address_leaked(instance, caplog, tokens: list[str], emails: list[str]) -> None:
    """A loop with known fake tokens over people with known addresses: neither a token nor a raw
    address is in the Python logs, the Dagster event log (messages, metadata, exceptions), or
    dbt's logs and this run's dbt target folders."""
    events = run_records(instance)
    (run,) = instance.get_runs()
    assert any("ASSET_MATERIALIZATION" in e for e in events), "the sweep reads a real event log"
    assert caplog.records, "the sweep reads real log records"
    logs = [f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records]
    assert texts_holding(logs + events, tokens + emails) == []
    # dagster-dbt gives each invocation a target folder (its dbt.log, compiled SQL, run results).
    invocations = list(target_root(DBT_PROJECT_DIR).glob(f"*-{run.run_id[:7]}-*"))
    assert invocations and all((folder / "dbt.log").exists() for folder in invocations)
    assert files_holding([*invocations, target_root(DBT_PROJECT_DIR) / "dbt.log"], tokens + emails) == {}
