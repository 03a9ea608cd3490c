"""`leadloop sync [NAME] [--dry-run]` against the sandbox, on each warehouse: the preview writes
nothing anywhere, the run sends what the preview said, a missing field stops it up front."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestration.cli import cli
from sandbox.endpoints import write_endpoints
from tests.support import write_lead_scores

SYNC = "lead_scores_to_salesforce"


@pytest.fixture
def cli_env(tmp_path: Path, warehouse, salesforce_sandbox, monkeypatch) -> Path:
    data_dir = tmp_path / "data"
    write_endpoints(
        data_dir,
        salesforce={
            "instance_url": salesforce_sandbox.instance_url,
            "ca_path": str(salesforce_sandbox.ca_path),
            "token": salesforce_sandbox.token,
        },
    )
    monkeypatch.setenv("LEADLOOP_WAREHOUSE_URL", warehouse.url)
    for name in ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return data_dir


def _writes(sandbox, since: int) -> list[dict]:
    return [r for r in sandbox.request_log(since) if r["method"] != "GET"]


def test_dry_run_prints_the_plan_masked_and_writes_nothing(cli_env, warehouse, sf, salesforce_sandbox):
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 5")["records"]]
    rows = [(i, 60 + n, "B", f"reason {n}", 1) for n, i in enumerate(ids)]
    rows[0] = (ids[0], 60, "B", "referred by jane.doe@example.com", 1)
    write_lead_scores(warehouse, rows)
    runner = CliRunner()

    mark = salesforce_sandbox.last_request_id()
    preview = runner.invoke(cli, ["sync", SYNC, "--dry-run", "--data-dir", str(cli_env)])
    assert preview.exit_code == 0, preview.output
    assert "update 5 (new 5, changed 0, retry 0), clear 0, unchanged 0, below change threshold 0" in preview.output
    assert "API calls it would cost: 1" in preview.output
    assert "j***@e***.com" in preview.output and "jane.doe" not in preview.output
    assert _writes(salesforce_sandbox, mark) == []
    assert not warehouse.table_exists("reverse_etl", "sync_runs")

    done = runner.invoke(cli, ["sync", SYNC, "--data-dir", str(cli_env)])
    assert done.exit_code == 0, done.output
    assert f"{SYNC}: success: 5 sent, 5 confirmed" in done.output

    rows[1] = (ids[1], 99, "A", "reason 1", 1)
    write_lead_scores(warehouse, rows)
    again = runner.invoke(cli, ["sync", "--dry-run", "--data-dir", str(cli_env)])
    assert "update 1 (new 0, changed 1, retry 0), clear 0, unchanged 4, below change threshold 0" in again.output
    assert f'changed {ids[1]}  Lead_Score__c: 61.0 -> 99.0, Lead_Grade__c: "B" -> "A"' in again.output
    assert "API calls it would cost: 1" in again.output
    assert warehouse.query("select count(*) from reverse_etl.sync_runs") == [(1,)]


def test_missing_custom_fields_are_listed_before_anything_is_sent(cli_env, tmp_path, warehouse, sf, salesforce_sandbox):
    spec = tmp_path / "shoe_sizes.yaml"
    spec.write_text(
        "name: shoe_sizes\nsource: {schema: gold, table: salesforce_lead_scores, key: lead_id}\n"
        "destination: {kind: salesforce, object: Lead}\n"
        "fields: {score: Shoe_Size__c, grade: Lead_Grade__c, reasons: Favourite_Colour__c}\n"
    )
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 3")["records"]]
    write_lead_scores(warehouse, [(i, 1, "D", "r", 1) for i in ids])
    mark = salesforce_sandbox.last_request_id()
    for extra in ([], ["--dry-run"]):
        result = CliRunner().invoke(cli, ["sync", str(spec), *extra, "--data-dir", str(cli_env)])
        assert result.exit_code == 2
        assert "missing on Lead: Shoe_Size__c, Favourite_Colour__c" in result.output
    assert _writes(salesforce_sandbox, mark) == []
