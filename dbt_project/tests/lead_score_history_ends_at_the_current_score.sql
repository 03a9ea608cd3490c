{#- The history is only worth reading if its latest row per person is today's score: a person
    scored without a row, or whose last row says another score, means a change was missed. -#}
{#- Two parents (history and lead_scores): Dagster attaches the test to the history as its check. -#}
{{ config(meta={'dagster': {'ref': {'name': 'lead_score_history'}}}) }}
with latest as (

    select person_id, score
    from (
        select
            person_id,
            score,
            row_number() over (partition by person_id order by change_number desc) as recency
        from {{ ref('lead_score_history') }}
    ) as numbered
    where recency = 1

)

select scores.person_id, scores.score, latest.score as history_score
from {{ ref('lead_scores') }} as scores
left join latest
    on latest.person_id = scores.person_id
where latest.score is null
    or latest.score <> scores.score
