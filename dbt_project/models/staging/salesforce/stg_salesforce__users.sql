with source as (

    select * from {{ source('salesforce', 'user') }}

)

select
    id as user_id,
    nullif(trim(first_name), '') as first_name,
    nullif(trim(last_name), '') as last_name,
    {{ normalized_email('email') }} as email,
    coalesce(is_active, false) as is_active
from source
