{#- The speed-to-lead SLIs RevOps watch, by grade, owner (or queue) and lead source: MQLs,
    how many were touched, how many within SLA, the share within SLA of those whose SLA has
    resolved (met or missed), and the median minutes from capture to first touch. -#}
select
    grade,
    coalesce(owner_email, 'queue:' || queue) as owner,
    lead_source,
    count(*) as mqls,
    sum(case when first_touch_at is not null then 1 else 0 end) as touched,
    sum(case when sla_status = 'met' then 1 else 0 end) as within_sla,
    sum(case when sla_status = 'missed' then 1 else 0 end) as missed_sla,
    cast(sum(case when sla_status = 'met' then 1 else 0 end) as {{ dbt.type_float() }})
        / nullif(sum(case when sla_status in ('met', 'missed') then 1 else 0 end), 0) as share_within_sla,
    percentile_cont(0.5) within group (order by minutes_to_first_touch) as median_minutes_to_first_touch
from {{ ref('lead_speed_to_lead') }}
group by grade, coalesce(owner_email, 'queue:' || queue), lead_source
