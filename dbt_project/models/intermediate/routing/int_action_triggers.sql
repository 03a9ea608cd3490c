{#- The actions the current data calls for, one row per (person, action type, trigger event),
    from the rules in seed action_rules. A trigger event names the fact that fired the rule
    (the MQL moment, the score change, the engagement peak), so the same fact never yields two
    actions and a new fact yields a new one. Nobody opted out of the rule's channel gets a row
    (erased people are not scored, so they are absent too). Triggers:
      new_mql_untouched  an MQL of the rule's grade whose SLA is due (as of the scores' reference
                         time) with no rep touch since becoming an MQL;
      score_jump         the person's latest score change rose at least min_score_jump points;
      engagement_decay   a person of the rule's grade whose engagement fell at least
                         min_engagement_drop below its peak. -#}
with rules as (

    select * from {{ ref('action_rules') }}

),

routing as (

    select * from {{ ref('lead_routing') }}

),

scores as (

    select * from {{ ref('lead_scores') }}

),

history as (

    select * from {{ ref('lead_score_history') }}

),

latest_change as (

    select person_id, change_number, score_change
    from (
        select
            person_id,
            change_number,
            score_change,
            row_number() over (partition by person_id order by change_number desc) as recency
        from history
    ) as ranked
    where recency = 1

),

engagement_peak as (

    select person_id, change_number, engagement_score
    from (
        select
            person_id,
            change_number,
            engagement_score,
            row_number() over (
                partition by person_id order by engagement_score desc, change_number
            ) as height
        from history
    ) as ranked
    where height = 1

),

untouched_mqls as (

    select
        rules.action_type,
        routing.person_id,
        'mql:' || cast(routing.mql_at as {{ dbt.type_string() }}) as trigger_event,
        routing.due_at
    from rules
    inner join routing
        on rules.trigger = 'new_mql_untouched'
        and routing.grade = rules.grade
        and routing.is_mql
        and routing.due_at <= routing.routed_as_of
    where not exists (
        select 1 from {{ ref('int_person_crm_touches') }} as touches
        where touches.person_id = routing.person_id and touches.touched_at >= routing.mql_at
    )

),

score_jumps as (

    select
        rules.action_type,
        latest_change.person_id,
        'score_change:' || cast(latest_change.change_number as {{ dbt.type_string() }}) as trigger_event,
        cast(null as {{ dbt.type_timestamp() }}) as due_at
    from rules
    inner join latest_change
        on rules.trigger = 'score_jump'
        and latest_change.score_change >= rules.min_score_jump

),

decayed as (

    select
        rules.action_type,
        scores.person_id,
        'engagement_peak:' || cast(engagement_peak.change_number as {{ dbt.type_string() }}) as trigger_event,
        cast(null as {{ dbt.type_timestamp() }}) as due_at
    from rules
    inner join scores
        on rules.trigger = 'engagement_decay'
        and scores.grade = rules.grade
    inner join engagement_peak
        on engagement_peak.person_id = scores.person_id
        and scores.engagement_score <= engagement_peak.engagement_score - rules.min_engagement_drop

),

triggered as (

    select * from untouched_mqls
    union all
    select * from score_jumps
    union all
    select * from decayed

)

select
    rules.action_type || ':' || {{ dbt.hash("triggered.person_id || '|' || triggered.action_type || '|' || triggered.trigger_event") }}
        as action_key,
    triggered.person_id,
    triggered.action_type,
    rules.trigger,
    triggered.trigger_event,
    rules.channel,
    rules.subject,
    rules.priority,
    triggered.due_at
from triggered
inner join rules on rules.action_type = triggered.action_type
inner join scores on scores.person_id = triggered.person_id
where case rules.channel
    when 'email' then scores.can_contact_email
    when 'phone' then scores.can_contact_phone
    when 'mail' then scores.can_contact_mail
end
