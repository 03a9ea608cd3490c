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
    the English name (seed country_codes); an unknown value is kept upper-cased. -#}
{% macro country_code(column) -%}
    coalesce(
        (select codes.alpha2 from {{ ref('country_codes') }} as codes
         where upper(trim({{ column }})) in (codes.alpha2, codes.alpha3, upper(codes.name))),
        upper(nullif(trim({{ column }}), ''))
    )
{%- endmacro %}
