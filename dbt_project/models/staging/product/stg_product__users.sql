select
    id as user_id,
    account_id,
    {{ normalized_email('email') }} as email,
    {{ is_valid_email('email') }} as is_email_valid,
    nullif(trim(name), '') as full_name,
    role,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at
from {{ source('product', 'users') }}
