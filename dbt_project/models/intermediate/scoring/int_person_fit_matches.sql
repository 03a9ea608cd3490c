{#- Every fit rule each person matches, then the heaviest match per rule group (largest absolute
    points: a group of penalties keeps its worst, a group of bonuses its best). -#}
with attributes as (

    select * from {{ ref('int_person_fit_attributes') }}

),

rules as (

    select * from {{ ref('fit_rules') }}

),

matches as (

    select
        attributes.person_id,
        rules.rule_id,
        rules.rule_group,
        rules.points,
        rules.reason
    from attributes
    inner join rules
        on attributes.attribute = rules.attribute
    where
        case rules.match_type
            when 'equals' then lower(attributes.value_text) = lower(rules.match_value)
            when 'regex' then {{ regex_matches('lower(attributes.value_text)', 'rules.match_value') }}
            when 'gte' then attributes.value_number >= cast(rules.match_value as {{ dbt.type_float() }})
            when 'present' then coalesce(trim(attributes.value_text), '') <> ''
            else false
        end

),

ranked as (

    select
        *,
        row_number() over (
            partition by person_id, rule_group
            order by abs(points) desc, points desc, rule_id
        ) as rank_in_group
    from matches

)

select
    person_id,
    rule_id,
    rule_group,
    points,
    reason
from ranked
where rank_in_group = 1
