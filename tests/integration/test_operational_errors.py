"""What a user sees when the setup is wrong: one actionable line, never a traceback wall."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.salesforce import SourceUnavailableError
from orchestration.demo import LoopFailedError, run_lead_loop
from orchestration.resources import HubSpotResource, SalesforceResource

LEADLOOP = str(Path(sys.executable).with_name("leadloop"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_warehouse_url_is_one_line_and_exit_code_2(tmp_path):
    result = subprocess.run(
        [LEADLOOP, "demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "LEADLOOP_WAREHOUSE_URL": "snowflake://acct/db"},
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "leadloop: error: LEADLOOP_WAREHOUSE_URL scheme 'snowflake' is not supported: use 'duckdb:///path' or "
        "'postgresql://user@host:port/db'."
    ]


def test_unreachable_crm_fails_the_loop_with_one_actionable_line(
    duckdb_warehouse, salesforce_sandbox, hubspot_sandbox, world_dir, monkeypatch
):
    monkeypatch.setenv("LEADLOOP_DATA_DIR", str(world_dir.parent))
    port = _closed_port()
    hubspot = HubSpotResource(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url)
    salesforce = SalesforceResource(
        instance_url=f"https://127.0.0.1:{port}", access_token="t", ca_bundle=str(salesforce_sandbox.ca_path)
    )
    with pytest.raises(LoopFailedError) as excinfo:
        run_lead_loop(duckdb_warehouse, salesforce, hubspot=hubspot)
    message = str(excinfo.value)
    assert "\n" not in message
    assert f"Salesforce not reachable at https://127.0.0.1:{port}" in message
    assert "leadloop sandbox" in message


def test_no_credentials_and_no_sandbox_says_how_to_start_one(tmp_path):
    with pytest.raises(SourceUnavailableError, match="start one with `leadloop sandbox` or `make dev`"):
        SalesforceResource(data_dir=str(tmp_path)).client()
