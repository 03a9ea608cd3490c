{#- Every bronze table dlt has created, found when the model is built (not parsed), since
    sources and their `<table>_quarantine` siblings appear with their first rows. Returns a
    list of {dataset, schema, table, quarantine} (dataset: the logical `bronze_<source>`;
    schema: where it lives, `<prefix>_bronze_<source>` for a tenant with a schema prefix;
    quarantine: the sibling's name or none) and the datasets ({dataset, schema}) that record
    their loads in `_dlt_loads`. Skips dlt's own tables, its staging datasets and every other
    tenant's schemas. -#}
{% macro bronze_tables() -%}
    {%- if not execute -%}{{ return({'tables': [], 'loads': []}) }}{%- endif -%}
    {%- set prefix = env_var('LEADLOOP_DBT_SCHEMA_PREFIX', '') -%}
    {%- set found = run_query(
        "select table_schema, table_name from information_schema.tables"
        ~ " where table_catalog = current_database() and table_schema like '"
        ~ prefix | replace('_', '\\_') ~ "bronze\\_%' escape '\\'"
        ~ " and table_schema not like '%\\_staging' escape '\\'"
        ~ " order by table_schema, table_name"
    ) -%}
    {%- set names = {} -%}
    {%- for row in found.rows -%}
        {%- do names.setdefault(row[0], []).append(row[1]) -%}
    {%- endfor -%}
    {%- set tables = [] -%}
    {%- set loads = [] -%}
    {%- for schema, dataset_tables in names.items() -%}
        {%- set dataset = schema[prefix | length:] -%}
        {%- if '_dlt_loads' in dataset_tables -%}{%- do loads.append({'dataset': dataset, 'schema': schema}) -%}{%- endif -%}
        {%- for name in dataset_tables if not name.startswith('_dlt') -%}
            {%- if name.endswith('_quarantine') -%}
                {%- if name[:-11] not in dataset_tables -%}
                    {%- do tables.append({'dataset': dataset, 'schema': schema, 'table': name[:-11], 'base': none, 'quarantine': name}) -%}
                {%- endif -%}
            {%- else -%}
                {%- set sibling = name ~ '_quarantine' -%}
                {%- do tables.append({'dataset': dataset, 'schema': schema, 'table': name, 'base': name,
                    'quarantine': sibling if sibling in dataset_tables else none}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return({'tables': tables, 'loads': loads}) }}
{%- endmacro %}
