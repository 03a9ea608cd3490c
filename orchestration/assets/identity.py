"""Identity resolution as assets: `silver/identity_records` (each source record with its
`person_id` and match keys) and `silver/identity_links` (every link, with its rule or match
weight and the fields that agreed). Downstream dbt models read them as source `identity`."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from orchestration import change_gate
from orchestration.resources import LandingZoneResource, WarehouseResource
from silver.identity.records import staging_views
from silver.identity.run import LINKS_TABLE, RECORDS_TABLE, SCHEMA, SUPPRESSED_TABLE, run_identity


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
    # A full run (`leadloop demo --full`, tag leadloop/full_run) also trains the match model anew.
    run = run_identity(warehouse.get(), landing.events(), rebuild=change_gate.is_full_run(context.run.tags))
    change_gate.record_success(warehouse.get(), "identity", context.run.run_id)
    resolution = run.resolution
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
            "new_erasure_requests_from_files": run.new_requests_from_files,
            "bronze_rows_blanked": run.bronze_rows_blanked,
            "seconds": {step: round(s, 2) for step, s in resolution.seconds.items()},
            # Records whose fields changed since the last run (all of them on a full run); the
            # others' keys were carried over.
            "records_standardized": resolution.standardized,
            # The process's peak in each phase (`read`, `resolve/probabilistic/prediction`, ...):
            # where to look when the step's memory grows.
            "peak_rss_mb": run.peak_rss_mb,
            # Which Splink model scored the pairs (trained, partly trained, reused from an
            # earlier run's training, with its date, or the shipped default), why it was trained
            # rather than reused, its training pairs per session and every training step skipped.
            **resolution.model.as_metadata(),
        },
    )
    yield MaterializeResult(
        asset_key=AssetKey([SCHEMA, LINKS_TABLE]),
        metadata={"links": resolution.links.num_rows, "links_by_rule": resolution.links_by_rule()},
    )
    yield MaterializeResult(
        asset_key=AssetKey([SCHEMA, SUPPRESSED_TABLE]), metadata={"records": resolution.suppressed.num_rows}
    )
