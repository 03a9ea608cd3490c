"""What a data engineer sees in the Dagster UI: the webserver on workspace.yaml, asked over its
own GraphQL API (the same API the UI's asset graph is drawn from)."""

from __future__ import annotations

import os
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
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
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
                raise AssertionError(f"dagster-webserver did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ui_shows_one_connected_graph_with_groups_and_blocking_contract(webserver):
    nodes = []
    deadline = time.monotonic() + 60
    while not nodes and time.monotonic() < deadline:  # the code location loads in the background
        response = requests.post(f"{webserver}/graphql", json={"query": ASSET_QUERY}, timeout=30)
        response.raise_for_status()
        nodes = response.json()["data"]["assetNodes"]
        time.sleep(0.5 if not nodes else 0)
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert {
        "bronze_salesforce/lead",
        "silver/stg_salesforce__leads",
        "gold/lead_scores",
        "reverse_etl/lead_scores_to_salesforce",
    } <= set(by_key)
    deps = {key: {"/".join(d["path"]) for d in n["dependencyKeys"]} for key, n in by_key.items()}
    assert "bronze_salesforce/lead" in deps["silver/stg_salesforce__leads"]
    assert "gold/lead_scores" in deps["reverse_etl/lead_scores_to_salesforce"]
    assert {n["groupName"] for n in nodes} >= {"bronze", "silver", "gold", "reverse_etl"}
    assert all(n["kinds"] and n["description"] for n in nodes)
    checks = {c["name"]: c["blocking"] for c in by_key["gold/lead_scores"]["assetChecksOrError"]["checks"]}
    assert checks["gx_lead_scores_contract"] is True
    assert "unique_lead_scores_lead_id" in checks
