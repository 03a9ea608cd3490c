with source as (

    select * from {{ source('salesforce', 'campaign_member') }}

)

select
    id as campaign_member_id,
    campaign_id,
    lead_id,
    contact_id,
    status,
    coalesce(has_responded, false) as has_responded,
    first_responded_date,
    coalesce(is_deleted, false) as is_deleted,
    created_date as created_at,
    system_modstamp as system_modstamp_at
from source
