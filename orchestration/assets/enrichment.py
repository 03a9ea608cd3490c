"""Firmographic enrichment per person, as an asset: `silver/person_enrichment` holds each
person's company domain, what the provider knows of it, and the enrichment status (enriched,
not_found, provider_error). Answers are cached in `silver.enrichment_cache`, so a rerun asks
the provider only about new domains and failures."""

from datetime import UTC

import pyarrow as pa
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration.enrichment.client import NOT_FOUND, Answer, EnrichmentClient
from orchestration.enrichment.providers import Firmographics
from orchestration.resources import EnrichmentResource, WarehouseResource

SCHEMA = "silver"
CACHE_TABLE = "enrichment_cache"
FIELDS = ("company_name", "industry", "employees", "annual_revenue", "country")
_TYPES = {"employees": pa.int64(), "annual_revenue": pa.float64()}


@asset(
    key=AssetKey([SCHEMA, "person_enrichment"]),
    deps=[AssetKey([SCHEMA, "int_people"])],
    group_name=SCHEMA,
    kinds={"python"},
    pool="warehouse",
    description="Each person's firmographics by company domain, with an enrichment status.",
)
def person_enrichment(
    context: AssetExecutionContext, warehouse: WarehouseResource, enrichment: EnrichmentResource
) -> MaterializeResult:
    store = warehouse.get()
    provider = enrichment.provider()
    client = EnrichmentClient(
        provider,
        cache=_read_cache(store, provider.name),
        timeout_seconds=enrichment.timeout_seconds,
        failure_threshold=enrichment.failure_threshold,
    )
    people = store.read_arrow(f"select person_id, company_domain from {SCHEMA}.int_people order by person_id")
    domains = [d for d in people["company_domain"].to_pylist() if d]
    answers = client.enrich(domains)
    no_domain = Answer(NOT_FOUND, detail="no company domain")
    rows = [
        _row(person, domain, answers[domain] if domain else no_domain, provider.name)
        for person, domain in zip(people["person_id"].to_pylist(), people["company_domain"].to_pylist(), strict=True)
    ]
    store.replace_table(SCHEMA, "person_enrichment", _table(rows, ("person_id", "company_domain")))
    store.replace_table(
        SCHEMA,
        CACHE_TABLE,
        _table([_row(None, d, a, provider.name) for d, a in sorted(client.cache.items())], ("company_domain",)),
    )
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["enrichment_status"]] = statuses.get(row["enrichment_status"], 0) + 1
    if client.circuit_open:
        context.log.warning("enrichment: provider %s kept failing; circuit opened, retried next run", provider.name)
    return MaterializeResult(
        metadata={
            "people": len(rows),
            "by_status": statuses,
            "provider_calls": client.calls,
            "cache_hits": client.cache_hits,
            "circuit_opened": client.circuit_open,
        }
    )


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


def _read_cache(store, provider: str) -> dict[str, Answer]:  # type: ignore[no-untyped-def]
    if not store.table_exists(SCHEMA, CACHE_TABLE):
        return {}
    cached = store.read_arrow(
        f"select company_domain, enrichment_status, {', '.join(FIELDS)}, fetched_at from {SCHEMA}.{CACHE_TABLE} "
        f"where provider = '{provider}'"
    )
    answers = {}
    for row in cached.to_pylist():
        found = Firmographics(**{f: row[f] for f in FIELDS}) if row["enrichment_status"] == "enriched" else None
        fetched = row["fetched_at"].replace(tzinfo=UTC) if row["fetched_at"] else None
        answers[row["company_domain"]] = Answer(row["enrichment_status"], found, fetched_at=fetched)
    return answers
