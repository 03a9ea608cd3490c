with source as (

    select * from {{ source('salesforce', 'campaign') }}

)

select
    id as campaign_id,
    nullif(trim(name), '') as campaign_name,
    type as campaign_type,
    status,
    start_date,
    end_date,
    coalesce(is_active, false) as is_active,
    coalesce(is_deleted, false) as is_deleted,
    system_modstamp as system_modstamp_at
from source
