{#- One row per person per change of score: a build appends a row only for the people whose
    score differs from their last row (or who are new), numbered per person. A person no longer
    scored (erased, merged into another) loses their history with them. -#}
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    post_hook="delete from {{ this }} where person_id not in (select person_id from {{ ref('int_person_scores') }})"
) }}

with current_scores as (

    select person_id, scored_as_of, score, fit_score, engagement_score, grade, score_version
    from {{ ref('int_person_scores') }}

)

{% if is_incremental() %}

, latest as (

    select person_id, score, change_number
    from (
        select
            person_id,
            score,
            change_number,
            row_number() over (partition by person_id order by change_number desc) as recency
        from {{ this }}
    ) as numbered
    where recency = 1

)

select
    current_scores.person_id,
    cast(coalesce(latest.change_number, 0) + 1 as integer) as change_number,
    current_scores.scored_as_of,
    current_scores.score,
    cast(current_scores.score - latest.score as integer) as score_change,
    current_scores.fit_score,
    current_scores.engagement_score,
    current_scores.grade,
    current_scores.score_version
from current_scores
left join latest
    on latest.person_id = current_scores.person_id
where latest.person_id is null
    or latest.score <> current_scores.score

{% else %}

select
    person_id,
    cast(1 as integer) as change_number,
    scored_as_of,
    score,
    cast(null as integer) as score_change,
    fit_score,
    engagement_score,
    grade,
    score_version
from current_scores

{% endif %}
