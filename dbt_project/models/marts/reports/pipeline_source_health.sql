{#- Is each source arriving, and how much of it is rejected? Per bronze dataset: its tables,
    loaded and quarantined rows, the quarantine rate, and how long ago its last load completed
    (as of the build). -#}
select
    replace(dataset, 'bronze_', '') as source,
    count(*) as tables,
    sum(coalesce(loaded_rows, 0)) as loaded_rows,
    sum(quarantined_rows) as quarantined_rows,
    {{ rounded(share('sum(quarantined_rows)', 'sum(coalesce(loaded_rows, 0)) + sum(quarantined_rows)')) }}
        as quarantine_rate,
    max(last_loaded_at) as last_loaded_at,
    {{ rounded(
        dbt.datediff('max(last_loaded_at)', 'cast(' ~ dbt.current_timestamp() ~ ' as ' ~ dbt.type_timestamp() ~ ')', 'minute')
        ~ ' / 60.0', 1) }} as hours_since_last_load
from {{ ref('int_pipeline_bronze_tables') }}
group by dataset
