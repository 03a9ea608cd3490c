{#- Layers live in fixed schemas (silver, gold) on every warehouse, as the reverse-ETL specs and
    GX contracts address them by name; dbt's default would prefix the target schema. A tenant
    that shares its warehouse with others gets its own copy of each (`acme_silver`, `acme_gold`):
    the warehouse switch passes its schema prefix (with the `_`) as LEADLOOP_DBT_SCHEMA_PREFIX. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- else -%}{{ env_var('LEADLOOP_DBT_SCHEMA_PREFIX', '') }}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
