{#- Every consent signal, per person and channel: the CRMs' opt-out flags and the web tracker's
    explicit opt-ins and unsubscribes. A CRM flag that is off is the field's default, not a
    decision, so it is no event: an opt-in needs an act.

    A CRM flag is dated by when it last changed (Salesforce field history), not by the record's
    modification time, which every later edit moves (our own score syncs' included) and which
    would make an old opt-out look newer than a later web opt-in. Without a change on record:
    a record created while history was tracked has held the flag since its creation; only a
    record with no history at all falls back to its modification time. `dated_by` says which.
    HubSpot's property history is not loaded yet: its flag is dated by modification time. -#}
with records as (

    select record_key, person_id from {{ source('identity', 'identity_records') }}

),

salesforce_flags as (

    select 'salesforce_lead' as source, lead_id as record_id, 'email' as channel,
        'HasOptedOutOfEmail' as field, last_modified_at as modified_at
    from {{ ref('stg_salesforce__leads') }}
    where has_opted_out_of_email

    union all

    select 'salesforce_lead', lead_id, 'phone', 'DoNotCall', last_modified_at
    from {{ ref('stg_salesforce__leads') }}
    where do_not_call

    union all

    select 'salesforce_contact', contact_id, 'email', 'HasOptedOutOfEmail', system_modstamp_at
    from {{ ref('stg_salesforce__contacts') }}
    where has_opted_out_of_email

    union all

    select 'salesforce_contact', contact_id, 'phone', 'DoNotCall', system_modstamp_at
    from {{ ref('stg_salesforce__contacts') }}
    where do_not_call

),

-- The latest change of each tracked field per record (`created`: when the record was created).
history as (

    select 'salesforce_lead' as source, lead_id as record_id, field, max(changed_at) as changed_at
    from {{ ref('stg_salesforce__lead_history') }}
    group by lead_id, field

    union all

    select 'salesforce_contact', contact_id, field, max(changed_at)
    from {{ ref('stg_salesforce__contact_history') }}
    group by contact_id, field

),

crm_flags as (

    select
        flags.source || ':' || flags.record_id as record_key,
        flags.channel,
        coalesce(changed.changed_at, created.changed_at, flags.modified_at) as occurred_at,
        case
            when changed.changed_at is not null then 'field_history'
            when created.changed_at is not null then 'record_created'
            else 'record_modified'
        end as dated_by,
        flags.source,
        flags.record_id as evidence_id
    from salesforce_flags as flags
    left join history as changed
        on changed.source = flags.source
        and changed.record_id = flags.record_id
        and changed.field = flags.field
    left join history as created
        on created.source = flags.source
        and created.record_id = flags.record_id
        and created.field = 'created'

    union all

    select 'hubspot_contact:' || contact_id, 'email', updated_at, 'record_modified', 'hubspot_contact', contact_id
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
    cast(null as {{ dbt.type_string() }}) as consent_text_version,
    crm_flags.dated_by
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
    web.consent_text_version,
    'event'
from web
inner join email_owners on email_owners.email_key = web.email_key
where web.action in ('opt_in', 'unsubscribe')
