with source as (

    select * from {{ source('partners', 'mailed_records') }}

)

select
    imb_tracking,
    imb_routing,
    partner,
    nullif(trim(first_name), '') as first_name,
    nullif(trim(last_name), '') as last_name,
    nullif(trim(street), '') as street,
    {{ normalized_street('street') }} as street_normalized,
    nullif(trim(city), '') as city,
    upper(nullif(trim(state), '')) as state,
    nullif(trim(postal_code), '') as postal_code,
    cast(loan_amount as {{ dbt.type_float() }}) as loan_amount,
    cast(rate as {{ dbt.type_float() }}) as rate,
    upper(nullif(trim(mailer_version), '')) as mailer_version,
    mailed_on,
    source_file,
    row_number as source_row
from source
