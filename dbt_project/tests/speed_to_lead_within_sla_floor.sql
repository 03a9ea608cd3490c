{{ config(severity='warn', meta={"dagster": {"ref": {"name": "speed_to_lead_slis"}}}) }}
{#- Warns (does not block) when the share of MQLs touched within their SLA, over all MQLs whose
    SLA has resolved, is below var speed_to_lead_min_share_within_sla: reps are too slow, which
    is a business alarm, not a data defect. One row with the share when it fires. -#}
select share_within_sla
from (
    select
        cast(sum(within_sla) as {{ dbt.type_float() }}) / nullif(sum(within_sla) + sum(missed_sla), 0)
            as share_within_sla
    from {{ ref('speed_to_lead_slis') }}
) as overall
where share_within_sla < {{ var('speed_to_lead_min_share_within_sla') }}
