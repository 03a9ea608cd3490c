{#- Which channels engage people, and whether the people they engage become MQLs: every
    engagement signal the scoring reads, grouped by channel. `engaged_share` is over every
    scored person, so channels compare on one base. -#}
with signals as (

    select
        person_id,
        case
            when event_kind in ('page_view', 'web_active_day', 'form_fill', 'demo_request', 'chat_started') then 'web'
            when event_kind like 'email%' then 'email'
            when event_kind = 'webinar_attended' then 'events'
            when event_kind like 'product%' then 'product'
            when event_kind = 'mail_callback' then 'direct_mail'
            when event_kind like 'campaign%' then 'campaigns'
            else 'other'
        end as channel
    from {{ ref('int_person_engagement_events') }}

),

people as (

    select person_id, is_mql from {{ ref('lead_scores') }}

),

per_channel as (

    select
        signals.channel,
        count(*) as signals,
        count(distinct signals.person_id) as people_engaged,
        count(distinct case when people.is_mql then signals.person_id end) as mqls_engaged
    from signals
    inner join people
        on people.person_id = signals.person_id
    group by signals.channel

)

select
    channel,
    signals,
    people_engaged,
    {{ rounded(share('people_engaged', '(select count(*) from people)')) }} as engaged_share,
    {{ rounded(share('signals', 'people_engaged'), 2) }} as signals_per_person,
    mqls_engaged,
    {{ rounded(share('mqls_engaged', 'people_engaged')) }} as mql_rate
from per_channel
