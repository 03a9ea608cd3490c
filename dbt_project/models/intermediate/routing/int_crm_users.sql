{#- The CRM users that can own people, by login email: the active Salesforce User id and the
    unarchived HubSpot owner id of each (either may be missing). Routing joins reps by email, so
    one rep is one row whichever CRM a person lives in. -#}
with salesforce_users as (

    select email, min(user_id) as user_id
    from {{ ref('stg_salesforce__users') }}
    where is_active and email is not null
    group by email

),

hubspot_owners as (

    select email, min(owner_id) as owner_id
    from {{ ref('stg_hubspot__owners') }}
    where not is_archived and email is not null
    group by email

)

select
    coalesce(salesforce_users.email, hubspot_owners.email) as email,
    salesforce_users.user_id as salesforce_user_id,
    hubspot_owners.owner_id as hubspot_owner_id
from salesforce_users
full outer join hubspot_owners on hubspot_owners.email = salesforce_users.email
