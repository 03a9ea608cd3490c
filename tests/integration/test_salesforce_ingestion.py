"""The Salesforce dlt source on each warehouse: Bulk 2.0 and REST agree, incremental reads only
what changed, deletions arrive as a soft-delete flag, a re-run is a no-op."""

from __future__ import annotations

import pytest

from ingestion.pipelines import make_pipeline
from ingestion.salesforce import salesforce_source

COLUMNS = "id, email, annual_revenue, number_of_employees, is_deleted, system_modstamp"


def _load(warehouse, sf, bulk_threshold):
    pipeline = make_pipeline("salesforce", warehouse)
    info = pipeline.run(
        salesforce_source(client_factory=lambda: sf, bulk_threshold=bulk_threshold, bulk_poll_seconds=0)
    )
    info.raise_on_failed_jobs()
    return pipeline.last_trace.last_normalize_info.row_counts.get("lead", 0)


def _bronze(warehouse):
    return warehouse.query(f"select {COLUMNS} from bronze_salesforce.lead order by id")


@pytest.mark.parametrize("path", ["bulk", "rest"])
def test_full_then_incremental_then_noop(warehouse, sf, salesforce_sandbox, path):
    threshold = 0 if path == "bulk" else 10**9
    assert _load(warehouse, sf, threshold) == 200
    bulk_jobs = [r for r in salesforce_sandbox.request_log() if "/jobs/query" in r["path"] and r["method"] == "POST"]
    assert len(bulk_jobs) == (1 if path == "bulk" else 0)

    # Nothing changed: the boundary second is re-read, dlt's key dedup drops it.
    assert _load(warehouse, sf, threshold) == 0

    lead_id, deleted_id = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 2")["records"]]
    sf.Lead.update(lead_id, {"AnnualRevenue": 123456.0})
    sf.Lead.delete(deleted_id)
    assert _load(warehouse, sf, threshold) == 2
    rows = {r[0]: r for r in _bronze(warehouse)}
    assert len(rows) == 200
    assert rows[lead_id][2] == 123456.0
    assert rows[deleted_id][4] is True


def test_bulk_and_rest_load_identical_bronze(duckdb_warehouse, postgres_warehouse, sf):
    _load(duckdb_warehouse, sf, bulk_threshold=0)
    _load(postgres_warehouse, sf, bulk_threshold=10**9)
    bulk, rest = _bronze(duckdb_warehouse), _bronze(postgres_warehouse)
    assert len(bulk) == 200
    normalize = lambda rows: [(*r[:5], r[5].isoformat()) for r in rows]  # noqa: E731
    assert normalize(bulk) == normalize(rest)
