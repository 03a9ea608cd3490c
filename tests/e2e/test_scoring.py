"""Rules are data: editing one rule re-scores exactly the people it applies to, on a world the
whole loop built (DuckDB; both warehouses run the same models in test_lead_loop)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from orchestration.assets.dbt import DBT_EXECUTABLE, DBT_PROJECT_DIR
from warehouse import Warehouse

pytestmark = pytest.mark.e2e

RULE = "country_us"  # alone in its group, so a new value cannot change another rule's win


def person_scores(warehouse: Warehouse) -> dict[str, tuple]:
    rows = warehouse.query("select person_id, score, reasons from gold.lead_scores")
    return {person: (score, reasons) for person, score, reasons in rows}


def dbt_run(warehouse: Warehouse, target: Path, *select: str) -> None:
    """`dbt run` as `leadloop dbt` runs it: no seed reload, so an edited rules table stays."""
    command = [DBT_EXECUTABLE, "run", "--select", *select, "--project-dir", str(DBT_PROJECT_DIR)]
    command += ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)]
    result = subprocess.run(command, env={**os.environ, **warehouse.dbt_env()}, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_changing_one_rule_changes_exactly_the_people_it_touches(looped_duckdb, tmp_path):
    assert_one_rule_rescores_exactly_its_people(looped_duckdb.warehouse, tmp_path / "dbt_target")


def assert_one_rule_rescores_exactly_its_people(duckdb_warehouse: Warehouse, target: Path) -> None:
    """On a scored warehouse: +4 points on RULE re-scores its people and nobody else."""
    before = person_scores(duckdb_warehouse)
    touched = {
        person
        for (person,) in duckdb_warehouse.query(
            "select person_id from silver.int_person_fit_matches where rule_id = ?", [RULE]
        )
    }
    assert 0 < len(touched) < len(before)
    (points,) = duckdb_warehouse.query("select points from silver.fit_rules where rule_id = ?", [RULE])[0]
    (old_version,) = duckdb_warehouse.query("select score_version from silver.int_scoring_context")[0]

    with duckdb_warehouse.connect() as conn:
        conn.execute("update silver.fit_rules set points = points + 4 where rule_id = ?", [RULE])
    dbt_run(duckdb_warehouse, target, "int_scoring_context+", "int_person_fit_matches+")

    after = person_scores(duckdb_warehouse)
    (new_version,) = duckdb_warehouse.query("select score_version from silver.int_scoring_context")[0]
    assert set(after) == set(before)
    changed = {person for person in before if after[person] != before[person]}
    assert changed == touched
    for person in touched:
        score, reasons = after[person]
        assert f"Core market (US): +{points + 4}" in reasons
        assert before[person][0] <= score <= min(100, before[person][0] + 4)
    # The new rule set is a new score version, stamped on every row.
    assert duckdb_warehouse.query("select distinct score_version from gold.lead_scores") == [(new_version,)]
    assert new_version != old_version
    # The history gained a row for exactly the people whose score moved.
    moved = {p for p in touched if after[p][0] != before[p][0]}
    assert moved
    history = duckdb_warehouse.query("select person_id from gold.lead_score_history where change_number = 2")
    assert {p for (p,) in history} == moved
