select
    id as account_id,
    nullif(trim(name), '') as account_name,
    lower(nullif(trim(domain), '')) as domain,
    plan,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('product', 'accounts') }}
