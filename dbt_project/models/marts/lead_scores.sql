{#- The score RevOps act on, one row per person (and per live lead that has no person yet):
    fit, engagement, the 0-100 score and grade, the reasons with their points, the rules
    version and reference time, contact flags per channel, and MQL status. An MQL stays one:
    `mql_at` is when the score first reached the threshold (from lead_score_history), even if
    it has decayed since. Deterministic: no wall-clock column, so an unchanged input rebuilds
    byte-identical rows and syncs nothing. -#}
with scores as (

    select * from {{ ref('int_person_scores') }}

),

first_mql as (

    select person_id, min(scored_as_of) as mql_at
    from {{ ref('lead_score_history') }}
    where score >= {{ var('mql_score_threshold') }}
    group by person_id

)

select
    scores.person_id,
    scores.scored_from,
    scores.fit_score,
    scores.engagement_score,
    scores.score,
    scores.grade,
    (first_mql.mql_at is not null or scores.score >= {{ var('mql_score_threshold') }}) as is_mql,
    coalesce(
        first_mql.mql_at,
        case when scores.score >= {{ var('mql_score_threshold') }} then scores.scored_as_of end
    ) as mql_at,
    scores.reasons,
    scores.rules_matched,
    scores.score_version,
    scores.scored_as_of,
    scores.can_contact_email,
    scores.can_contact_phone,
    scores.can_contact_mail
from scores
left join first_mql
    on first_mql.person_id = scores.person_id
