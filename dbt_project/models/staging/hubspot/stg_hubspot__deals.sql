with source as (

    select * from {{ source('hubspot', 'deals') }}

)

select
    id as deal_id,
    nullif(trim(dealname), '') as deal_name,
    dealstage as stage,
    cast(amount as {{ dbt.type_float() }}) as amount,
    closedate as closed_at,
    dealstage in ('closedwon', 'closedlost') as is_closed,
    dealstage = 'closedwon' as is_won,
    nullif(associated_contacts, '') as associated_contact_ids,
    nullif(associated_companies, '') as associated_company_ids,
    coalesce(archived, false) as is_deleted,
    updated_at
from source
