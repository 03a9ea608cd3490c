{#- The golden person record: for each field the value of the most trusted source (seed
    survivorship_rules), then of the most recently created record, then the lowest record key (so
    ties resolve the same way on every run and warehouse). Created, not updated: the score syncs
    write to every CRM record, which moves its modification time, so "most recently updated"
    would let our own writes change the golden record and the score on the next run.
    One pass over the records: each record's rank within its person (newest first) is computed
    once, each field takes the value with the smallest (source priority, rank) by `first_by`,
    the pair as one number, priority * 1e9 + rank (no person has a billion records).
    Unpivoting the twelve fields into rows and ranking each instead took 5x as long at 1M people. -#}
{%- set fields = ['first_name', 'last_name', 'email', 'phone', 'company', 'company_domain', 'title',
                  'street', 'city', 'state', 'postal_code', 'country'] -%}
{%- set sources = ['salesforce_lead', 'salesforce_contact', 'hubspot_contact', 'partner_mail', 'product_user'] -%}
with records as (

    select
        *,
        row_number() over (
            partition by person_id
            order by created_at desc nulls last, record_key
        ) as recency
    from {{ ref('int_person_source_records') }}

),

{#- One row per source, a priority column per field (null: the source never supplies it). -#}
priorities as (

    select
        source,
        {% for field in fields %}
        cast(min(case when field = '{{ field }}' then priority end) as {{ dbt.type_bigint() }}) as {{ field }}_priority{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('survivorship_rules') }}
    group by source

)

select
    records.person_id,
    {% for field in fields %}
    {%- set column = 'phone_e164' if field == 'phone' else field %}
    {%- set key = 'priorities.' ~ field ~ '_priority * 1000000000 + records.recency' %}
    {%- set usable = 'records.' ~ column ~ ' is not null and priorities.' ~ field ~ '_priority is not null' %}
    {{ first_by('cast(records.' ~ column ~ ' as ' ~ dbt.type_string() ~ ')', key, usable) }} as {{ field }},
    {{ first_by('records.source', key, usable) }} as {{ field }}_source,
    {% endfor %}
    count(*) as source_record_count,
    {% for source in sources %}
    sum(case when records.source = '{{ source }}' then 1 else 0 end) as {{ source }}_records,
    {% endfor %}
    min(records.created_at) as first_seen_at,
    max(records.updated_at) as last_updated_at,
    {% if target.type == 'duckdb' -%}
    array_to_string(list_sort(list(records.record_key)), ',') as source_record_keys  {#- ordered string_agg sorts per group -#}
    {%- else -%}
    {{ dbt.listagg('records.record_key', "','", 'order by records.record_key') }} as source_record_keys
    {%- endif %}
from records
left join priorities on priorities.source = records.source
group by records.person_id
