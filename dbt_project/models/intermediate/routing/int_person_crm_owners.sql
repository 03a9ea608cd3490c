{#- Each person's current owner in the CRMs, when that owner is a real, active person (not the
    integration user, a queue or a deactivated user): Salesforce first (the owner of the
    person's newest live record there, contact or open lead), else HubSpot (the
    `hubspot_owner_id` of their newest live contact, an unarchived owner). Owners are matched to
    reps by login email (int_crm_users), so a HubSpot owner is the same rep routing deals to. -#}
with real_users as (

    {#- Salesforce user ids 005… are people (queues are 00G…); the var lists integration users. -#}
    select
        email,
        case when substr(salesforce_user_id, 1, 3) = '005' then salesforce_user_id end as salesforce_user_id,
        hubspot_owner_id
    from {{ ref('int_crm_users') }}
    where email is not null
        {%- for email in var('routing_integration_user_emails') %}
        and email <> '{{ email | lower }}'
        {%- endfor %}

),

salesforce_owner as (

    select person_id, owner_id, owner_email
    from (
        select
            records.person_id,
            records.owner_id,
            real_users.email as owner_email,
            row_number() over (
                partition by records.person_id
                order by records.created_at desc nulls last, records.record_id
            ) as recency
        from {{ ref('int_person_salesforce_records') }} as records
        inner join real_users on real_users.salesforce_user_id = records.owner_id
    ) as ranked
    where recency = 1

),

hubspot_owner as (

    select person_id, owner_id, owner_email
    from (
        select
            identity.person_id,
            contacts.owner_id,
            real_users.email as owner_email,
            row_number() over (
                partition by identity.person_id
                order by contacts.updated_at desc nulls last, contacts.contact_id
            ) as recency
        from {{ ref('stg_hubspot__contacts') }} as contacts
        inner join {{ source('identity', 'identity_records') }} as identity
            on identity.source = 'hubspot_contact' and identity.source_id = contacts.contact_id
        inner join real_users on real_users.hubspot_owner_id = contacts.owner_id
        where not contacts.is_deleted
    ) as ranked
    where recency = 1

),

owned as (

    select person_id from salesforce_owner
    union
    select person_id from hubspot_owner

)

select
    owned.person_id,
    coalesce(salesforce_owner.owner_email, hubspot_owner.owner_email) as owner_email,
    case when salesforce_owner.person_id is not null then 'salesforce' else 'hubspot' end as owner_source,
    salesforce_owner.owner_id as salesforce_owner_id,
    hubspot_owner.owner_id as hubspot_owner_id
from owned
left join salesforce_owner on salesforce_owner.person_id = owned.person_id
left join hubspot_owner on hubspot_owner.person_id = owned.person_id
