{#- Per person and channel the latest decision; at the same instant an opt-out wins. No
    decision at all is `no_preference`, which syncs and sends treat per their own policy. -#}
{%- set channels = ['email', 'phone', 'mail'] -%}
with people as (

    select person_id from {{ ref('int_people') }}

),

channels as (

    {% for channel in channels %}
    select '{{ channel }}' as channel{% if not loop.last %} union all{% endif %}
    {% endfor %}

),

ranked as (

    select
        events.*,
        row_number() over (
            partition by person_id, channel
            order by occurred_at desc, case state when 'opted_out' then 0 else 1 end, source, evidence_id
        ) as recency
    from {{ ref('int_consent_events') }} as events

)

select
    people.person_id,
    channels.channel,
    coalesce(ranked.state, 'no_preference') as consent_state,
    ranked.occurred_at as decided_at,
    ranked.source as decided_by,
    ranked.evidence_id,
    ranked.consent_text_version,
    ranked.dated_by
from people
cross join channels
left join ranked
    on ranked.person_id = people.person_id
    and ranked.channel = channels.channel
    and ranked.recency = 1
