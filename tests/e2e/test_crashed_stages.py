"""The stages after the loads, SIGKILLed at seeded moments and run again, leave the warehouse and
the org as an uninterrupted run does: no duplicate or lost row, no duplicate task, no lost
update (issue 25).

Each scenario starts from the first loop's state (`looped`) with one change the stage has to
carry: two erasure requests for identity (records suppressed, bronze rows deleted), new grade
thresholds for the scoring step (grades move in gold), and the moved grades for the lead sync.
An uninterrupted run of the stage on a copy is the reference; each trial runs the stage on
another copy, kills it (`tests/reliability/stage_crash.py`), runs it again to the end, and
compares every table (and, for the sync, the org) with the reference. The CI setting is small;
`bench/crash_stages.py` runs the larger one.
"""

from __future__ import annotations

from typing import Any

import pytest

from silver.erasure import register
from tests.reliability.stage_crash import (
    Kill,
    copies,
    crm_copy,
    crm_rows,
    differences,
    run_stage,
    schemas_of,
    seeded_kill,
    warehouse_rows,
)

pytestmark = pytest.mark.e2e

# A fixed kill where it is likeliest to go wrong, then a seeded one (`seeded_kill`).
IDENTITY_TRIALS = ["last_statements", 1]  # the erased rows' deletes are the identity run's last statements
DBT_TRIALS = [0]
SYNC_TRIALS = [Kill("http", 1), 0]  # the CRM applied the first write, the state does not say so yet
# New grade thresholds: RevOps moved them, so the scoring step regrades and the lead sync resends.
GRADES = {"LEADLOOP_VAR_LEAD_GRADE_A_MIN": "60", "LEADLOOP_VAR_LEAD_GRADE_B_MIN": "45"}


def assert_same(got: dict, want: dict, trial: str) -> None:
    assert differences(got, want) == {}, trial


@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_a_killed_identity_run_reruns_to_the_same_silver_and_bronze(looped, tmp_path):
    warehouse = looped.warehouse
    # The two people with the most records: erasing them deletes rows from several sources.
    emails = warehouse.query(
        "select min(email_key) from silver.identity_records where email_key is not null "
        "group by person_id order by count(*) desc, person_id limit 2"
    )
    register(warehouse, [email for (email,) in emails], "cli")
    schemas = ["silver", "privacy", *schemas_of(warehouse, ["bronze"])]
    spec = {"stage": "identity", "landing": str(looped.world_dir / "landing")}
    with copies(warehouse, tmp_path) as copy:
        reference = copy("reference")
        counts = run_stage({**spec, "warehouse": reference.url})
        want = warehouse_rows(reference, schemas)
        assert want["silver.identity_suppressed_records"], "the erasure suppressed records"
        assert differences(want, warehouse_rows(warehouse, schemas)), "the stage had work to do"
        for n, seed in enumerate(IDENTITY_TRIALS):
            last = Kill("statement", counts["statement"] - 1)
            kill = last if seed == "last_statements" else seeded_kill("identity", int(seed), counts)
            trial = copy(f"identity-{n}")
            assert run_stage({**spec, "warehouse": trial.url}, kill) == {}, f"{kill} ended the run"
            run_stage({**spec, "warehouse": trial.url})
            assert_same(warehouse_rows(trial, schemas), want, str(kill))


def test_a_killed_scoring_step_and_lead_sync_rerun_to_the_same_gold_and_org(looped_duckdb, tmp_path, monkeypatch):
    looped = looped_duckdb
    warehouse = looped.warehouse
    for name, value in GRADES.items():
        monkeypatch.setenv(name, value)
    schemas = ["silver", "gold"]
    dbt = {"stage": "dbt", "step": "dbt_scoring"}
    with copies(warehouse, tmp_path) as copy:
        reference = copy("reference")
        counts = run_stage({**dbt, "warehouse": reference.url})
        want = warehouse_rows(reference, schemas)
        assert differences(want, warehouse_rows(warehouse, schemas)), "the step had work to do"
        for seed in DBT_TRIALS:
            kill = seeded_kill("dbt", seed, counts)
            trial = copy(f"dbt-{seed}")
            run_stage({**dbt, "warehouse": trial.url}, kill)
            run_stage({**dbt, "warehouse": trial.url})
            assert_same(warehouse_rows(trial, schemas), want, str(kill))

        # The lead sync, from the regraded gold, into copies of the org.
        from sandbox.salesforce.server import SalesforceSandbox

        sync = {"stage": "sync", "sync": "lead_scores_to_salesforce"}
        with SalesforceSandbox(crm_copy(looped.world_dir, tmp_path / "crm-reference")) as org:
            target = copy("sync-reference", of=reference)
            counts = run_stage({**sync, "warehouse": target.url, "salesforce": _org(org)})
            want_crm, want_state = crm_rows(_client(org)), warehouse_rows(target, ["reverse_etl"])
        assert counts.get("http", 0) >= 1
        for n, seed in enumerate(SYNC_TRIALS):
            kill = seed if isinstance(seed, Kill) else seeded_kill("sync", seed, counts)
            trial = copy(f"sync-{n}", of=reference)
            with SalesforceSandbox(crm_copy(looped.world_dir, tmp_path / f"crm-{n}")) as org:
                spec = {**sync, "warehouse": trial.url, "salesforce": _org(org)}
                assert run_stage(spec, kill) == {}, f"{kill} ended the run"
                run_stage(spec)
                assert_same(crm_rows(_client(org)), want_crm, str(kill))
            assert_same(warehouse_rows(trial, ["reverse_etl"]), want_state, str(kill))
            runs = dict(trial.query("select status, count(*) from reverse_etl.sync_runs group by 1"))
            assert runs.get("running", 0) == 0  # the re-run closed the killed one
            if kill.kind == "http":
                assert runs.get("abandoned", 0) == 1


def _org(org: Any) -> dict[str, str]:
    return {"instance_url": org.instance_url, "token": org.token, "ca_path": str(org.ca_path)}


def _client(org: Any) -> Any:
    from ingestion.crm_clients import salesforce_client

    return salesforce_client(org.instance_url, org.token, org.ca_path)
