{#- Statistics the report marts share, in the SQL DuckDB and Postgres both speak. Floats are
    `double precision`, not dbt.type_float(): that is a 4-byte REAL on DuckDB. -#}

{#- The median of a numeric expression within a group: the ordered-set aggregate both
    warehouses implement (DuckDB's `median()` does not exist on Postgres). -#}
{% macro median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{#- Whole days from one timestamp to a later one, as a number a median can be taken of. -#}
{% macro days_between(start, finish) -%}
    cast({{ dbt.datediff(start, finish, 'day') }} as double precision)
{%- endmacro %}

{#- successes / trials as a float, null when there are no trials (no division by zero). -#}
{% macro share(successes, trials) -%}
    cast({{ successes }} as double precision) / nullif({{ trials }}, 0)
{%- endmacro %}

{#- One bound of the Wilson score interval of a proportion (z = 1.96 for 95%): used by the
    Newcombe interval of a difference of two proportions, which stays inside [-1, 1] and behaves
    for small counts and rates near 0, where the Wald interval does not. `sign` is -1 or 1. -#}
{% macro wilson_bound(successes, trials, sign, z=1.96) -%}
    {%- set n = 'nullif(cast(' ~ trials ~ ' as double precision), 0)' -%}
    {%- set p = share(successes, trials) -%}
    (
        ({{ p }} + {{ (z * z) | round(4) }} / (2 * {{ n }}))
        {{ '-' if sign < 0 else '+' }} {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ (z * z) | round(4) }} / (4 * {{ n }} * {{ n }}))
    ) / (1 + {{ (z * z) | round(4) }} / {{ n }})
{%- endmacro %}

{#- A rate or interval bound as reports show it: `places` decimals, still a float. Through a
    decimal because Postgres has no round(double precision, int); DuckDB's bare `numeric` keeps
    only three decimals, hence the explicit precision. -#}
{% macro rounded(expression, places=5) -%}
    cast(round(cast({{ expression }} as decimal(24, 12)), {{ places }}) as double precision)
{%- endmacro %}
