"""What every end-to-end test shares: the loop's resources pointed at the test's sandboxes, the
file and product-database sources reading the test's world, and the world after one loop.

Most end-to-end scenarios start where the first loop over the 200-lead world leaves off. That
loop runs once per test process and warehouse kind (`first_loops`); each test then gets its
own copy of what it left (the world with the sandboxes' state files, and the warehouse: a file
copy on DuckDB, a template copy on Postgres), so a test can change anything without another
seeing it. With two xdist workers each builds the kinds its tests need, so the suite runs
at most four first loops where every test used to run its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestration.demo import LoopSummary, run_lead_loop
from orchestration.resources import HubSpotResource, SalesforceResource
from tests.support import copy_postgres_database, postgres_database
from warehouse import Warehouse


@pytest.fixture
def salesforce(salesforce_sandbox) -> SalesforceResource:
    return SalesforceResource(
        instance_url=salesforce_sandbox.instance_url,
        access_token=salesforce_sandbox.token,
        ca_bundle=str(salesforce_sandbox.ca_path),
    )


@pytest.fixture
def hubspot(hubspot_sandbox) -> HubSpotResource:
    return HubSpotResource(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url)


@pytest.fixture(autouse=True)
def world_data_dir(world_dir, monkeypatch):
    monkeypatch.setenv("LEADLOOP_DATA_DIR", str(world_dir.parent))
    monkeypatch.delenv("LEADLOOP_PRODUCT_DB_URL", raising=False)


@dataclass
class FirstLoop:
    """What the first loop left: the world (sandboxes stopped, their state on disk), the
    warehouse, and the loop's summary."""

    world_dir: Path
    warehouse: Warehouse
    summary: LoopSummary


@dataclass
class Looped:
    """One test's copy of the first loop's world, served: run the loop again with `run()`."""

    warehouse: Warehouse
    world_dir: Path
    salesforce_sandbox: Any
    hubspot_sandbox: Any
    first: LoopSummary
    salesforce: SalesforceResource = field(init=False)
    hubspot: HubSpotResource = field(init=False)

    def __post_init__(self) -> None:
        self.salesforce, self.hubspot = _resources(self.salesforce_sandbox, self.hubspot_sandbox)

    def run(self) -> LoopSummary:
        return run_lead_loop(self.warehouse, self.salesforce, hubspot=self.hubspot)

    @property
    def sf(self) -> Any:
        """The real simple-salesforce client, as the integration user."""
        from ingestion.crm_clients import salesforce_client

        sandbox = self.salesforce_sandbox
        return salesforce_client(sandbox.instance_url, sandbox.token, sandbox.ca_path)

    @property
    def rep(self) -> Any:
        """A sales rep's session: a person's edits, which the loop reads as source changes."""
        from ingestion.crm_clients import salesforce_client

        sandbox = self.salesforce_sandbox
        return salesforce_client(sandbox.instance_url, sandbox.rep_token, sandbox.ca_path)


def _resources(salesforce_sandbox: Any, hubspot_sandbox: Any) -> tuple[SalesforceResource, HubSpotResource]:
    salesforce = SalesforceResource(
        instance_url=salesforce_sandbox.instance_url,
        access_token=salesforce_sandbox.token,
        ca_bundle=str(salesforce_sandbox.ca_path),
    )
    return salesforce, HubSpotResource(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url)


def _serve(stack: ExitStack, world_dir: Path) -> tuple[Any, Any]:
    from sandbox.hubspot.server import HubSpotSandbox
    from sandbox.salesforce.server import SalesforceSandbox

    return stack.enter_context(SalesforceSandbox(world_dir)), stack.enter_context(HubSpotSandbox(world_dir))


@pytest.fixture(scope="session")
def first_loops(tmp_path_factory: pytest.TempPathFactory, world_factory) -> Iterator[Callable[[str], FirstLoop]]:
    """The first loop over the 200-lead world, per warehouse kind, run when first asked for."""
    built: dict[str, FirstLoop] = {}
    with ExitStack() as databases:

        def first_loop(kind: str) -> FirstLoop:
            if kind not in built:
                base = tmp_path_factory.mktemp(f"first-loop-{kind}")
                world = world_factory(base / "world", leads=200, seed=7)
                if kind == "duckdb":
                    warehouse = Warehouse.from_url(f"duckdb:///{base / 'warehouse.duckdb'}")
                else:
                    warehouse = databases.enter_context(postgres_database("leadloop_first_loop"))
                with pytest.MonkeyPatch.context() as env, ExitStack() as served:
                    env.setenv("LEADLOOP_DATA_DIR", str(base))
                    env.delenv("LEADLOOP_PRODUCT_DB_URL", raising=False)
                    salesforce, hubspot = _resources(*_serve(served, world))
                    summary = run_lead_loop(warehouse, salesforce, hubspot=hubspot)
                built[kind] = FirstLoop(world, warehouse, summary)
            return built[kind]

        yield first_loop


def _restore(first: FirstLoop, warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    world = tmp_path / "looped" / "world"
    shutil.copytree(first.world_dir, world)
    if warehouse.is_duckdb:
        assert first.warehouse.path is not None and warehouse.path is not None
        for suffix in ("", ".wal"):  # a WAL only if the last writer did not checkpoint
            kept = Path(f"{first.warehouse.path}{suffix}")
            if kept.exists():
                shutil.copyfile(kept, f"{warehouse.path}{suffix}")
    else:
        copy_postgres_database(first.warehouse, warehouse)
    monkeypatch.setenv("LEADLOOP_DATA_DIR", str(world.parent))
    return world


@pytest.fixture
def looped(warehouse: Warehouse, first_loops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Looped]:
    """On each warehouse: this test's own copy of the world and warehouse after the first loop."""
    first = first_loops("duckdb" if warehouse.is_duckdb else "postgres")
    world = _restore(first, warehouse, tmp_path, monkeypatch)
    with ExitStack() as served:
        yield Looped(warehouse, world, *_serve(served, world), first.summary)


@pytest.fixture
def looped_duckdb(duckdb_warehouse: Warehouse, first_loops, tmp_path: Path, monkeypatch) -> Iterator[Looped]:
    """`looped`, on DuckDB only."""
    first = first_loops("duckdb")
    world = _restore(first, duckdb_warehouse, tmp_path, monkeypatch)
    with ExitStack() as served:
        yield Looped(duckdb_warehouse, world, *_serve(served, world), first.summary)
