with source as (

    select * from {{ source('salesforce', 'lead') }}

),

renamed as (

    select
        id as lead_id,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(company), '') as company,
        {{ normalized_email('email') }} as email,
        {{ is_valid_email('email') }} as is_email_valid,
        {{ email_domain('email') }} as email_domain,
        {{ company_domain_from_email('email') }} as company_domain,
        nullif(trim(phone), '') as phone,
        nullif(trim(title), '') as title,
        nullif(trim(industry), '') as industry,
        nullif(trim(lead_source), '') as lead_source,
        status,
        rating,
        cast(number_of_employees as integer) as number_of_employees,
        cast(annual_revenue as {{ dbt.type_float() }}) as annual_revenue,
        owner_id,
        nullif(trim(street), '') as street,
        {{ normalized_street('street') }} as street_normalized,
        nullif(trim(city), '') as city,
        {{ country_code('country') }} as country,
        nullif(trim(state), '') as state,
        nullif(trim(postal_code), '') as postal_code,
        coalesce(is_converted, false) as is_converted,
        converted_date,
        converted_account_id,
        converted_contact_id,
        converted_opportunity_id,
        coalesce(has_opted_out_of_email, false) as has_opted_out_of_email,
        coalesce(do_not_call, false) as do_not_call,
        nullif(trim(email_bounced_reason), '') as email_bounced_reason,
        email_bounced_date as email_bounced_at,
        coalesce(is_deleted, false) as is_deleted,
        created_date as created_at,
        last_modified_date as last_modified_at,
        system_modstamp as system_modstamp_at

    from source

)

select * from renamed
