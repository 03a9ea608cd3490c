with source as (

    select * from {{ source('salesforce', 'task') }}

),

renamed as (

    select
        id as task_id,
        who_id,
        what_id,
        case substr(who_id, 1, 3) when '00Q' then 'lead' when '003' then 'contact' end as who_type,
        nullif(trim(subject), '') as subject,
        status,
        priority,
        task_subtype,
        activity_date,
        owner_id,
        leadloop_task_key__c as leadloop_task_key,
        coalesce(is_deleted, false) as is_deleted,
        created_date as created_at,
        system_modstamp as system_modstamp_at

    from source

)

select * from renamed
