"""Firmographic enrichment of every person: each person's company domain, what the provider
knows of it, and the enrichment status (enriched, not_found, provider_error), written to
`silver.person_enrichment`. Answers are cached in `silver.enrichment_cache`, so a rerun asks the
provider only about new domains and failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

import pyarrow as pa

from silver.enrichment.client import NOT_FOUND, Answer, EnrichmentClient
from silver.enrichment.providers import Firmographics, FirmographicsProvider
from warehouse import Warehouse

SCHEMA = "silver"
TABLE = "person_enrichment"
CACHE_TABLE = "enrichment_cache"
FIELDS = ("company_name", "industry", "employees", "annual_revenue", "country")
_TYPES = {"employees": pa.int64(), "annual_revenue": pa.float64()}


@dataclass(frozen=True)
class EnrichmentRun:
    people: int
    by_status: dict[str, int]
    provider_calls: int
    cache_hits: int
    circuit_opened: bool


def enrich_people(
    store: Warehouse, provider: FirmographicsProvider, *, timeout_seconds: float, failure_threshold: int
) -> EnrichmentRun:
    """Enriches every person of `silver.int_people` and rewrites the enrichment and cache tables."""
    schema = store.schema(SCHEMA)
    client = EnrichmentClient(
        provider,
        cache=_read_cache(store, provider.name),
        timeout_seconds=timeout_seconds,
        failure_threshold=failure_threshold,
    )
    people = store.read_arrow(f"select person_id, company_domain from {schema}.int_people order by person_id")
    domains = [d for d in people["company_domain"].to_pylist() if d]
    answers = client.enrich(domains)
    no_domain = Answer(NOT_FOUND, detail="no company domain")
    rows = [
        _row(person, domain, answers[domain] if domain else no_domain, provider.name)
        for person, domain in zip(people["person_id"].to_pylist(), people["company_domain"].to_pylist(), strict=True)
    ]
    store.replace_table(schema, TABLE, _table(rows, ("person_id", "company_domain")))
    store.replace_table(
        store.schema(SCHEMA),
        CACHE_TABLE,
        _table([_row(None, d, a, provider.name) for d, a in sorted(client.cache.items())], ("company_domain",)),
    )
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["enrichment_status"]] = statuses.get(row["enrichment_status"], 0) + 1
    return EnrichmentRun(len(rows), statuses, client.calls, client.cache_hits, client.circuit_open)


def _row(person: str | None, domain: str | None, answer: Answer, provider: str) -> dict:
    found = answer.firmographics
    return {
        **({"person_id": person} if person is not None else {}),
        "company_domain": domain,
        "enrichment_status": answer.status,
        "detail": answer.detail,
        "provider": provider,
        **{f: getattr(found, f) if found else None for f in FIELDS},
        "fetched_at": answer.fetched_at.astimezone(UTC).replace(tzinfo=None) if answer.fetched_at else None,
    }


def _table(rows: list[dict], keys: tuple[str, ...]) -> pa.Table:
    columns = [*keys, "enrichment_status", "detail", "provider", *FIELDS, "fetched_at"]
    schema = pa.schema(
        [pa.field(c, pa.timestamp("us") if c == "fetched_at" else _TYPES.get(c, pa.string())) for c in columns]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _read_cache(store: Warehouse, provider: str) -> dict[str, Answer]:
    schema = store.schema(SCHEMA)
    if not store.table_exists(schema, CACHE_TABLE):
        return {}
    cached = store.read_arrow(
        f"select company_domain, enrichment_status, {', '.join(FIELDS)}, fetched_at from {schema}.{CACHE_TABLE} "
        f"where provider = '{provider}'"
    )
    answers = {}
    for row in cached.to_pylist():
        found = Firmographics(**{f: row[f] for f in FIELDS}) if row["enrichment_status"] == "enriched" else None
        fetched = row["fetched_at"].replace(tzinfo=UTC) if row["fetched_at"] else None
        answers[row["company_domain"]] = Answer(row["enrichment_status"], found, fetched_at=fetched)
    return answers
