{#- Salesforce field history of leads: when a tracked field changed (the value itself, an
    anyType, is not loaded: the record holds the current one). `created` rows mark leads
    created while tracking was on. -#}
with source as (

    select * from ({{ source_or_empty('salesforce', 'lead_history', {
        'id': dbt.type_string(),
        'is_deleted': dbt.type_boolean(),
        'lead_id': dbt.type_string(),
        'field': dbt.type_string(),
        'created_by_id': dbt.type_string(),
        'created_date': dbt.type_timestamp(),
    }) }}) as history

),

renamed as (

    select
        id as history_id,
        lead_id,
        field,
        created_by_id as changed_by_id,
        created_date as changed_at

    from source
    where not coalesce(is_deleted, false)

)

select * from renamed
