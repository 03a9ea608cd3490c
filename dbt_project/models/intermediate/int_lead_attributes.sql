{#- One row per (lead, scorable attribute): the rules seed names attributes, so scoring stays a
    join instead of SQL written per rule. Numbers keep a numeric column for `gte` rules. -#}
{%- set text_attributes = ['title', 'industry', 'lead_source', 'country', 'phone'] -%}
{%- set number_attributes = ['number_of_employees', 'annual_revenue'] -%}

with leads as (

    select * from {{ ref('stg_salesforce__leads') }}
    where not is_deleted

)

{% for attribute in text_attributes %}
select
    lead_id,
    '{{ attribute }}' as attribute,
    cast({{ attribute }} as {{ dbt.type_string() }}) as value_text,
    cast(null as {{ dbt.type_float() }}) as value_number
from leads
union all
{% endfor %}
{% for attribute in number_attributes %}
select
    lead_id,
    '{{ attribute }}' as attribute,
    cast({{ attribute }} as {{ dbt.type_string() }}) as value_text,
    cast({{ attribute }} as {{ dbt.type_float() }}) as value_number
from leads
{% if not loop.last %}union all{% endif %}
{% endfor %}
