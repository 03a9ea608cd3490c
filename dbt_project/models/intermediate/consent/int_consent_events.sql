{#- Every consent signal, per person and channel: the CRMs' opt-out flags (as of the record's
    last change) and the web tracker's explicit opt-ins and unsubscribes. A CRM flag that is
    off is the field's default, not a decision, so it is no event: an opt-in needs an act. -#}
with records as (

    select record_key, person_id from {{ source('identity', 'identity_records') }}

),

crm_flags as (

    select 'salesforce_lead:' || lead_id as record_key, 'email' as channel, last_modified_at as occurred_at,
        'salesforce_lead' as source, lead_id as evidence_id
    from {{ ref('stg_salesforce__leads') }}
    where has_opted_out_of_email

    union all

    select 'salesforce_lead:' || lead_id, 'phone', last_modified_at, 'salesforce_lead', lead_id
    from {{ ref('stg_salesforce__leads') }}
    where do_not_call

    union all

    select 'salesforce_contact:' || contact_id, 'email', system_modstamp_at, 'salesforce_contact', contact_id
    from {{ ref('stg_salesforce__contacts') }}
    where has_opted_out_of_email

    union all

    select 'salesforce_contact:' || contact_id, 'phone', system_modstamp_at, 'salesforce_contact', contact_id
    from {{ ref('stg_salesforce__contacts') }}
    where do_not_call

    union all

    select 'hubspot_contact:' || contact_id, 'email', updated_at, 'hubspot_contact', contact_id
    from {{ ref('stg_hubspot__contacts') }}
    where has_opted_out_of_email

),

web as (

    select
        {{ email_match_key('email') }} as email_key,
        occurred_at,
        event_id,
        {{ json_text('properties_json', 'action') }} as action,
        {{ json_text('properties_json', 'consent_text_version') }} as consent_text_version
    from {{ ref('stg_web_events__events') }}
    where event_type = 'consent' and email is not null

),

-- Web events carry only an email: the person is whoever's records hold it.
email_owners as (

    select email_key, min(person_id) as person_id
    from {{ source('identity', 'identity_records') }}
    where email_key is not null
    group by email_key
    having count(distinct person_id) = 1

)

select
    records.person_id,
    crm_flags.channel,
    'opted_out' as state,
    cast(crm_flags.occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
    crm_flags.source,
    crm_flags.evidence_id,
    cast(null as {{ dbt.type_string() }}) as consent_text_version
from crm_flags
inner join records on records.record_key = crm_flags.record_key

union all

select
    email_owners.person_id,
    'email',
    case web.action when 'unsubscribe' then 'opted_out' else 'opted_in' end,
    cast(web.occurred_at as {{ dbt.type_timestamp() }}),
    'web_events',
    web.event_id,
    web.consent_text_version
from web
inner join email_owners on email_owners.email_key = web.email_key
where web.action in ('opt_in', 'unsubscribe')
