"""Fixtures of the reliability suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.crash_harness import FreshTarget
from warehouse import Warehouse


@pytest.fixture
def drops(world_dir: Path) -> Path:
    """The 200-lead world a week on, so every partner file kind holds rows."""
    from sandbox.advance import advance_world

    advance_world(world_dir, days=7)
    return world_dir


@pytest.fixture
def fresh_target(warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FreshTarget:
    """`fresh_target(dataset, run)`: a warehouse of the test's kind where `dataset` is empty and
    no local dlt state exists, for one of several loads a test compares: a new DuckDB file, or
    (one Postgres database per test) the dataset and its staging copy dropped; with a new local
    folder either way."""

    def fresh(dataset: str, run: str) -> Warehouse:
        monkeypatch.setenv("LEADLOOP_DATA_DIR", str(tmp_path / f"data-{run}"))
        if warehouse.is_duckdb:
            return Warehouse.from_url(f"duckdb:///{tmp_path / f'{run}.duckdb'}")
        warehouse.query(f'drop schema if exists "{dataset}" cascade')
        warehouse.query(f'drop schema if exists "{dataset}_staging" cascade')
        return warehouse

    return fresh
