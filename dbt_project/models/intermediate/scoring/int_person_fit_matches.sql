{#- Every fit rule each person matches, then the heaviest match per rule group (largest absolute
    points: a group of penalties keeps its worst, a group of bonuses its best). -#}
with attributes as (

    select * from {{ ref('int_person_fit_attributes') }}

),

rules as (

    select * from {{ ref('fit_rules') }}

),

{#- One join per match type rather than one CASE over every (person, rule) pair: `equals` is a
    hash join on the lowered value, and a regular expression read from a column (DuckDB compiles
    it per row) is tested once per distinct value of its attribute. Same matches either way. -#}
regex_hits as (

    select distinct_values.attribute, distinct_values.value_text, rules.rule_id
    from (
        select distinct attribute, value_text
        from attributes
        where value_text is not null
            and attribute in (select attribute from rules where match_type = 'regex')
    ) as distinct_values
    inner join rules
        on rules.attribute = distinct_values.attribute
        and rules.match_type = 'regex'
    where {{ regex_matches('lower(distinct_values.value_text)', 'rules.match_value') }}

),

matched_rule_ids as (

    select attributes.person_id, rules.rule_id
    from attributes
    inner join rules
        on rules.attribute = attributes.attribute
        and rules.match_type = 'equals'
        and lower(rules.match_value) = lower(attributes.value_text)

    union all

    select attributes.person_id, regex_hits.rule_id
    from attributes
    inner join regex_hits
        on regex_hits.attribute = attributes.attribute
        and regex_hits.value_text = attributes.value_text

    union all

    select attributes.person_id, rules.rule_id
    from attributes
    inner join rules
        on rules.attribute = attributes.attribute
        and rules.match_type = 'gte'
    where attributes.value_number >= cast(rules.match_value as {{ dbt.type_float() }})

    union all

    select attributes.person_id, rules.rule_id
    from attributes
    inner join rules
        on rules.attribute = attributes.attribute
        and rules.match_type = 'present'
    where coalesce(trim(attributes.value_text), '') <> ''

),

matches as (

    select
        matched_rule_ids.person_id,
        rules.rule_id,
        rules.rule_group,
        rules.points,
        rules.reason
    from matched_rule_ids
    inner join rules
        on rules.rule_id = matched_rule_ids.rule_id

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
