{#- The partner table appears with the first confirmation; until then this is empty. -#}
with source as (

    {{ source_or_empty('partners', 'delivery_confirmations', {
        'imb_tracking': dbt.type_string(),
        'imb_routing': dbt.type_string(),
        'delivered_at': dbt.type_timestamp(),
        'partner': dbt.type_string(),
        'source_file': dbt.type_string(),
        'row_number': dbt.type_bigint(),
    }) }}

)

select
    imb_tracking,
    imb_routing,
    partner,
    cast(delivered_at as {{ dbt.type_timestamp() }}) as delivered_at,
    source_file,
    row_number as source_row
from source
