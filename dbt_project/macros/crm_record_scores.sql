{#- Each live record of one CRM object with its person's score: what a score sync reads. The
    score is per person, so every record of a person (two Contacts, a Contact and a HubSpot
    contact) shows the same score, grade and reasons. A record whose person is erased is left out
    even while the CRM still holds it, and a deleted one too: the sync then clears it once.
    `identity_source` is the record's `source` in silver.identity_records. With
    `own_record_fallback`, a record identity has not placed yet carries the score of its own
    record (person_id `<identity_source>:<key>`, as int_scoring_subjects scores a lone lead). -#}
{% macro crm_record_scores(staging_model, key, identity_source, own_record_fallback=false) %}
with records as (

    select {{ key }}
    from {{ ref(staging_model) }}
    where not is_deleted
        and {{ key }} not in (
            select source_id from {{ source('identity', 'identity_suppressed_records') }}
            where source = '{{ identity_source }}'
        )

),

identity as (

    select source_id, person_id
    from {{ source('identity', 'identity_records') }}
    where source = '{{ identity_source }}'

)

select
    records.{{ key }},
    scores.person_id,
    scores.score,
    scores.grade,
    scores.reasons,
    scores.rules_matched,
    scores.is_mql,
    scores.mql_at,
    scores.score_version,
    scores.scored_as_of
from records
{{ 'left' if own_record_fallback else 'inner' }} join identity
    on identity.source_id = records.{{ key }}
inner join {{ ref('lead_scores') }} as scores
{%- if own_record_fallback %}
    on scores.person_id = coalesce(identity.person_id, '{{ identity_source }}:' || records.{{ key }})
{%- else %}
    on scores.person_id = identity.person_id
{%- endif %}
{% endmacro %}
