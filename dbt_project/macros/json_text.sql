{#- One top-level key of a JSON text column, as text. -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'leadloop')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_text(column, key) -%}
    (cast({{ column }} as json) ->> '{{ key }}')
{%- endmacro %}

{#- The identity match key of an email: lower-cased, trimmed, plus-address tag dropped
    (silver/identity/standardize.py keys records the same way). -#}
{% macro email_match_key(column) -%}
    regexp_replace({{ normalized_email(column) }}, '[+][^@]*@', '@')
{%- endmacro %}
