{#- Each person's territory: the highest-priority rule of seed territory_rules that matches
    (lowest `priority` number). A blank rule cell matches anything. Each condition is three-valued
    — a rule on industry cannot be decided for a person whose industry is unknown — so a person
    for whom an undecidable rule outranks every matching one is not guessed into a lower rule:
    they are `unroutable`, with the attribute that was missing (and the classifier's confidence,
    when it tried). People no rule covers go to the catch-all queue team. -#}
with subjects as (

    select * from {{ ref('int_routing_subjects') }}

),

rules as (

    select * from {{ ref('territory_rules') }}

),

evaluated as (

    select
        subjects.person_id,
        rules.rule_id,
        rules.priority,
        rules.team,
        rules.segment,
        {#- true, false or null (undecidable): SQL's own three-valued logic. -#}
        (
            (rules.country is null or subjects.country = rules.country)
            and (rules.industry is null or subjects.industry = rules.industry)
            and (rules.min_employees is null or subjects.number_of_employees >= rules.min_employees)
            and (rules.max_employees is null or subjects.number_of_employees < rules.max_employees)
        ) as matches,
        case
            when rules.country is not null and subjects.country is null then 'country'
            when rules.industry is not null and subjects.industry is null then 'industry'
            when (rules.min_employees is not null or rules.max_employees is not null)
                and subjects.number_of_employees is null then 'company size'
        end as missing_attribute
    from subjects
    cross join rules

),

first_match as (

    select person_id, rule_id, team, segment, priority
    from (
        select
            evaluated.*,
            row_number() over (partition by person_id order by priority, rule_id) as rank_in_person
        from evaluated
        where matches
    ) as ranked
    where rank_in_person = 1

),

first_undecided as (

    select person_id, rule_id, missing_attribute, priority
    from (
        select
            evaluated.*,
            row_number() over (partition by person_id order by priority, rule_id) as rank_in_person
        from evaluated
        where matches is null
    ) as ranked
    where rank_in_person = 1

)

select
    subjects.person_id,
    case
        when first_undecided.priority < coalesce(first_match.priority, first_undecided.priority + 1) then null
        else first_match.rule_id
    end as territory_rule_id,
    case
        when first_undecided.priority < coalesce(first_match.priority, first_undecided.priority + 1) then null
        else first_match.team
    end as team,
    case
        when first_undecided.priority < coalesce(first_match.priority, first_undecided.priority + 1) then null
        else first_match.segment
    end as segment,
    case
        when first_undecided.priority < coalesce(first_match.priority, first_undecided.priority + 1)
            then 'unroutable: ' || first_undecided.missing_attribute || ' unknown'
            || case
                when first_undecided.missing_attribute = 'industry' and subjects.industry_confidence is not null
                    then ' (confidence ' || cast(cast(subjects.industry_confidence as decimal(4, 2)) as {{ dbt.type_string() }}) || ')'
                else ''
            end
        when first_match.rule_id is null then 'unroutable: no territory rule matches'
    end as unroutable_reason
from subjects
left join first_match on first_match.person_id = subjects.person_id
left join first_undecided on first_undecided.person_id = subjects.person_id
