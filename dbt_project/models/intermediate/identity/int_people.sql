{#- The golden person record: for each field the value of the most trusted source (seed
    survivorship_rules), then of the most recently created record, then the lowest record key (so
    ties resolve the same way on every run and warehouse). Created, not updated: the score syncs
    write to every CRM record, which moves its modification time, so "most recently updated"
    would let our own writes change the golden record and the score on the next run. -#}
{%- set fields = ['first_name', 'last_name', 'email', 'phone', 'company', 'company_domain', 'title',
                  'street', 'city', 'state', 'postal_code', 'country'] -%}
with records as (

    select * from {{ ref('int_person_source_records') }}

),

candidates as (

    {% for field in fields %}
    select
        person_id,
        '{{ field }}' as field,
        cast({{ 'phone_e164' if field == 'phone' else field }} as {{ dbt.type_string() }}) as value,
        source,
        created_at,
        record_key
    from records
    where {{ 'phone_e164' if field == 'phone' else field }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.person_id, candidates.field
            order by rules.priority, candidates.created_at desc nulls last, candidates.record_key
        ) as preference
    from candidates
    inner join {{ ref('survivorship_rules') }} as rules
        on rules.field = candidates.field
        and rules.source = candidates.source

),

chosen as (

    select
        person_id,
        {% for field in fields %}
        max(case when field = '{{ field }}' then value end) as {{ field }},
        max(case when field = '{{ field }}' then source end) as {{ field }}_source{{ ',' if not loop.last }}
        {% endfor %}
    from ranked
    where preference = 1
    group by person_id

),

lineage as (

    select
        person_id,
        count(*) as source_record_count,
        {% for source in ['salesforce_lead', 'salesforce_contact', 'hubspot_contact', 'partner_mail', 'product_user'] %}
        sum(case when source = '{{ source }}' then 1 else 0 end) as {{ source }}_records,
        {% endfor %}
        min(created_at) as first_seen_at,
        max(updated_at) as last_updated_at,
        {% if target.type == 'duckdb' -%}
        array_to_string(list_sort(list(record_key)), ',') as source_record_keys  {#- ordered string_agg sorts per group -#}
        {%- else -%}
        {{ dbt.listagg('record_key', "','", 'order by record_key') }} as source_record_keys
        {%- endif %}
    from records
    group by person_id

)

select
    lineage.person_id,
    {% for field in fields %}
    chosen.{{ field }},
    chosen.{{ field }}_source,
    {% endfor %}
    lineage.source_record_count,
    lineage.salesforce_lead_records,
    lineage.salesforce_contact_records,
    lineage.hubspot_contact_records,
    lineage.partner_mail_records,
    lineage.product_user_records,
    lineage.first_seen_at,
    lineage.last_updated_at,
    lineage.source_record_keys
from lineage
left join chosen on chosen.person_id = lineage.person_id
