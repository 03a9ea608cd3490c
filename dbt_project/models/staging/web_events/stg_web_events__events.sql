with source as (

    select * from {{ source('web_events', 'events') }}

)

select
    event_id,
    event_type,
    occurred_at,
    {{ normalized_email('email') }} as email,
    {{ is_valid_email('email') }} as is_email_valid,
    anonymous_id,
    properties as properties_json,
    schema_version,
    source_file
from source
