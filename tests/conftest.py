"""Shared fixtures: a throwaway warehouse of each kind and a running Salesforce sandbox.

Every warehouse-touching test runs on DuckDB and on Postgres. Postgres tests create and drop
their own database; without a server they skip, unless LEADLOOP_REQUIRE_POSTGRES=1 (CI), where
a missing server is a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import postgres_database
from warehouse import Warehouse

FIRST_LOOP_FIXTURES = {"looped": None, "looped_duckdb": "duckdb"}  # tests/e2e/conftest.py


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under `--dist loadgroup` (`make test`), every test that starts from the first loop on one
    warehouse kind runs on the same worker: each worker builds one first loop (a minute of work)
    instead of each building both, and the two long groups start first, so the short tests fill
    the workers' ends rather than one long test running alone at the end. (Marked as each test
    is collected: xdist reads the groups in its own `pytest_collection_modifyitems`.)"""
    fixtures = getattr(item, "fixturenames", ())
    for fixture, kind in FIRST_LOOP_FIXTURES.items():
        if fixture in fixtures:
            params = getattr(getattr(item, "callspec", None), "params", {})
            item.add_marker(pytest.mark.xdist_group(f"first-loop-{kind or params.get('warehouse', 'duckdb')}"))
            return


@pytest.fixture
def duckdb_warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse.from_url(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")


@pytest.fixture
def postgres_warehouse() -> Iterator[Warehouse]:
    with postgres_database() as warehouse:
        yield warehouse


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> Warehouse:
    """Parametrized over both supported warehouses."""
    return request.getfixturevalue(f"{request.param}_warehouse")


WorldFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def world_factory(tmp_path_factory: pytest.TempPathFactory) -> WorldFactory:
    """Fresh copies of generated worlds, each (leads, seed) generated once per test process.

    The generator is deterministic, so a copy of a world made earlier in the session is the world
    the test would have generated itself; generating takes seconds, copying milliseconds. Every
    test gets its own copy, so one that advances or serves its world cannot disturb another.
    """
    from sandbox.generator import generate_world

    templates: dict[tuple[int, int], Path] = {}

    def make(dest: Path, *, leads: int, seed: int) -> Path:
        key = (leads, seed)
        if key not in templates:
            template = tmp_path_factory.mktemp(f"world-{leads}-{seed}") / "world"
            generate_world(template, leads=leads, seed=seed)
            templates[key] = template
        shutil.copytree(templates[key], dest)
        return dest

    return make


@pytest.fixture
def world_dir(tmp_path: Path, world_factory: WorldFactory) -> Path:
    """A small deterministic world: 200 leads."""
    return world_factory(tmp_path / "world", leads=200, seed=7)


@pytest.fixture
def salesforce_sandbox(world_dir: Path):
    """The Salesforce sandbox serving `world_dir` over HTTPS on a free loopback port."""
    from sandbox.salesforce.server import SalesforceSandbox

    with SalesforceSandbox(world_dir) as sandbox:
        yield sandbox


@pytest.fixture
def sf(salesforce_sandbox):
    """The real simple-salesforce client, talking to the sandbox."""
    from ingestion.crm_clients import salesforce_client

    return salesforce_client(salesforce_sandbox.instance_url, salesforce_sandbox.token, salesforce_sandbox.ca_path)


@pytest.fixture
def hubspot_sandbox(world_dir: Path):
    """The HubSpot sandbox serving `world_dir` over HTTP on a free loopback port."""
    from sandbox.hubspot.server import HubSpotSandbox

    with HubSpotSandbox(world_dir) as sandbox:
        yield sandbox


@pytest.fixture
def hubspot(hubspot_sandbox):
    """The real hubspot-api-client, talking to the sandbox."""
    from hubspot import HubSpot

    return HubSpot(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url)
