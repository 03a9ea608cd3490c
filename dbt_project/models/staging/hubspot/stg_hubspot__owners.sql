with source as (

    select * from {{ source('hubspot', 'owners') }}

)

select
    id as owner_id,
    {{ normalized_email('email') }} as email,
    nullif(trim(first_name), '') as first_name,
    nullif(trim(last_name), '') as last_name,
    coalesce(archived, false) as is_archived
from source
