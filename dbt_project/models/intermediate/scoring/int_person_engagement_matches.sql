{#- Per person and engagement rule: the matching events inside the rule's lookback, each worth
    `points` halved every `half_life_days` before `scored_as_of`; then per rule group the
    heaviest rules first until the group's cap is reached, so a reason's points are exactly
    what it adds to the score. -#}
with context as (

    select * from {{ ref('int_scoring_context') }}

),

rules as (

    select
        *,
        max(group_cap) over (partition by rule_group) as cap
    from {{ ref('engagement_rules') }}

),

aged as (

    select
        events.person_id,
        events.event_kind,
        events.detail,
        {{ dbt.datediff('events.occurred_at', 'context.scored_as_of', 'second') }} / 86400.0 as age_days
    from {{ ref('int_person_engagement_events') }} as events
    cross join context

),

matches as (

    select
        aged.person_id,
        rules.rule_id,
        rules.rule_group,
        rules.cap,
        rules.lookback_days,
        rules.reason,
        count(*) as events,
        sum(
            rules.points * power(
                cast(0.5 as {{ dbt.type_float() }}),
                cast(aged.age_days as {{ dbt.type_float() }}) / nullif(rules.half_life_days, 0)
            )
        ) as decayed_points
    from aged
    inner join rules
        on rules.event_kind = aged.event_kind
        and (coalesce(rules.match_value, '') = '' or lower(aged.detail) = lower(rules.match_value))
    where aged.age_days >= 0
        and aged.age_days < rules.lookback_days
    group by aged.person_id, rules.rule_id, rules.rule_group, rules.cap, rules.lookback_days, rules.reason

),

rounded as (

    select
        *,
        cast(round(coalesce(decayed_points, 0)) as integer) as rule_points
    from matches

),

capped as (

    select
        *,
        sum(rule_points) over (
            partition by person_id, rule_group
            order by rule_points desc, rule_id
            rows between unbounded preceding and current row
        ) as running_points
    from rounded

)

select
    person_id,
    rule_id,
    rule_group,
    cast(events as integer) as events,
    cast(greatest(0, least(rule_points, cap - (running_points - rule_points))) as integer) as points,
    replace(
        replace(reason, '{n}', cast(events as {{ dbt.type_string() }})),
        '{days}', cast(lookback_days as {{ dbt.type_string() }})
    ) as reason
from capped
where least(rule_points, cap - (running_points - rule_points)) > 0
