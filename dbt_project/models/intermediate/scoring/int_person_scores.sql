{#- Each person's current score before MQL stickiness (which needs the history): fit and
    engagement points, the 0-100 score and grade, and every reason with its points, heaviest
    first ("Visited pricing 3× in 14 days: +18; Free-mail address: −10"). -#}
with subjects as (

    select * from {{ ref('int_scoring_subjects') }}

),

context as (

    select * from {{ ref('int_scoring_context') }}

),

reasons as (

    select person_id, 'fit' as kind, rule_id, points, reason from {{ ref('int_person_fit_matches') }}
    union all
    select person_id, 'engagement', rule_id, points, reason from {{ ref('int_person_engagement_matches') }}

),

per_person as (

    select
        person_id,
        sum(case when kind = 'fit' then points else 0 end) as fit_points,
        sum(case when kind = 'engagement' then points else 0 end) as engagement_points,
        count(*) as rules_matched,
        {% if target.type == 'duckdb' -%}
        {#- DuckDB sorts an ordered string_agg group by group (19 of the model's 21 CPU-seconds at
            100k people); a list sorted per person gives the same text at a fraction. -#}
        array_to_string(list_transform(list_sort(list({
            'weight': -abs(points),
            'sign': -points,
            'rule_id': rule_id,
            'text': reason || ': ' || case when points < 0 then '−' else '+' end || cast(abs(points) as varchar)
        })), lambda r: r.text), '; ') as reasons
        {%- else -%}
        {{ dbt.listagg(
            "reason || ': ' || case when points < 0 then '−' else '+' end || cast(abs(points) as " ~ dbt.type_string() ~ ")",
            "'; '",
            'order by abs(points) desc, points desc, rule_id'
        ) }} as reasons
        {%- endif %}
    from reasons
    group by person_id

),

scored as (

    select
        subjects.person_id,
        subjects.scored_from,
        cast(coalesce(per_person.fit_points, 0) as integer) as fit_points,
        cast(coalesce(per_person.engagement_points, 0) as integer) as engagement_points,
        cast(coalesce(per_person.rules_matched, 0) as integer) as rules_matched,
        coalesce(per_person.reasons, 'No scoring rule matched') as reasons,
        subjects.can_contact_email,
        subjects.can_contact_phone,
        subjects.can_contact_mail
    from subjects
    left join per_person
        on per_person.person_id = subjects.person_id

),

bounded as (

    select
        *,
        cast(greatest(0, least(100, fit_points)) as integer) as fit_score,
        cast(greatest(0, least(100, engagement_points)) as integer) as engagement_score,
        cast(greatest(0, least(100, fit_points + engagement_points)) as integer) as score
    from scored

)

select
    bounded.person_id,
    bounded.scored_from,
    bounded.fit_score,
    bounded.engagement_score,
    bounded.score,
    case
        when bounded.score >= {{ var('lead_grade_a_min') }} then 'A'
        when bounded.score >= {{ var('lead_grade_b_min') }} then 'B'
        when bounded.score >= {{ var('lead_grade_c_min') }} then 'C'
        else 'D'
    end as grade,
    bounded.reasons,
    bounded.rules_matched,
    context.score_version,
    context.scored_as_of,
    bounded.can_contact_email,
    bounded.can_contact_phone,
    bounded.can_contact_mail
from bounded
cross join context
