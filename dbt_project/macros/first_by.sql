{#- The value from a group's row with the smallest key, among the rows `where` keeps: one pass of
    an aggregate instead of a window and a filter. Keys must be unique within a group, so the
    pick does not depend on row order. DuckDB has arg_min; Postgres takes the head of an ordered
    array. -#}
{% macro first_by(value, key, where) -%}
    {{ return(adapter.dispatch('first_by', 'leadloop')(value, key, where)) }}
{%- endmacro %}

{% macro default__first_by(value, key, where) -%}
    arg_min({{ value }}, {{ key }}) filter (where {{ where }})
{%- endmacro %}

{% macro postgres__first_by(value, key, where) -%}
    (array_agg({{ value }} order by {{ key }}) filter (where {{ where }}))[1]
{%- endmacro %}
