"""dbt's unit tests (decay, caps, negative rules, MQL stickiness, reasons, routing, consent …)
on each warehouse. The loop's runs leave them out (orchestration/assets/dbt.py:
PIPELINE_BUILD_ARGS): they test the SQL against fixed inputs, so they run here, once per
warehouse, on a warehouse the loop built (dbt reads the columns of a unit test's parents from it),
through `leadloop dbt`, the command the README gives for running dbt on the configured warehouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_every_dbt_unit_test_passes(looped, tmp_path):
    target = tmp_path / "dbt_target"
    command = [str(Path(sys.executable).with_name("leadloop")), "dbt", "test", "--select", "test_type:unit"]
    command += ["--target-path", str(target)]
    env = {**os.environ, "LEADLOOP_WAREHOUSE_URL": looped.warehouse.url, "LEADLOOP_DATA_DIR": str(tmp_path)}
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]

    results = json.loads((target / "run_results.json").read_text())["results"]
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert unit_tests and {r["status"] for r in unit_tests} == {"pass"}
    # Every unit test of the project ran: none is lost to a selection that stopped matching.
    manifest = json.loads((target / "manifest.json").read_text())
    assert {r["unique_id"] for r in unit_tests} == set(manifest["unit_tests"])
