{#- How every staging model standardizes an email: trimmed and lower-cased, blank as null. -#}
{% macro normalized_email(column) -%}
    lower(nullif(trim({{ column }}), ''))
{%- endmacro %}

{#- A syntactic check only (one @, a dot in the domain, no spaces): deliverability is not knowable here. -#}
{% macro is_valid_email(column) -%}
    coalesce({{ regex_matches(normalized_email(column), "'^[^@[:space:]]+@[^@[:space:]]+\\.[a-z]{2,}$'") }}, false)
{%- endmacro %}

{#- The domain part of an email, lower-cased. -#}
{% macro email_domain(column) -%}
    nullif(split_part({{ normalized_email(column) }}, '@', 2), '')
{%- endmacro %}

{#- A company domain from a website URL: scheme, `www.` and any path dropped. -#}
{% macro website_domain(column) -%}
    nullif(split_part(regexp_replace(lower(trim({{ column }})), '^(https?://)?(www\.)?', ''), '/', 1), '')
{%- endmacro %}

{#- The company domain an email implies: its domain, unless a free-mail provider's (seed
    free_mail_domains). -#}
{% macro company_domain_from_email(column) -%}
    {{ return(adapter.dispatch('company_domain_from_email')(column)) }}
{%- endmacro %}

{% macro default__company_domain_from_email(column) -%}
    case
        when {{ email_domain(column) }} in (select domain from {{ ref('free_mail_domains') }}) then null
        else {{ email_domain(column) }}
    end
{%- endmacro %}

{#- On DuckDB the seed is read once into a list (an uncorrelated scalar subquery) instead of an
    `in (select …)`, whose join kept DuckDB from dropping unused columns: every read of a staging
    view over CRM records (each data test, each model taking a few of its columns) computed all
    of them, 0.13-0.2 s a read of stg_salesforce__leads at 100k leads, 0.005-0.03 s so (issue 24).
    Same answer: a domain that is not listed (or null) keeps the `else` branch either way. -#}
{% macro duckdb__company_domain_from_email(column) -%}
    case
        when list_contains((select list(domain) from {{ ref('free_mail_domains') }}), {{ email_domain(column) }}) then null
        else {{ email_domain(column) }}
    end
{%- endmacro %}
