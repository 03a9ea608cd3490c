with source as (

    select * from {{ source('salesforce', 'contact') }}

),

renamed as (

    select
        id as contact_id,
        account_id,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        {{ normalized_email('email') }} as email,
        {{ is_valid_email('email') }} as is_email_valid,
        {{ email_domain('email') }} as email_domain,
        {{ company_domain_from_email('email') }} as company_domain,
        nullif(trim(phone), '') as phone,
        nullif(trim(mobile_phone), '') as mobile_phone,
        nullif(trim(title), '') as title,
        nullif(trim(lead_source), '') as lead_source,
        nullif(trim(mailing_street), '') as street,
        {{ normalized_street('mailing_street') }} as street_normalized,
        nullif(trim(mailing_city), '') as city,
        nullif(trim(mailing_state), '') as state,
        nullif(trim(mailing_postal_code), '') as postal_code,
        {{ country_code('mailing_country') }} as country,
        owner_id,
        coalesce(has_opted_out_of_email, false) as has_opted_out_of_email,
        coalesce(do_not_call, false) as do_not_call,
        nullif(trim(email_bounced_reason), '') as email_bounced_reason,
        email_bounced_date as email_bounced_at,
        coalesce(is_deleted, false) as is_deleted,
        created_date as created_at,
        system_modstamp as system_modstamp_at

    from source

)

select * from renamed
