{#- A street line for comparison and mailing: trimmed, single-spaced, lower-cased, the street
    type abbreviated the USPS way ("Avenue", "Ave." → "ave"); the raw value stays beside it.
    Identity resolution matches streets on this column. -#}
{% macro normalized_street(column) -%}
    {%- set street_suffixes = {
        'alley': 'aly', 'avenue': 'ave', 'boulevard': 'blvd', 'circle': 'cir', 'court': 'ct',
        'drive': 'dr', 'expressway': 'expy', 'freeway': 'fwy', 'highway': 'hwy', 'lane': 'ln',
        'parkway': 'pkwy', 'place': 'pl', 'plaza': 'plz', 'road': 'rd', 'square': 'sq',
        'street': 'st', 'terrace': 'ter', 'trail': 'trl'
    } -%}
    {%- set ns = namespace(expression="regexp_replace(lower(trim(" ~ column ~ ")), '[[:space:],]+', ' ', 'g')") -%}
    {%- for full, short in street_suffixes.items() -%}
        {%- set ns.expression = "regexp_replace(" ~ ns.expression ~ ", ' (" ~ full ~ "|" ~ short ~ ")[.]?$', ' " ~ short ~ "')" -%}
    {%- endfor -%}
    nullif({{ ns.expression }}, '')
{%- endmacro %}

{#- An ISO-3166 alpha-2 code from whatever a CRM holds: the code itself, the alpha-3 code or
    the English name (seed country_codes); an unknown value is kept upper-cased.

    `min()` rather than the bare scalar subquery, though a spelling names one country at most
    (tests/country_codes_one_country_per_spelling.sql): DuckDB cannot drop a bare correlated
    subquery's join from a staging view that also filters by the free-mail seed
    (`company_domain_from_email`), so every read of the view, even a not_null test of one other
    column, computed all of its columns (0.13-0.2 s a test on stg_salesforce__leads at 100k
    leads, against 0.006 s with the aggregate; issue 24). -#}
{% macro country_code(column) -%}
    coalesce(
        (select min(codes.alpha2) from {{ ref('country_codes') }} as codes
         where upper(trim({{ column }})) in (codes.alpha2, codes.alpha3, upper(codes.name))),
        upper(nullif(trim({{ column }}), ''))
    )
{%- endmacro %}
