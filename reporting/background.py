"""The app served from a background thread on a free loopback port: for tests and the demo,
which need it running while they do something else."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .app import create_app
from .readonly import ReadOnlyWarehouse


@contextmanager
def running_app(reader: ReadOnlyWarehouse, host: str = "127.0.0.1") -> Iterator[str]:
    """Yields the app's base URL; stops the server on exit."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(reader), host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the reporting app did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
