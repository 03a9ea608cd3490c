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
    case
        when {{ email_domain(column) }} in (select domain from {{ ref('free_mail_domains') }}) then null
        else {{ email_domain(column) }}
    end
{%- endmacro %}
