select
    id as usage_event_id,
    user_id,
    event as usage_event,
    cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at
from {{ source('product', 'usage_events') }}
