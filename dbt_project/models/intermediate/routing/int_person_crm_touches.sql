{#- Every CRM touch of a person: a Salesforce task (call, email, to-do) on one of their leads or
    contacts, created by a rep. Tasks Leadloop itself created (they carry an action key) are not
    touches: a follow-up we asked for is not the follow-up. Speed-to-lead and the
    "untouched MQL" action read first touches from here. -#}
with identity as (

    select person_id, source, source_id from {{ source('identity', 'identity_records') }}

)

select
    coalesce(
        identity.person_id,
        case when tasks.who_type = 'lead' then 'salesforce_lead:' || tasks.who_id end
    ) as person_id,
    tasks.task_id,
    tasks.task_subtype,
    tasks.created_at as touched_at
from {{ ref('stg_salesforce__tasks') }} as tasks
left join identity
    on identity.source_id = tasks.who_id
    and identity.source = case tasks.who_type when 'lead' then 'salesforce_lead' else 'salesforce_contact' end
where not tasks.is_deleted
    and tasks.leadloop_task_key is null
    and tasks.who_id is not null
