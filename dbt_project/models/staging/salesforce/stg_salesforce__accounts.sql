with source as (

    select * from {{ source('salesforce', 'account') }}

),

renamed as (

    select
        id as account_id,
        nullif(trim(name), '') as account_name,
        {{ website_domain('website') }} as domain,
        nullif(trim(industry), '') as industry,
        type as account_type,
        cast(number_of_employees as integer) as number_of_employees,
        cast(annual_revenue as {{ dbt.type_float() }}) as annual_revenue,
        nullif(trim(billing_state), '') as state,
        {{ country_code('billing_country') }} as country,
        owner_id,
        coalesce(is_deleted, false) as is_deleted,
        created_date as created_at,
        system_modstamp as system_modstamp_at

    from source

)

select * from renamed
