"""`leadloop report`: the reporting app on the configured warehouse, served by uvicorn."""

from __future__ import annotations

from warehouse import Warehouse

from .app import create_app
from .readonly import for_reading


def serve(warehouse: Warehouse, *, host: str, port: int, max_rows: int, timeout_seconds: float) -> None:
    """Blocks until interrupted. On Postgres, sets up the reader role first and serves as it."""
    import uvicorn

    reader = for_reading(warehouse, max_rows=max_rows, timeout_seconds=timeout_seconds)
    uvicorn.run(create_app(reader), host=host, port=port, log_level="warning")
