{#- One row per bronze table: rows loaded, rows quarantined beside it, and when its dataset
    last finished a load (dlt's `_dlt_loads`, status 0). A table with only a quarantine (a
    file source whose files were all rejected: `file_quarantine`) has no loaded rows. The list
    of tables is read from the warehouse when the model builds (see `bronze_tables`). -#}
-- Built after every source has loaded (the tables are found, not referenced):
-- depends_on: {{ source('salesforce', 'lead') }}
-- depends_on: {{ source('hubspot', 'contacts') }}
-- depends_on: {{ source('web_events', 'events') }}
-- depends_on: {{ source('partners', 'mailed_records') }}
-- depends_on: {{ source('product', 'users') }}
{%- set bronze = bronze_tables() %}
with tables as (

{%- for t in bronze.tables %}
    select
        '{{ t.dataset }}' as dataset,
        '{{ t.table }}' as table_name,
        {% if t.base %}(select count(*) from {{ t.schema }}.{{ adapter.quote(t.base) }}){% else %}cast(null as {{ dbt.type_bigint() }}){% endif %} as loaded_rows,
        {% if t.quarantine %}(select count(*) from {{ t.schema }}.{{ adapter.quote(t.quarantine) }}){% else %}0{% endif %} as quarantined_rows
    {{ 'union all' if not loop.last }}
{%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as dataset,
        cast(null as {{ dbt.type_string() }}) as table_name,
        cast(null as {{ dbt.type_bigint() }}) as loaded_rows,
        cast(null as {{ dbt.type_bigint() }}) as quarantined_rows
    where 1 = 0
{%- endfor %}

),

loads as (

{%- for load in bronze.loads %}
    select '{{ load.dataset }}' as dataset, max(cast(inserted_at as {{ dbt.type_timestamp() }})) as last_loaded_at
    from {{ load.schema }}._dlt_loads
    where status = 0
    {{ 'union all' if not loop.last }}
{%- else %}
    select cast(null as {{ dbt.type_string() }}) as dataset, cast(null as {{ dbt.type_timestamp() }}) as last_loaded_at
    where 1 = 0
{%- endfor %}

)

select
    tables.dataset,
    tables.table_name,
    cast(tables.loaded_rows as {{ dbt.type_bigint() }}) as loaded_rows,
    cast(tables.quarantined_rows as {{ dbt.type_bigint() }}) as quarantined_rows,
    loads.last_loaded_at
from tables
left join loads
    on loads.dataset = tables.dataset
