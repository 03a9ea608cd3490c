"""Deterministic fault injection for the sandboxes: the failures a real CRM produces on a bad
day, reproducible from a seed so a test that exercises them is not flaky.

Every decision draws from one seeded stream in request order, so the same run against the same
sandbox meets the same faults.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.responses import Response, StreamingResponse


@dataclass
class Faults:
    seed: int = 0
    latency_ms: float = 0.0
    """Added to every response."""
    server_error_rate: float = 0.0
    """Share of requests answered 503 before anything is done."""
    drop_connection_rate: float = 0.0
    """Share of requests whose response is cut off mid-body (the request *was* processed)."""
    record_rejection_rate: float = 0.0
    """Share of records in collections/batch writes rejected with a transient per-record error."""
    failed_job_rate: float = 0.0
    """Share of Bulk API 2.0 jobs that end `Failed`."""
    throttle_every: int = 0
    """Every Nth request starts a burst of 429s …"""
    throttle_burst: int = 0
    """… this many requests long."""
    retry_after: int = 1
    """Salesforce: the `Retry-After` (whole seconds, as HTTP has it) sent with an injected 429."""
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    _requests: int = field(init=False, default=0)
    _burst_left: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """`"server_error_rate=0.05,latency_ms=20,seed=3"` → Faults; the CLI's `--faults` format."""
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, raw = item.partition("=")
            if name not in cls.__dataclass_fields__ or name.startswith("_"):
                raise ValueError(f"unknown fault {name!r}")
            whole = {"seed", "throttle_every", "throttle_burst", "retry_after"}
            values[name] = int(raw) if name in whole else float(raw)
        return cls(**values)  # type: ignore[arg-type]

    def _draw(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    async def delay(self) -> None:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000)

    def server_error(self) -> bool:
        return self._draw(self.server_error_rate)

    def throttled(self) -> bool:
        if self.throttle_every <= 0:
            return False
        with self._lock:
            self._requests += 1
            if self._burst_left > 0:
                self._burst_left -= 1
                return True
            if self._requests % self.throttle_every == 0 and self.throttle_burst > 0:
                self._burst_left = self.throttle_burst - 1
                return True
        return False

    def reject_record(self) -> bool:
        return self._draw(self.record_rejection_rate)

    def fail_job(self) -> bool:
        return self._draw(self.failed_job_rate)

    def maybe_drop(self, response: Response) -> Response:
        """Cuts the body off halfway and closes the connection, after the work was done."""
        if not self._draw(self.drop_connection_rate):
            return response
        body = bytes(response.body)

        async def half_then_break() -> AsyncIterator[bytes]:
            yield body[: max(1, len(body) // 2)]
            raise ConnectionResetError("sandbox fault: connection dropped mid-response")

        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers["content-length"] = str(max(len(body), 2))
        return StreamingResponse(half_then_break(), status_code=response.status_code, headers=headers)


NO_FAULTS = Faults()
