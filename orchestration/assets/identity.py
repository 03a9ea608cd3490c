"""Identity resolution as assets: `silver/identity_records` (each source record with its
`person_id` and match keys) and `silver/identity_links` (every link, with its rule or match
weight and the fields that agreed). Downstream dbt models read them as source `identity`."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from orchestration.identity.erasure import anonymize_bronze, register_file_drops, registered_hashes
from orchestration.identity.records import records_sql, staging_views
from orchestration.identity.resolve import resolve
from orchestration.resources import LandingZoneResource, WarehouseResource

SCHEMA = "silver"
RECORDS_TABLE = "identity_records"
LINKS_TABLE = "identity_links"
SUPPRESSED_TABLE = "identity_suppressed_records"


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey([SCHEMA, RECORDS_TABLE]),
            deps=[AssetKey([SCHEMA, view]) for view in staging_views()],
            description="Every source record that describes a person, with its person_id and match keys.",
            kinds={"python", "splink"},
        ),
        AssetSpec(
            AssetKey([SCHEMA, LINKS_TABLE]),
            deps=[AssetKey([SCHEMA, view]) for view in staging_views()],
            description="The links between records: the rule or match weight, and which fields agreed.",
            kinds={"python", "splink"},
        ),
        AssetSpec(
            AssetKey([SCHEMA, SUPPRESSED_TABLE]),
            deps=[AssetKey([SCHEMA, view]) for view in staging_views()],
            description="Source ids of every record of an erased person: what silver and gold leave out.",
            kinds={"python"},
        ),
    ],
    group_name=SCHEMA,
    pool="warehouse",
)
def identity_resolution(  # type: ignore[no-untyped-def]
    context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingZoneResource
):
    store = warehouse.get()
    new_requests = register_file_drops(store, landing.events())
    erased = registered_hashes(store)
    earlier = (
        store.read_arrow(f"select record_key, source, source_id from {SCHEMA}.{SUPPRESSED_TABLE}")
        if store.table_exists(SCHEMA, SUPPRESSED_TABLE)
        else None
    )
    resolution = resolve(store.read_arrow(records_sql(SCHEMA)), erased=erased, suppressed=earlier)
    store.replace_table(SCHEMA, RECORDS_TABLE, resolution.person_records())
    store.replace_table(SCHEMA, LINKS_TABLE, resolution.links)
    store.replace_table(SCHEMA, SUPPRESSED_TABLE, resolution.suppressed)
    blanked = anonymize_bronze(store, resolution.suppressed, erased)
    context.log.info(
        "identity: %d records resolved into %d people; %d records of erased people left out",
        resolution.records.num_rows,
        resolution.people,
        resolution.suppressed.num_rows,
    )
    yield MaterializeResult(
        asset_key=AssetKey([SCHEMA, RECORDS_TABLE]),
        metadata={
            "records": resolution.records.num_rows,
            "people": resolution.people,
            "erased_records_left_out": resolution.suppressed.num_rows,
            "new_erasure_requests_from_files": new_requests,
            "bronze_rows_blanked": blanked,
            "seconds": {step: round(s, 2) for step, s in resolution.seconds.items()},
        },
    )
    yield MaterializeResult(
        asset_key=AssetKey([SCHEMA, LINKS_TABLE]),
        metadata={"links": resolution.links.num_rows, "links_by_rule": resolution.links_by_rule()},
    )
    yield MaterializeResult(
        asset_key=AssetKey([SCHEMA, SUPPRESSED_TABLE]), metadata={"records": resolution.suppressed.num_rows}
    )
