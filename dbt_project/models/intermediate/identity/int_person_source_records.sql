{#- Each resolved record with its person and the person-level fields its source holds, in one
    shape: what survivorship chooses from. -#}
with identity as (

    select * from {{ source('identity', 'identity_records') }}

),

fields as (

    select
        'salesforce_lead' as source, lead_id as source_id,
        first_name, last_name, email, phone, company, company_domain, title,
        street, city, state, postal_code, country, last_modified_at as updated_at
    from {{ ref('stg_salesforce__leads') }}

    union all

    select
        'salesforce_contact', contact_id,
        first_name, last_name, email, coalesce(phone, mobile_phone), null, company_domain, title,
        street, city, state, postal_code, country, system_modstamp_at
    from {{ ref('stg_salesforce__contacts') }}

    union all

    select
        'hubspot_contact', contact_id,
        first_name, last_name, email, phone, company, company_domain, title,
        street, city, state, postal_code, country, updated_at
    from {{ ref('stg_hubspot__contacts') }}

    union all

    select
        'partner_mail', imb_tracking,
        first_name, last_name, null, null, null, null, null,
        street, city, state, postal_code, 'US', cast(mailed_on as {{ dbt.type_timestamp() }})
    from {{ ref('stg_partners__mailed_records') }}

    union all

    select
        'product_user', cast(user_id as {{ dbt.type_string() }}),
        null, null, email, null, null, null, null,
        null, null, null, null, null, updated_at
    from {{ ref('stg_product__users') }}

)

select
    identity.person_id,
    identity.record_key,
    identity.source,
    identity.source_id,
    fields.first_name,
    fields.last_name,
    identity.email_key as email,
    identity.phone_e164,
    fields.phone as phone_raw,
    fields.company,
    fields.company_domain,
    fields.title,
    fields.street,
    fields.city,
    fields.state,
    fields.postal_code,
    fields.country,
    identity.created_at,
    coalesce(fields.updated_at, identity.created_at) as updated_at
from identity
inner join fields
    on fields.source = identity.source
    and cast(fields.source_id as {{ dbt.type_string() }}) = identity.source_id
