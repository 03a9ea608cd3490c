"""Dagster as its best users run it, checked on the definitions (no daemon): owners and tags on
every asset, sources on a cron and the rest downstream-eager behind blocking checks, retries on
the CRM writes, landing-folder sensors that start only what reads the folder, and a run-failure
alert posted to a Slack-compatible webhook."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    asset,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    op,
)

from orchestration.assets.dbt import STEP_NAMES, dbt_steps, source_test_steps
from orchestration.automation import CRM_RETRY_POLICY, OWNERS, with_operating_policies
from orchestration.build import LEAD_LOOP_JOB, build_definitions
from orchestration.resources import LandingZoneResource
from orchestration.sensors import run_failure_alert
from warehouse import Warehouse


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    return build_definitions(Warehouse.from_url(f"duckdb:///{tmp_path_factory.mktemp('defs') / 'w.duckdb'}"))


def test_every_asset_has_an_owner_a_layer_and_an_automation_condition(defs):
    graph = defs.resolve_asset_graph()
    nodes = [graph.get(k) for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    assert len(nodes) > 50
    for node in nodes:
        assert node.owners and node.owners[0] in OWNERS.values(), node.key
        assert node.tags["layer"] in OWNERS, node.key
        assert node.automation_condition is not None, node.key
    lead = graph.get(AssetKey(["bronze_salesforce", "lead"]))
    assert lead.tags["source"] == "salesforce"
    assert lead.automation_condition.get_label() == "on_cron(0 6 * * *, UTC)"
    sync = graph.get(AssetKey(["reverse_etl", "lead_scores_to_salesforce"]))
    assert sync.owners == ["team:revops"] and sync.tags["destination"] == "salesforce"
    assert sync.automation_condition.get_label() == "eager, after upstream blocking checks pass"
    assert "all_deps_blocking_checks_passed" in str(sync.automation_condition)
    assert lead.freshness_policy.fail_window.to_timedelta().total_seconds() == 26 * 3600
    # A sync runs only when something changed (orchestration/change_gate.py): its age is not staleness.
    for later in (sync, graph.get(AssetKey(["gold", "lead_scores"]))):
        assert later.freshness_policy is None, later.key
    assert {s.name for s in defs.sensors} >= {"leadloop_automation", "run_failure_alert", "partner_drops_sensor"}


def test_roots_run_on_the_configured_cron_and_the_rest_follow():
    @asset
    def landed() -> None: ...

    @asset(deps=[landed])
    def modelled() -> None: ...

    root, child = with_operating_policies([landed, modelled], cron="*/15 * * * *")
    assert root.specs_by_key[landed.key].automation_condition.get_label() == "on_cron(*/15 * * * *, UTC)"
    assert child.specs_by_key[modelled.key].automation_condition.get_label().startswith("eager")


def test_crm_writes_retry_with_backoff(defs):
    sync = defs.get_assets_def(AssetKey(["reverse_etl", "lead_scores_to_salesforce"]))
    assert sync.op.retry_policy == CRM_RETRY_POLICY
    assert CRM_RETRY_POLICY.max_retries >= 3 and CRM_RETRY_POLICY.delay


def test_a_new_partner_file_starts_only_the_partner_loads(defs, tmp_path):
    sensor = next(s for s in defs.sensors if s.name == "partner_drops_sensor")
    graph = defs.resolve_asset_graph()
    targets = sensor.asset_selection.resolve(graph)
    assert targets and {k.path[0] for k in targets} == {"bronze_partners"}
    drops = tmp_path / "partners"
    drops.mkdir()
    (drops / "old.csv").write_text("a\n")
    landing = {"landing": LandingZoneResource(partner_drops_url=str(drops), events_url=str(tmp_path / "landing"))}

    first = sensor(build_sensor_context(cursor=None, resources=landing))
    assert first.run_requests == []  # watches from now: files already there load on the cron
    (drops / "new.csv").write_text("b\n")
    os.utime(drops / "new.csv", (float(first.cursor) + 5, float(first.cursor) + 5))
    second = sensor(build_sensor_context(cursor=first.cursor, resources=landing))
    assert [type(r) for r in second.run_requests] == [RunRequest]
    third = sensor(build_sensor_context(cursor=second.cursor, resources=landing))
    assert third.run_requests == []
    erasure = next(s for s in defs.sensors if s.name == "erasure_requests_sensor").asset_selection.resolve(graph)
    assert AssetKey(["silver", "identity_records"]) in erasure and all(k.path[0] == "silver" for k in erasure)


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None: ...


def test_a_failed_run_is_logged_and_posted_to_the_webhook(monkeypatch, caplog):
    @op
    def explode() -> None:
        raise RuntimeError("salesforce said no")

    @job
    def doomed() -> None:
        explode()

    instance = DagsterInstance.ephemeral()
    result = doomed.execute_in_process(instance=instance, raise_on_error=False)
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("LEADLOOP_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
        context = build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        with caplog.at_level("ERROR", logger="leadloop.alerts"):
            run_failure_alert(context)
    finally:
        server.shutdown()
    assert len(_Webhook.received) == 1
    text = _Webhook.received[0]["text"]
    assert text.startswith(f"Leadloop run failed: job doomed, run {result.run_id[:8]}")
    assert any(text == r.getMessage() for r in caplog.records)
    monkeypatch.delenv("LEADLOOP_ALERT_WEBHOOK_URL")
    run_failure_alert(context)  # no webhook configured: logged only, nothing posted
    assert len(_Webhook.received) == 1


def test_sensor_folders_follow_the_landing_resource(tmp_path):
    from orchestration.sensors import landed_files, new_files

    assert landed_files(str(tmp_path / "absent")) == {}
    (tmp_path / "a").write_text("x")
    found = landed_files(str(tmp_path))
    assert list(found) == [str(Path(tmp_path / "a"))]
    assert new_files(found, None) == ([], str(found[str(tmp_path / "a")]))


def test_dbt_runs_in_steps_named_for_what_they_build(defs):
    """Not leadloop_dbt, leadloop_dbt_2, …: the step names a failure alert and the UI show."""
    job = defs.resolve_job_def(LEAD_LOOP_JOB)
    assert {name for name in job.graph.node_dict if "dbt" in name} == set(STEP_NAMES)


def test_steps_follow_the_python_assets_between_dbt_models():
    source = {"resource_type": "source"}
    manifest = {
        "sources": {
            "source.p.crm.lead": {**source, "source_name": "crm"},
            "source.p.identity.records": {**source, "source_name": "identity"},
            "source.p.enrichment.firms": {**source, "source_name": "enrichment"},
        },
        "nodes": {
            "seed.p.rules": {"resource_type": "seed", "name": "rules"},
            "model.p.stg": {"resource_type": "model", "name": "stg", "depends_on": {"nodes": ["source.p.crm.lead"]}},
            "model.p.people": {
                "resource_type": "model",
                "name": "people",
                "depends_on": {"nodes": ["source.p.identity.records", "model.p.stg"]},
            },
            "model.p.scores": {
                "resource_type": "model",
                "name": "scores",
                "depends_on": {"nodes": ["model.p.people", "source.p.enrichment.firms", "seed.p.rules"]},
            },
            "test.p.unique_records": {"resource_type": "test", "depends_on": {"nodes": ["source.p.identity.records"]}},
            "test.p.unique_lead": {"resource_type": "test", "depends_on": {"nodes": ["source.p.crm.lead"]}},
        },
    }
    assert dbt_steps(manifest) == {"dbt_staging": ["stg", "rules"], "dbt_people": ["people"], "dbt_scoring": ["scores"]}
    assert source_test_steps(manifest) == {"test.p.unique_records": "dbt_people", "test.p.unique_lead": "dbt_staging"}
