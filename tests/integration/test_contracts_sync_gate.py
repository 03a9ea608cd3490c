"""A sync cannot step around a contract: the sync asset materialized alone (one click in the UI)
refuses corrupt gold in one line and the sandbox sees no write; fixed, it sends.

Runs the real Dagster definitions in-process against the HTTPS Salesforce sandbox. Gold is
written directly (no dbt, no world load): the gate judges the table the sync reads, so that is
all these tests need.
"""

from __future__ import annotations

from typing import Any

import pytest
from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey, AssetMaterialization, DagsterInstance

from orchestration.build import LEAD_LOOP_JOB, build_definitions
from orchestration.resources import SalesforceResource
from tests.integration.test_reverse_etl_cli import cli_env  # noqa: F401 - a fixture
from tests.support import write_lead_scores

GOLD = AssetKey(["gold", "salesforce_lead_scores"])
SYNC = AssetKey(["reverse_etl", "lead_scores_to_salesforce"])
CHECK = AssetCheckKey(GOLD, "gx_salesforce_lead_scores_contract")
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture
def job(warehouse, salesforce_sandbox):
    salesforce = SalesforceResource(
        instance_url=salesforce_sandbox.instance_url,
        access_token=salesforce_sandbox.token,
        ca_bundle=str(salesforce_sandbox.ca_path),
    )
    return build_definitions(warehouse, salesforce=salesforce).resolve_job_def(LEAD_LOOP_JOB)


@pytest.fixture
def rows(sf) -> list[tuple[Any, ...]]:
    soql = "SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT 40"
    ids = [r["Id"] for r in sf.query(soql)["records"]]
    assert len(ids) == 40
    return [(lead_id, 10 + (i * 37) % 85, "ABCD"[i % 4], f"reason {i}", 1 + i % 3) for i, lead_id in enumerate(ids)]


def _writes(sandbox, mark: int) -> list[dict[str, Any]]:
    return [r for r in sandbox.request_log(mark) if r["method"] in WRITES]


def _sync_alone(job, instance: DagsterInstance):
    return job.execute_in_process(instance=instance, asset_selection=[SYNC], raise_on_error=False)


def _refusal(result) -> str:
    [failure] = [e for e in result.all_events if e.is_step_failure]
    return failure.step_failure_data.error.message


def test_the_sync_alone_refuses_corrupt_scores_then_sends_once_fixed(warehouse, job, rows, salesforce_sandbox):
    corrupt = [(lead_id, 140 + i, grade, reasons, n) for i, (lead_id, _, grade, reasons, n) in enumerate(rows[:10])]
    nameless = [(None, 50, "B", "no id", 1)] * 5
    write_lead_scores(warehouse, corrupt + nameless + rows[10:])
    instance = DagsterInstance.ephemeral()
    mark = salesforce_sandbox.last_request_id()

    refused = _sync_alone(job, instance)

    assert not refused.success
    message = _refusal(refused)
    assert "lead_scores_to_salesforce refused to send" in message
    assert "expect_column_values_to_be_between(score): 10 unexpected" in message
    assert "expect_column_values_to_not_be_null(lead_id): 5 unexpected" in message
    assert "\n" not in message.strip()
    assert _writes(salesforce_sandbox, mark) == []
    assert not warehouse.table_exists("reverse_etl", "sync_state")  # it never got as far as planning

    write_lead_scores(warehouse, rows)
    mark = salesforce_sandbox.last_request_id()
    sent = _sync_alone(job, instance)
    assert sent.success
    assert [(w["method"], w["records"]) for w in _writes(salesforce_sandbox, mark)] == [("PATCH", 40)]


def test_a_pass_older_than_the_data_is_not_trusted(warehouse, job, rows, salesforce_sandbox):
    """The check passed, then gold was materialized again (corrupt): the old pass is not current,
    so the sync evaluates the contract itself and refuses. A dropped table is an error, also refused."""
    write_lead_scores(warehouse, rows)
    instance = DagsterInstance.ephemeral()
    check_only = job.get_subset(asset_selection=set(), asset_check_selection={CHECK})
    assert check_only.execute_in_process(instance=instance).success

    write_lead_scores(warehouse, [(r[0], 0, "D", r[3], r[4]) for r in rows])  # every score became 0
    instance.report_runless_asset_event(AssetMaterialization(GOLD))
    mark = salesforce_sandbox.last_request_id()
    # The check and the sync in one run: the blocking check fails and the sync never starts.
    both = job.get_subset(asset_selection={SYNC}, asset_check_selection={CHECK})
    stopped = both.execute_in_process(instance=instance, raise_on_error=False)
    [evaluation] = stopped.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    assert evaluation.metadata["blocking_failed"].value == 3
    assert stopped.get_asset_materialization_events() == []
    assert _writes(salesforce_sandbox, mark) == []
    # And alone, the sync does not trust the pass that is older than the data.
    refused = _sync_alone(job, instance)
    assert not refused.success
    message = _refusal(refused)
    assert "refused to send" in message
    for broken in ("unique_value_count_to_be_between(score)", "mean_within_previous_run(score)", "D: 100% (was 25%)"):
        assert broken in message

    with warehouse.connect() as conn:
        conn.cursor().execute("drop table gold.salesforce_lead_scores")
    errored = _sync_alone(job, instance)
    assert "could not be evaluated" in _refusal(errored)
    assert _writes(salesforce_sandbox, mark) == []


def test_every_contract_is_a_check_with_its_severity(duckdb_warehouse):
    """What the Dagster UI shows: one check per contract, blocking exactly for ERROR contracts."""
    from expectations.config import load_contracts

    graph = build_definitions(duckdb_warehouse).resolve_asset_graph()
    contracts = load_contracts().values()
    for contract in contracts:
        spec = graph.get_check_spec(
            AssetCheckKey(AssetKey([contract.schema, contract.table]), f"gx_{contract.suite}_contract")
        )
        assert spec.blocking == (contract.severity == "error")
        assert spec.description.startswith("[blocking (ERROR)" if spec.blocking else "[warning (WARN)")
        assert spec.metadata["severity"] == ("ERROR" if spec.blocking else "WARN")
    gx_checks = {key for key in graph.asset_check_keys if key.name.startswith("gx_")}
    assert len(gx_checks) == len(contracts) >= 14


def test_leadloop_sync_refuses_too(cli_env, warehouse, rows, salesforce_sandbox):  # noqa: F811 - the fixture
    """Outside Dagster there is no check history to trust: `leadloop sync` evaluates the contract."""
    from click.testing import CliRunner

    from orchestration.cli import cli

    write_lead_scores(warehouse, [(r[0], 250, *r[2:]) for r in rows])
    mark = salesforce_sandbox.last_request_id()
    result = CliRunner().invoke(cli, ["sync", "lead_scores_to_salesforce", "--data-dir", str(cli_env)])
    assert result.exit_code == 2
    assert (
        "leadloop: error: lead_scores_to_salesforce refused to send: contract salesforce_lead_scores" in result.output
    )
    assert "expect_column_values_to_be_between(score): 40 unexpected" in result.output
    assert _writes(salesforce_sandbox, mark) == []
