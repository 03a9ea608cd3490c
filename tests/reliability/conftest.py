"""Fixtures of the reliability suite."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def drops(world_dir: Path) -> Path:
    """The 200-lead world a week on, so every partner file kind holds rows."""
    from sandbox.advance import advance_world

    advance_world(world_dir, days=7)
    return world_dir
