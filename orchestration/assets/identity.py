"""Identity resolution as assets: `silver/identity_records` (each source record with its
`person_id` and match keys) and `silver/identity_links` (every link, with its rule or match
weight and the fields that agreed). Downstream dbt models read them as source `identity`."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from orchestration.identity.records import records_sql, staging_views
from orchestration.identity.resolve import resolve
from orchestration.resources import WarehouseResource

SCHEMA = "silver"
RECORDS_TABLE = "identity_records"
LINKS_TABLE = "identity_links"


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
    ],
    group_name=SCHEMA,
    pool="warehouse",
)
def identity_resolution(context: AssetExecutionContext, warehouse: WarehouseResource):  # type: ignore[no-untyped-def]
    store = warehouse.get()
    resolution = resolve(store.read_arrow(records_sql(SCHEMA)))
    store.replace_table(SCHEMA, RECORDS_TABLE, resolution.person_records())
    store.replace_table(SCHEMA, LINKS_TABLE, resolution.links)
    context.log.info("identity: %d records resolved into %d people", resolution.records.num_rows, resolution.people)
    yield MaterializeResult(
        asset_key=AssetKey([SCHEMA, RECORDS_TABLE]),
        metadata={
            "records": resolution.records.num_rows,
            "people": resolution.people,
            "seconds": {step: round(s, 2) for step, s in resolution.seconds.items()},
        },
    )
    yield MaterializeResult(
        asset_key=AssetKey([SCHEMA, LINKS_TABLE]),
        metadata={"links": resolution.links.num_rows, "links_by_rule": resolution.links_by_rule()},
    )
