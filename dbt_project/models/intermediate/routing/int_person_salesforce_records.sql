{#- Each person's live Salesforce records that can carry an owner and a task: contacts, and
    leads not converted (a converted lead's life continues on its contact). A lead identity has
    not resolved yet is its own person (`salesforce_lead:<id>`, as scoring names it).
    `is_preferred` marks the one a person's tasks hang on (a Task's WhoId): the newest contact,
    else the newest open lead. -#}
with identity as (

    select person_id, source, source_id from {{ source('identity', 'identity_records') }}

),

records as (

    select
        identity.person_id,
        'contact' as record_type,
        contacts.contact_id as record_id,
        contacts.owner_id,
        contacts.created_at,
        1 as preference
    from {{ ref('stg_salesforce__contacts') }} as contacts
    inner join identity
        on identity.source = 'salesforce_contact' and identity.source_id = contacts.contact_id
    where not contacts.is_deleted

    union all

    select
        coalesce(identity.person_id, 'salesforce_lead:' || leads.lead_id),
        'lead',
        leads.lead_id,
        leads.owner_id,
        leads.created_at,
        2
    from {{ ref('stg_salesforce__leads') }} as leads
    left join identity
        on identity.source = 'salesforce_lead' and identity.source_id = leads.lead_id
    where not leads.is_deleted and not leads.is_converted

)

select
    person_id,
    record_type,
    record_id,
    owner_id,
    created_at,
    row_number() over (
        partition by person_id order by preference, created_at desc nulls last, record_id
    ) = 1 as is_preferred
from records
