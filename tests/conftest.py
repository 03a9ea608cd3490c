"""Shared fixtures: a throwaway warehouse of each kind and a running Salesforce sandbox.

Every warehouse-touching test runs on DuckDB and on Postgres. Postgres tests create and drop
their own database; without a server they skip, unless LEADLOOP_REQUIRE_POSTGRES=1 (CI), where
a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from warehouse import Warehouse

PG_ADMIN_URL = os.environ.get("LEADLOOP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin():
    import psycopg2

    admin = Warehouse.from_url(PG_ADMIN_URL)
    conn = psycopg2.connect(**admin.psycopg2_kwargs(connect_timeout=3))
    conn.autocommit = True
    return admin, conn


@pytest.fixture
def duckdb_warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse.from_url(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")


@pytest.fixture
def postgres_warehouse() -> Iterator[Warehouse]:
    import psycopg2

    try:
        admin, conn = _pg_admin()
    except psycopg2.OperationalError as exc:
        if os.environ.get("LEADLOOP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Postgres required (LEADLOOP_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"no Postgres server at {PG_ADMIN_URL}")
    name = f"leadloop_test_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f'create database "{name}"')
    auth = admin.user + (f":{admin.password}" if admin.password else "")
    try:
        yield Warehouse.from_url(f"postgresql://{auth}@{admin.host}:{admin.port}/{name}")
    finally:
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        conn.close()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> Warehouse:
    """Parametrized over both supported warehouses."""
    return request.getfixturevalue(f"{request.param}_warehouse")


@pytest.fixture
def world_dir(tmp_path: Path) -> Path:
    """A small deterministic world: 200 leads."""
    from sandbox.generator import generate_world

    out = tmp_path / "world"
    generate_world(out, leads=200, seed=7)
    return out


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
