"""What a data engineer sees in the Dagster UI: `leadloop dev` (what `make dev` runs: the sandbox
plus `dagster dev -w workspace.yaml`), asked over the webserver's GraphQL API, the API the UI's
asset graph is drawn from. PATH is minimal, as for a user who never activated the venv."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ASSET_QUERY = """
{ assetNodes { assetKey { path } groupName kinds description dependencyKeys { path }
               assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(tmp_path):
    port = _free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LEADLOOP_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}",
        "LEADLOOP_DATA_DIR": str(tmp_path / "data"),
    }
    env["PATH"] = "/usr/bin:/bin"
    log = open(tmp_path / "dev.log", "w+")  # noqa: SIM115 - read back on failure
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("leadloop")),
            "dev",
            "--data-dir",
            str(tmp_path / "data"),
            "--ui-port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the whole tree (dagster dev, its daemon, code server) stops together
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise AssertionError(f"leadloop dev did not start: {log.read()[-3000:]}")
            time.sleep(0.5)
        yield url, log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_ui_shows_one_connected_graph_with_groups_and_blocking_contract(webserver):
    webserver, log = webserver
    nodes = []
    deadline = time.monotonic() + 60
    while not nodes and time.monotonic() < deadline:  # the code location loads in the background
        response = requests.post(f"{webserver}/graphql", json={"query": ASSET_QUERY}, timeout=30)
        response.raise_for_status()
        nodes = response.json()["data"]["assetNodes"]
        time.sleep(0.5 if not nodes else 0)
    log.seek(0)
    assert nodes, f"no assets loaded; leadloop dev said: {log.read()[-3000:]}"
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert {
        "bronze_salesforce/lead",
        "silver/stg_salesforce__leads",
        "gold/lead_scores",
        "gold/lead_score_history",
        "gold/salesforce_lead_scores",
        "reverse_etl/lead_scores_to_salesforce",
    } <= set(by_key)
    deps = {key: {"/".join(d["path"]) for d in n["dependencyKeys"]} for key, n in by_key.items()}
    assert "bronze_salesforce/lead" in deps["silver/stg_salesforce__leads"]
    assert "gold/salesforce_lead_scores" in deps["reverse_etl/lead_scores_to_salesforce"]
    assert {n["groupName"] for n in nodes} >= {"bronze_salesforce", "bronze_hubspot", "silver", "gold", "reverse_etl"}
    assert all(n["kinds"] and n["description"] for n in nodes)
    checks = {c["name"]: c["blocking"] for c in by_key["gold/salesforce_lead_scores"]["assetChecksOrError"]["checks"]}
    assert checks["gx_salesforce_lead_scores_contract"] is True
    assert "unique_salesforce_lead_scores_lead_id" in checks
