{#- Layers live in fixed schemas (silver, gold) on every warehouse, as the reverse-ETL specs and
    GX contracts address them by name; dbt's default would prefix the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
