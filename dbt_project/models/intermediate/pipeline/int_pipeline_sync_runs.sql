{#- Every sync run recorded by the reverse ETL (reverse_etl.sync_runs), or none before the first
    sync created the table: the sync runs after dbt, so on a first build it does not exist. -#}
{{ source_or_empty('reverse_etl', 'sync_runs', {
    'run_id': dbt.type_string(),
    'sync_name': dbt.type_string(),
    'started_at': dbt.type_timestamp(),
    'dry_run': 'boolean',
    'sent': dbt.type_int(),
    'succeeded': dbt.type_int(),
    'failed': dbt.type_int(),
    'api_calls': dbt.type_int(),
    'status': dbt.type_string(),
}) }}
