{#- Portable POSIX regex test: DuckDB spells it regexp_matches(), Postgres uses the ~ operator. -#}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'leadloop')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro postgres__regex_matches(expression, pattern) -%}
    ({{ expression }} ~ {{ pattern }})
{%- endmacro %}
