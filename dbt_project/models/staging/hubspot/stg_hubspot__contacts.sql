with source as (

    select * from {{ source('hubspot', 'contacts') }}

),

renamed as (

    select
        id as contact_id,
        nullif(trim(firstname), '') as first_name,
        nullif(trim(lastname), '') as last_name,
        {{ normalized_email('email') }} as email,
        {{ is_valid_email('email') }} as is_email_valid,
        {{ email_domain('email') }} as email_domain,
        {{ company_domain_from_email('email') }} as company_domain,
        nullif(trim(phone), '') as phone,
        nullif(trim(company), '') as company,
        nullif(trim(jobtitle), '') as title,
        nullif(trim(address), '') as street,
        {{ normalized_street('address') }} as street_normalized,
        nullif(trim(city), '') as city,
        {{ country_code('country') }} as country,
        nullif(trim(state), '') as state,
        nullif(trim(zip), '') as postal_code,
        lifecyclestage as lifecycle_stage,
        hs_lead_status as lead_status,
        coalesce(hs_email_optout, false) as has_opted_out_of_email,
        nullif(trim(hs_email_hard_bounce_reason_enum), '') as email_hard_bounce_reason,
        nullif(trim(salesforceleadid), '') as salesforce_lead_id,
        hubspot_owner_id as owner_id,
        nullif(associated_companies, '') as associated_company_ids,
        coalesce(archived, false) as is_deleted,
        created_at,
        updated_at

    from source

)

select * from renamed
