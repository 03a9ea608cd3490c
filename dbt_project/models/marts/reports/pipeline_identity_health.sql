{#- How much identity resolution merges, per source of person records: records, the people
    they make, and the records merged with at least one other record into one person. A merge
    rate far from its usual level is the first sign of a matching rule gone wrong. -#}
with records as (

    select record_key, source, person_id
    from {{ source('identity', 'identity_records') }}

),

sizes as (

    select person_id, count(*) as person_records
    from records
    group by person_id

)

select
    records.source,
    count(*) as records,
    count(distinct records.person_id) as people,
    sum(case when sizes.person_records > 1 then 1 else 0 end) as merged_records,
    {{ rounded(share('sum(case when sizes.person_records > 1 then 1 else 0 end)', 'count(*)')) }} as merge_rate
from records
inner join sizes
    on sizes.person_id = records.person_id
group by records.source
