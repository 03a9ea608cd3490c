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


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc (what `leadloop dev` started, directly or not)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


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
        # The checkout's dbt target, where the tests' manifest is already parsed (a new data
        # dir's own target would cost dagster dev a full parse at start).
        "DBT_TARGET_PATH": str(Path(__file__).resolve().parents[2] / "dbt_project" / "target"),
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
        started = descendants(process.pid)
        yield url, log, process, tmp_path / "data"
    finally:
        # The test stops `leadloop dev` itself; this only sweeps up after a failure.
        leftovers = (started if "started" in locals() else set()) | descendants(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()


def test_ui_shows_one_connected_graph_with_groups_and_blocking_contract(webserver):
    webserver, log, process, data_dir = webserver
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

    # SIGTERM to `leadloop dev` alone (as a process manager sends it) stops all it started:
    # dagster dev, its webserver, daemon and code server, and the sandbox's endpoints file.
    endpoints = data_dir / "sandbox" / "endpoints.json"
    assert endpoints.exists()
    started = descendants(process.pid)
    assert len(started) >= 3, started  # dagster dev, webserver, daemon (and code servers)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) is not None
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in started if alive(pid)] == []
    assert not endpoints.exists()
