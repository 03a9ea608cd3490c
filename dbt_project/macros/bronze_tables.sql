{#- Every bronze table dlt has created, found when the model is built (not parsed), since
    sources and their `<table>_quarantine` siblings appear with their first rows. Returns a
    list of {dataset, table, quarantine} (quarantine: the sibling's name or none) and the
    datasets that record their loads in `_dlt_loads`. Skips dlt's own tables and its staging
    datasets. -#}
{% macro bronze_tables() -%}
    {%- if not execute -%}{{ return({'tables': [], 'loads': []}) }}{%- endif -%}
    {%- set found = run_query(
        "select table_schema, table_name from information_schema.tables"
        ~ " where table_catalog = current_database() and table_schema like 'bronze\\_%' escape '\\'"
        ~ " and table_schema not like '%\\_staging' escape '\\'"
        ~ " order by table_schema, table_name"
    ) -%}
    {%- set names = {} -%}
    {%- for row in found.rows -%}
        {%- do names.setdefault(row[0], []).append(row[1]) -%}
    {%- endfor -%}
    {%- set tables = [] -%}
    {%- set loads = [] -%}
    {%- for dataset, dataset_tables in names.items() -%}
        {%- if '_dlt_loads' in dataset_tables -%}{%- do loads.append(dataset) -%}{%- endif -%}
        {%- for name in dataset_tables if not name.startswith('_dlt') -%}
            {%- if name.endswith('_quarantine') -%}
                {%- if name[:-11] not in dataset_tables -%}
                    {%- do tables.append({'dataset': dataset, 'table': name[:-11], 'base': none, 'quarantine': name}) -%}
                {%- endif -%}
            {%- else -%}
                {%- set sibling = name ~ '_quarantine' -%}
                {%- do tables.append({'dataset': dataset, 'table': name, 'base': name,
                    'quarantine': sibling if sibling in dataset_tables else none}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return({'tables': tables, 'loads': loads}) }}
{%- endmacro %}
