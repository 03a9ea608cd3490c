{#- Calls to a mailer's tracked number; the table appears with the first call. -#}
with source as (

    {{ source_or_empty('partners', 'callbacks', {
        'imb_tracking': dbt.type_string(),
        'caller_phone': dbt.type_string(),
        'called_at': dbt.type_timestamp(),
        'duration_seconds': dbt.type_bigint(),
        'ivr_option': dbt.type_string(),
        'partner': dbt.type_string(),
        'source_file': dbt.type_string(),
        'row_number': dbt.type_bigint(),
    }) }}

)

select
    imb_tracking,
    partner,
    nullif(trim(caller_phone), '') as caller_phone,
    cast(called_at as {{ dbt.type_timestamp() }}) as called_at,
    cast(duration_seconds as integer) as duration_seconds,
    nullif(trim(ivr_option), '') as ivr_option,
    source_file,
    row_number as source_row
from source
