{#- Every engagement signal of every scored person, in one shape (person, kind, detail, time):
    what engagement rules match. Web events reach a person by email, or by a browser cookie
    that an identified event (a form, a demo request) tied to an email, and each day with any
    of them but an email open is one website active day; product usage by the product user,
    mailer callbacks by the mailed record, campaigns by the lead or contact. -#}
with subject_records as (

    select record_key, person_id from {{ source('identity', 'identity_records') }}
    union all
    select person_id, person_id from {{ ref('int_scoring_subjects') }}
    where scored_from = 'lead_record'

),

subject_emails as (

    select email_key as email, min(person_id) as person_id
    from {{ source('identity', 'identity_records') }}
    where email_key is not null
    group by email_key
    union all
    select email, person_id from {{ ref('int_scoring_subjects') }}
    where scored_from = 'lead_record' and email is not null
        and email not in (select email_key from {{ source('identity', 'identity_records') }} where email_key is not null)

),

web as (

    select
        event_id,
        event_type,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        {{ email_match_key('email') }} as email,
        anonymous_id,
        properties_json
    from {{ ref('stg_web_events__events') }}

),

cookies as (

    select anonymous_id, email
    from (
        select
            anonymous_id,
            email,
            row_number() over (partition by anonymous_id order by occurred_at, event_id) as nth
        from web
        where anonymous_id is not null and email is not null
    ) as identified
    where nth = 1

),

web_signals as (

    select
        subject_emails.person_id,
        web.event_type as event_kind,
        case web.event_type
            when 'page_view' then {{ json_text('web.properties_json', 'path') }}
            when 'email_click' then {{ json_text('web.properties_json', 'url') }}
        end as detail,
        web.occurred_at,
        'web:' || web.event_id as evidence_id
    from web
    left join cookies
        on cookies.anonymous_id = web.anonymous_id
    inner join subject_emails
        on subject_emails.email = coalesce(web.email, cookies.email)
    where web.event_type <> 'consent'

),

web_days as (

    {#- A day on the website, whatever was done there: how often someone comes back says as
        much about intent as what they read. An email open is not a visit. -#}
    select
        person_id,
        'web_active_day' as event_kind,
        cast(null as {{ dbt.type_string() }}) as detail,
        cast({{ dbt.date_trunc('day', 'occurred_at') }} as {{ dbt.type_timestamp() }}) as occurred_at,
        'web_day:' || cast(cast({{ dbt.date_trunc('day', 'occurred_at') }} as date) as {{ dbt.type_string() }})
            as evidence_id
    from web_signals
    where event_kind <> 'email_open'
    group by person_id, {{ dbt.date_trunc('day', 'occurred_at') }}

),

product_users as (

    select subject_records.person_id, users.user_id, users.created_at
    from {{ ref('stg_product__users') }} as users
    inner join subject_records
        on subject_records.record_key = 'product_user:' || cast(users.user_id as {{ dbt.type_string() }})

),

usage as (

    select product_users.person_id, usage.usage_event_id, usage.usage_event, usage.occurred_at
    from {{ ref('stg_product__usage_events') }} as usage
    inner join product_users
        on product_users.user_id = usage.user_id

),

product_signals as (

    select
        person_id,
        'product_signup' as event_kind,
        cast(null as {{ dbt.type_string() }}) as detail,
        cast(created_at as {{ dbt.type_timestamp() }}) as occurred_at,
        'product_user:' || cast(user_id as {{ dbt.type_string() }}) as evidence_id
    from product_users

    union all

    select
        person_id,
        'product_usage',
        usage_event,
        cast(occurred_at as {{ dbt.type_timestamp() }}),
        'product_usage:' || cast(usage_event_id as {{ dbt.type_string() }})
    from usage

    union all

    select
        person_id,
        'product_active_day',
        cast(null as {{ dbt.type_string() }}),
        cast({{ dbt.date_trunc('day', 'occurred_at') }} as {{ dbt.type_timestamp() }}),
        'product_day:' || cast(cast({{ dbt.date_trunc('day', 'occurred_at') }} as date) as {{ dbt.type_string() }})
    from usage
    group by person_id, {{ dbt.date_trunc('day', 'occurred_at') }}

),

mail_signals as (

    select
        subject_records.person_id,
        'mail_callback' as event_kind,
        callbacks.ivr_option as detail,
        callbacks.called_at as occurred_at,
        'callback:' || callbacks.imb_tracking || ':' || cast(callbacks.source_row as {{ dbt.type_string() }})
            as evidence_id
    from {{ ref('stg_partners__callbacks') }} as callbacks
    inner join subject_records
        on subject_records.record_key = 'partner_mail:' || callbacks.imb_tracking

),

members as (

    select
        subject_records.person_id,
        members.campaign_member_id,
        members.has_responded,
        cast(members.first_responded_date as {{ dbt.type_timestamp() }}) as responded_at,
        cast(members.created_at as {{ dbt.type_timestamp() }}) as created_at
    from {{ ref('stg_salesforce__campaign_members') }} as members
    inner join subject_records
        on subject_records.record_key = case
            when members.lead_id is not null then 'salesforce_lead:' || members.lead_id
            else 'salesforce_contact:' || members.contact_id
        end
    where not members.is_deleted

),

campaign_signals as (

    select
        person_id,
        'campaign_member' as event_kind,
        cast(null as {{ dbt.type_string() }}) as detail,
        created_at as occurred_at,
        'campaign_member:' || campaign_member_id as evidence_id
    from members

    union all

    select
        person_id,
        'campaign_response',
        cast(null as {{ dbt.type_string() }}),
        coalesce(responded_at, created_at),
        'campaign_response:' || campaign_member_id
    from members
    where has_responded

)

select person_id, event_kind, detail, occurred_at, evidence_id from web_signals
union all
select person_id, event_kind, detail, occurred_at, evidence_id from web_days
union all
select person_id, event_kind, detail, occurred_at, evidence_id from product_signals
union all
select person_id, event_kind, detail, occurred_at, evidence_id from mail_signals
union all
select person_id, event_kind, detail, occurred_at, evidence_id from campaign_signals
