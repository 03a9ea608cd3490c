{#- One row per (person, scorable attribute): the fit rules name attributes, so scoring stays a
    join instead of SQL written per rule. Numbers keep a numeric column for `gte` rules. A new
    attribute is a column of int_scoring_subjects plus its name in one of these lists. -#}
{%- set text_attributes = ['title', 'industry', 'lead_source', 'country', 'phone',
                           'email_type', 'email_domain', 'email_status', 'email_bounce_reason'] -%}
{%- set number_attributes = ['number_of_employees', 'annual_revenue'] -%}

with subjects as (

    select * from {{ ref('int_scoring_subjects') }}

)

{% for attribute in text_attributes %}
select
    person_id,
    '{{ attribute }}' as attribute,
    cast({{ attribute }} as {{ dbt.type_string() }}) as value_text,
    cast(null as {{ dbt.type_float() }}) as value_number
from subjects
union all
{% endfor %}
{% for attribute in number_attributes %}
select
    person_id,
    '{{ attribute }}' as attribute,
    cast({{ attribute }} as {{ dbt.type_string() }}) as value_text,
    cast({{ attribute }} as {{ dbt.type_float() }}) as value_number
from subjects
{% if not loop.last %}union all{% endif %}
{% endfor %}
