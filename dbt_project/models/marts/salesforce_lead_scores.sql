{#- What the Salesforce Lead sync reads: every live lead of a person who is not erased, with
    its person's score (a lead without a person carries the score of its own record). Two leads
    of one person show the same score, grade and reasons. -#}
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

identity as (

    select source_id, person_id
    from {{ source('identity', 'identity_records') }}
    where source = 'salesforce_lead'

)

select
    leads.lead_id,
    scores.person_id,
    scores.score,
    scores.grade,
    scores.reasons,
    scores.rules_matched,
    scores.is_mql,
    scores.mql_at,
    scores.score_version,
    scores.scored_as_of
from leads
left join identity
    on identity.source_id = leads.lead_id
inner join {{ ref('lead_scores') }} as scores
    on scores.person_id = coalesce(identity.person_id, 'salesforce_lead:' || leads.lead_id)
