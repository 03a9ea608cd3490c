{#- A source table that may not exist yet (dlt creates a table with its first row: no partner
    has sent a delivery confirmation on day one). Selects from it when it exists, otherwise
    returns no rows with the same columns and types, so the models above it always build.
    `columns` maps each column to its type. A column the existing table does not have yet (a
    table created before the column was added, e.g. reverse_etl.sync_runs before `api_calls`,
    which the next sync adds in place) is selected as a typed null. -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set exists = execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is not none -%}
    {%- if exists -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        select
        {%- for column, type in columns.items() %}
            {{ column if column | lower in present else 'cast(null as ' ~ type ~ ') as ' ~ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        from {{ relation }}
    {%- elif not execute -%}
        select {{ columns.keys() | join(', ') }} from {{ relation }}
    {%- else -%}
        select
        {%- for column, type in columns.items() %}
            cast(null as {{ type }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
