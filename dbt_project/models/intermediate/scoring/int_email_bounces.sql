{#- Every live CRM record whose email bounced, with the address it bounced on: Salesforce's
    bounce management (EmailBouncedReason / EmailBouncedDate on Lead and Contact) and HubSpot's
    hard-bounce category. A bounce is about one address, so fit scoring counts it only for a
    person whose golden email is that address (matched by email_key: no case, no plus tag). -#}
with bounced as (

    select 'salesforce_lead:' || lead_id as record_key, email, email_bounced_at as bounced_at,
        email_bounced_reason as bounce_reason
    from {{ ref('stg_salesforce__leads') }}
    where not is_deleted and (email_bounced_reason is not null or email_bounced_at is not null)

    union all

    select 'salesforce_contact:' || contact_id, email, email_bounced_at, email_bounced_reason
    from {{ ref('stg_salesforce__contacts') }}
    where not is_deleted and (email_bounced_reason is not null or email_bounced_at is not null)

    union all

    -- HubSpot keeps no bounce date on the contact: the category alone says it bounced.
    select 'hubspot_contact:' || contact_id, email, cast(null as {{ dbt.type_timestamp() }}),
        email_hard_bounce_reason
    from {{ ref('stg_hubspot__contacts') }}
    where not is_deleted and email_hard_bounce_reason is not null

)

select
    record_key,
    {{ email_match_key('email') }} as email_key,
    cast(bounced_at as {{ dbt.type_timestamp() }}) as bounced_at,
    coalesce(bounce_reason, 'bounced') as bounce_reason
from bounced
where email is not null
