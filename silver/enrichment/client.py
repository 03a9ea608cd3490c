"""Calls a provider the way a pipeline must: every answer cached, every call bounded in time,
and no more calls once the provider is plainly down.

- Cache: answers (found or not) are kept with their time and reused for `max_age`; a failure is
  not cached, so the next run asks again.
- Timeout: a lookup that takes longer than `timeout_seconds` counts as a failure.
- Circuit breaker: after `failure_threshold` failures in a row the circuit opens and the rest of
  the run's domains are answered "provider error" without a call, instead of waiting out a
  timeout each.
"""

import concurrent.futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from silver.enrichment.providers import Firmographics, FirmographicsProvider, ProviderError

ENRICHED, NOT_FOUND, PROVIDER_ERROR = "enriched", "not_found", "provider_error"


@dataclass(frozen=True)
class Answer:
    status: str
    firmographics: Firmographics | None = None
    detail: str | None = None
    fetched_at: datetime | None = None


@dataclass
class EnrichmentClient:
    provider: FirmographicsProvider
    cache: dict[str, Answer] = field(default_factory=dict)
    timeout_seconds: float = 5.0
    failure_threshold: int = 5
    max_age: timedelta = timedelta(days=30)
    calls: int = 0
    cache_hits: int = 0
    circuit_open: bool = False

    def enrich(self, domains: list[str], now: datetime | None = None) -> dict[str, Answer]:
        now = now or datetime.now(UTC)
        answers: dict[str, Answer] = {}
        failures_in_a_row = 0
        # Not a `with` block: leaving one waits for a call that hung, which the timeout is
        # there to stop.
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            for domain in sorted(set(domains)):
                cached = self.cache.get(domain)
                if cached is not None and self._fresh(cached, now):
                    answers[domain] = cached
                    self.cache_hits += 1
                    continue
                if self.circuit_open:
                    answers[domain] = Answer(PROVIDER_ERROR, detail="circuit open: provider failing")
                    continue
                answer = self._call(pool, domain, now)
                answers[domain] = answer
                if answer.status == PROVIDER_ERROR:
                    failures_in_a_row += 1
                    self.circuit_open = failures_in_a_row >= self.failure_threshold
                else:
                    failures_in_a_row = 0
                    self.cache[domain] = answer
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return answers

    def _fresh(self, answer: Answer, now: datetime) -> bool:
        if answer.status == PROVIDER_ERROR or answer.fetched_at is None:
            return False
        return now - answer.fetched_at < self.max_age

    def _call(self, pool: concurrent.futures.ThreadPoolExecutor, domain: str, now: datetime) -> Answer:
        self.calls += 1
        future = pool.submit(self.provider.lookup, domain)
        try:
            found = future.result(timeout=self.timeout_seconds)
        except concurrent.futures.TimeoutError:
            return Answer(PROVIDER_ERROR, detail=f"timed out after {self.timeout_seconds:g} s")
        except ProviderError as exc:
            return Answer(PROVIDER_ERROR, detail=str(exc))
        if found is None:
            return Answer(NOT_FOUND, fetched_at=now)
        return Answer(ENRICHED, firmographics=found, fetched_at=now)
