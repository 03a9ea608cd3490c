"""Identity runs against a warehouse keep the trained match model in silver and use it again the
next run, on DuckDB and on Postgres; a full run trains it anew."""

import json
from datetime import datetime

import pyarrow as pa
import pytest

from silver.identity.probabilistic import model_parameters
from silver.identity.resolve import OUTPUT_COLUMNS
from silver.identity.run import LINKS_TABLE, RECORDS_TABLE, run_identity, saved_model
from silver.identity.saved_model import TABLE as MODEL_TABLE
from tests.unit.test_identity_matching import name_and_address_world
from warehouse import Warehouse

TEXT = pa.string()
# The staging views identity reads (`silver.identity.records`), as tables with their columns:
# here, the Salesforce leads carry the world and the other sources are empty.
STAGING = {
    "stg_salesforce__contacts": {
        "contact_id": TEXT, "first_name": TEXT, "last_name": TEXT, "email": TEXT, "phone": TEXT,
        "mobile_phone": TEXT, "country": TEXT, "street_normalized": TEXT, "city": TEXT, "state": TEXT,
        "postal_code": TEXT, "created_at": pa.timestamp("us"), "is_deleted": pa.bool_(),
    },
    "stg_hubspot__contacts": {
        "contact_id": TEXT, "first_name": TEXT, "last_name": TEXT, "email": TEXT, "phone": TEXT,
        "country": TEXT, "company": TEXT, "street_normalized": TEXT, "city": TEXT, "state": TEXT,
        "postal_code": TEXT, "created_at": pa.timestamp("us"), "salesforce_lead_id": TEXT, "is_deleted": pa.bool_(),
    },
    "stg_partners__mailed_records": {
        "imb_tracking": TEXT, "first_name": TEXT, "last_name": TEXT, "street_normalized": TEXT, "city": TEXT,
        "state": TEXT, "postal_code": TEXT, "mailed_on": pa.date32(),
    },
    "stg_product__users": {"user_id": TEXT, "full_name": TEXT, "email": TEXT, "created_at": pa.timestamp("us")},
}  # fmt: skip


def _staging(warehouse: Warehouse, people: int) -> None:
    stage_leads(warehouse, name_and_address_world(people))


def stage_leads(warehouse: Warehouse, world: pa.Table) -> None:
    """`world` (records as `name_and_address_world` makes them) as Salesforce leads, the other
    sources empty."""
    leads = pa.table(
        {
            "lead_id": world["record_key"],
            "first_name": world["first_name"],
            "last_name": world["last_name"],
            "email": world["email"],
            "phone": world["phone"],
            "country": world["country"],
            "company": world["company"],
            "street_normalized": world["street"],
            "city": world["city"],
            "state": world["state"],
            "postal_code": world["postal_code"],
            "created_at": world["created_at"],
            "converted_contact_id": pa.nulls(world.num_rows, TEXT),
            "is_deleted": pa.array([False] * world.num_rows),
        }
    )
    empty = {name: pa.schema(columns).empty_table() for name, columns in STAGING.items()}
    warehouse.replace_tables(warehouse.schema("silver"), {"stg_salesforce__leads": leads, **empty})


def _identity(warehouse: Warehouse) -> tuple[pa.Table, pa.Table]:
    silver = warehouse.schema("silver")
    records = warehouse.read_arrow(f"select record_key, person_id from {silver}.{RECORDS_TABLE} order by record_key")
    links = warehouse.read_arrow(
        f"select record_key_l, record_key_r, rule from {silver}.{LINKS_TABLE} order by record_key_l, record_key_r, rule"
    )
    return records, links


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"], indirect=True)
def test_the_next_run_reuses_the_kept_model_and_a_full_run_trains_it_anew(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("LEADLOOP_IDENTITY_MIN_TRAINING_PROFILES", "100")
    _staging(warehouse, 300)
    landing = str(tmp_path / "landing")
    assert saved_model(warehouse) is None

    run = run_identity(warehouse, landing)
    first = run.resolution.model
    # Where the step's memory went, phase by phase, for its metadata.
    assert {"read", "resolve/standardize", "resolve/probabilistic/training", "write"} <= set(run.peak_rss_mb)
    assert all(mb > 0 for mb in run.peak_rss_mb.values())
    # Through the write the run held only what silver keeps, not the raw and standardizing columns.
    assert run.resolution.records.column_names == list(OUTPUT_COLUMNS)
    assert run.resolution.standardized == 600  # nothing to carry over yet
    assert first.source == "partly trained" and first.retrained_because == "no saved model"
    kept = saved_model(warehouse)
    assert kept == first.to_keep  # the model JSON, its date and counts survive the warehouse
    assert kept is not None and kept.profiles == 600 and isinstance(kept.trained_at, datetime)
    after_training = _identity(warehouse)

    second_run = run_identity(warehouse, landing)
    # Nothing changed: every record's keys came back from the warehouse (its hash survives it).
    assert second_run.resolution.standardized == 0
    second = second_run.resolution.model
    assert second.source == "reused" and second.saved == kept
    assert second.as_metadata()["model_trained_at"] == kept.trained_at.isoformat(timespec="seconds")
    assert _identity(warehouse) == after_training
    assert saved_model(warehouse) == kept

    rebuilt_run = run_identity(warehouse, landing, rebuild=True)
    assert rebuilt_run.resolution.standardized == 600  # a full run standardizes everyone anew
    rebuilt = rebuilt_run.resolution.model
    assert rebuilt.source == "partly trained" and rebuilt.retrained_because == "a full run trains the model anew"
    again = saved_model(warehouse)
    assert again is not None and again.trained_at >= kept.trained_at
    # Seeded training on the same records: the same parameters (the JSON's linker id is Splink's own).
    assert model_parameters(json.loads(again.model_json)) == model_parameters(json.loads(kept.model_json))
    assert _identity(warehouse) == after_training
    assert warehouse.query(f"select count(*) from {warehouse.schema('silver')}.{MODEL_TABLE}") == [(1,)]
