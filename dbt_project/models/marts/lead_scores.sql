{#- The explainable fit score per live lead: the sum of matched rule points (best rule per group),
    capped at 100, a letter grade and the reasons in the order they weigh. Deterministic: no
    wall-clock columns, so an unchanged source rebuilds byte-identical rows and syncs nothing. -#}
with leads as (

    select lead_id
    from {{ ref('stg_salesforce__leads') }}
    where not is_deleted
        -- an erased person is scored and synced no more, whatever the CRM still holds
        and lead_id not in (
            select source_id from {{ source('identity', 'identity_suppressed_records') }}
            where source = 'salesforce_lead'
        )

),

matches as (

    select * from {{ ref('int_lead_rule_matches') }}

),

per_lead as (

    select
        lead_id,
        sum(points) as raw_points,
        count(*) as rules_matched,
        {{ dbt.listagg('reason', "'; '", 'order by points desc, rule_id') }} as reasons
    from matches
    group by lead_id

),

scored as (

    select
        leads.lead_id,
        cast(least(coalesce(per_lead.raw_points, 0), 100) as integer) as score,
        coalesce(per_lead.reasons, 'No scoring rule matched') as reasons,
        cast(coalesce(per_lead.rules_matched, 0) as integer) as rules_matched
    from leads
    left join per_lead
        on leads.lead_id = per_lead.lead_id

)

select
    lead_id,
    score,
    case
        when score >= {{ var('lead_grade_a_min') }} then 'A'
        when score >= {{ var('lead_grade_b_min') }} then 'B'
        when score >= {{ var('lead_grade_c_min') }} then 'C'
        else 'D'
    end as grade,
    reasons,
    rules_matched
from scored
