"""The guards around an enrichment provider: cache, timeout, circuit breaker. The providers
here stand in for a vendor's API (outside our code), each failing one way."""

import threading
import time
from datetime import UTC, datetime, timedelta

from silver.enrichment.client import ENRICHED, NOT_FOUND, PROVIDER_ERROR, EnrichmentClient
from silver.enrichment.providers import Firmographics, ProviderError, ReferenceFileProvider

ACME = Firmographics("Acme", "Technology", 120, 9_000_000.0, "US")


class Vendor:
    name = "vendor"

    def __init__(self, known: dict[str, Firmographics], failing: set[str] = frozenset(), hang: float = 0.0):
        self.known, self.failing, self.hang, self.asked = known, failing, hang, []

    def lookup(self, domain: str) -> Firmographics | None:
        self.asked.append(domain)
        if self.hang:
            time.sleep(self.hang)
        if domain in self.failing:
            raise ProviderError("503 from vendor")
        return self.known.get(domain)


def test_answers_are_cached_and_failures_asked_again():
    vendor = Vendor({"acme.com": ACME}, failing={"flaky.com"})
    client = EnrichmentClient(vendor)
    first = client.enrich(["acme.com", "unknown.com", "flaky.com", "acme.com"])
    assert {d: a.status for d, a in first.items()} == {
        "acme.com": ENRICHED,
        "unknown.com": NOT_FOUND,
        "flaky.com": PROVIDER_ERROR,
    }
    assert first["acme.com"].firmographics == ACME and first["flaky.com"].detail == "503 from vendor"
    vendor.asked.clear()
    client.enrich(["acme.com", "unknown.com", "flaky.com"])
    assert vendor.asked == ["flaky.com"]  # found and not-found are cached; the failure is retried
    # A cached answer ages out.
    vendor.asked.clear()
    client.enrich(["acme.com"], now=datetime.now(UTC) + timedelta(days=31))
    assert vendor.asked == ["acme.com"]


def test_a_slow_provider_times_out_and_the_circuit_opens():
    vendor = Vendor({}, hang=0.5)
    client = EnrichmentClient(vendor, timeout_seconds=0.05, failure_threshold=2)
    started = time.perf_counter()
    answers = client.enrich([f"d{i}.com" for i in range(20)])
    # Two timeouts open the circuit; the other 18 domains are not waited on.
    assert time.perf_counter() - started < 2
    assert client.circuit_open and client.calls == 2
    assert all(a.status == PROVIDER_ERROR for a in answers.values())
    assert answers["d0.com"].detail.startswith("timed out") and answers["d9.com"].detail.startswith("circuit open")
    assert threading.active_count() < 10


def test_the_reference_file_provider_reads_the_vendor_file(tmp_path):
    path = tmp_path / "firmographics.csv"
    path.write_text(
        "domain,company_name,industry,employees,annual_revenue,country\nAcme.com,Acme,Technology,120,9000000,US\n"
    )
    provider = ReferenceFileProvider(str(path))
    assert provider.lookup("acme.com") == ACME and provider.lookup("other.com") is None
    missing = EnrichmentClient(ReferenceFileProvider(str(tmp_path / "absent.csv")))
    assert missing.enrich(["acme.com"])["acme.com"].status == PROVIDER_ERROR
