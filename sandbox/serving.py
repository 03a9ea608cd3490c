"""Runs a sandbox's ASGI app on loopback in a background thread, so tests, the demo and
`leadloop sandbox` host the fake CRMs in-process over real sockets."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any, Protocol, Self

import orjson
import uvicorn
from starlette.responses import JSONResponse as _StarletteJSONResponse


class _QuietShutdown(logging.Filter):
    """Stopping a test sandbox with idle keep-alive clients is normal, not an error worth a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "timeout graceful shutdown exceeded" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietShutdown())


class JSONResponse(_StarletteJSONResponse):
    """Starlette's JSON response rendered by orjson (same compact UTF-8 text): a page of 100
    records encodes some 15x faster, so a benchmark against a sandbox measures the client, not
    the sandbox's encoder."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class BackgroundServer:
    def __init__(self, app: Any, host: str, port: int, certfile: Path | None = None) -> None:
        self.host = host
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            ssl_certfile=str(certfile) if certfile else None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=0.1,  # idle keep-alive clients must not hold up a stop
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)

    def start(self, name: str) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} failed to start on {self.host}:{self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class _LoggingStore(Protocol):
    def close(self) -> None: ...
    def request_log(self, since_id: int = 0) -> list[dict[str, Any]]: ...
    def last_request_id(self) -> int: ...


class SandboxLifecycle:
    """Stop, context management and the request log, shared by every fake CRM; subclasses
    define `start()`, which sets `store` and `_server`."""

    store: Any = None
    _server: BackgroundServer | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self.store is not None:
            self.store.close()
        self._server = self.store = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _started_store(self) -> _LoggingStore:
        assert self.store is not None, "sandbox not started"
        return self.store

    def request_log(self, since_id: int = 0) -> list[dict[str, Any]]:
        """Every request so far (id, method, path, object, records, status), oldest first."""
        return self._started_store().request_log(since_id)

    def last_request_id(self) -> int:
        return self._started_store().last_request_id()
