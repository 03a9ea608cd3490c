{#- The owner routing's rules chose, for each live HubSpot contact that is Leadloop's to assign,
    for the sync reverse_etl/specs/contact_owners_to_hubspot (`hubspot_owner_id`). As for
    Salesforce leads (salesforce_lead_owners): only people the rules routed, only contacts
    without a real owner (none, an archived owner, the integration user), never one a person
    owns, and none already owned by the chosen rep. -#}
with routed as (

    select person_id, hubspot_owner_id
    from {{ ref('lead_routing') }}
    where routing_method in ('round_robin', 'sticky', 'account')
        and hubspot_owner_id is not null

),

real_owners as (

    select hubspot_owner_id
    from {{ ref('int_crm_users') }}
    where hubspot_owner_id is not null
        {%- for email in var('routing_integration_user_emails') %}
        and email <> '{{ email | lower }}'
        {%- endfor %}

)

select
    contacts.contact_id,
    routed.hubspot_owner_id
from {{ ref('stg_hubspot__contacts') }} as contacts
inner join {{ source('identity', 'identity_records') }} as identity
    on identity.source = 'hubspot_contact' and identity.source_id = contacts.contact_id
inner join routed on routed.person_id = identity.person_id
where not contacts.is_deleted
    and (
        contacts.owner_id is null
        or contacts.owner_id not in (select hubspot_owner_id from real_owners)
    )
