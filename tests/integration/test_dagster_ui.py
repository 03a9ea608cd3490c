"""What a data engineer sees in the Dagster UI: `leadloop dev` (what `make dev` runs: the sandbox
plus `dagster dev -w workspace.yaml`), asked over the webserver's GraphQL API, the API the UI's
asset graph is drawn from. PATH is minimal, as for a user who never activated the venv."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, sync_playwright

from tests.support import CHROMIUM, CHROMIUM_ARGS

RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status assetSelection { path } } } } }"
CHEAP_ASSET = ("silver", "fit_rules")  # a dbt seed: one small dbt build

ASSET_QUERY = """
{ assetNodes { assetKey { path } groupName kinds description isMaterializable dependencyKeys { path }
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
    # Every asset Leadloop materializes says what it is (tables it only reads, such as the sync
    # state a report reads, show as external assets).
    assert all(n["kinds"] and n["description"] for n in nodes if n["isMaterializable"])
    checks = {c["name"]: c["blocking"] for c in by_key["gold/salesforce_lead_scores"]["assetChecksOrError"]["checks"]}
    assert checks["gx_salesforce_lead_scores_contract"] is True
    assert "unique_salesforce_lead_scores_lead_id" in checks

    # The same, as a person sees it in a real browser.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ours = [n for n in nodes if n["isMaterializable"]]
            # The tree renders only the rows in view: a window tall enough for every row.
            page = browser.new_page(viewport={"width": 1600, "height": max(3000, 40 * len(nodes) + 1000)})
            listed = lineage_tree(page, webserver, sorted({n["groupName"] for n in ours}))
            assert {n["assetKey"]["path"][-1] for n in ours} <= listed
            run = materialize_from_ui(page, webserver, CHEAP_ASSET)
            assert run["status"] == "SUCCESS", run
            # The dbt materialization carries its row count and typed columns.
            seed = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / f"{CHEAP_ASSET[-1]}.csv"
            rows = len(seed.read_text(encoding="utf-8").strip().splitlines()) - 1
            metadata = latest_materialization_metadata(webserver, CHEAP_ASSET)
            assert metadata["dagster/row_count"] == rows
            assert "dagster/column_schema" in metadata
            screenshot = data_dir / "screenshots" / "materialized.png"
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.reload()
            page.screenshot(path=str(screenshot))
            assert screenshot.stat().st_size > 10_000
        finally:
            browser.close()

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


def _dismiss_welcome(page: Page) -> None:
    """Dagster greets a new instance with a newsletter dialog once."""
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(Exception):
        skip.wait_for(timeout=5_000)
        skip.click()


def lineage_tree(page: Page, url: str, groups: list[str]) -> set[str]:
    """The asset names the global lineage page lists, every group expanded."""
    page.goto(f"{url}/asset-groups")
    page.get_by_text("Global asset lineage").wait_for(timeout=60_000)
    _dismiss_welcome(page)
    for group in groups:
        page.get_by_text(group, exact=True).first.click()
        page.keyboard.press("ArrowRight")  # expands the tree item
    page.get_by_text("lead_scores_to_salesforce", exact=True).first.wait_for(timeout=30_000)
    return {line.strip() for line in page.inner_text("body").splitlines() if line.strip()}


def materialize_from_ui(page: Page, url: str, key: tuple[str, ...]) -> dict:
    """Clicks Materialize on the asset's page and waits for the run it launched to finish."""
    page.goto(f"{url}/assets/{'/'.join(key)}")
    _dismiss_welcome(page)
    page.locator("button", has_text=re.compile(r"^Materialize$")).click(timeout=60_000)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        runs = requests.post(f"{url}/graphql", json={"query": RUNS_QUERY}, timeout=30).json()
        mine = [
            r for r in runs["data"]["runsOrError"]["results"] if [a["path"] for a in r["assetSelection"]] == [list(key)]
        ]
        if mine and mine[0]["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
            return mine[0]
        time.sleep(1)
    raise AssertionError(f"no finished run for {key} launched from the UI: {mine}")


def latest_materialization_metadata(url: str, key: tuple[str, ...]) -> dict:
    query = (
        "query($path: [String!]!) { assetOrError(assetKey: {path: $path}) { ... on Asset { "
        "assetMaterializations(limit: 1) { metadataEntries { label __typename "
        "... on IntMetadataEntry { intValue } } } } } }"
    )
    answer = requests.post(f"{url}/graphql", json={"query": query, "variables": {"path": list(key)}}, timeout=30)
    entries = answer.json()["data"]["assetOrError"]["assetMaterializations"][0]["metadataEntries"]
    return {e["label"]: e.get("intValue", e["__typename"]) for e in entries}
