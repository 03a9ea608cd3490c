with source as (

    select * from {{ source('salesforce', 'opportunity') }}

),

renamed as (

    select
        id as opportunity_id,
        account_id,
        contact_id,
        nullif(trim(name), '') as opportunity_name,
        stage_name as stage,
        cast(amount as {{ dbt.type_float() }}) as amount,
        cast(probability as {{ dbt.type_float() }}) as probability,
        close_date,
        coalesce(is_closed, false) as is_closed,
        coalesce(is_won, false) as is_won,
        nullif(trim(lead_source), '') as lead_source,
        owner_id,
        coalesce(is_deleted, false) as is_deleted,
        created_date as created_at,
        system_modstamp as system_modstamp_at

    from source

)

select * from renamed
