{#- The open actions as Salesforce Tasks, for the sync reverse_etl/specs/lead_actions_to_salesforce:
    one row per action that has a Lead or Contact to hang on, keyed by its idempotency key. An
    action that is executed or cancelled leaves this table, and the sync (on_removal: keep) leaves
    its task alone — a cancelled action never sent is never sent. -#}
select
    actions.action_key,
    actions.who_id,
    actions.salesforce_owner_id as owner_id,
    actions.subject,
    'Not Started' as status,
    actions.priority,
    cast(actions.due_at as date) as activity_date
from {{ ref('lead_actions') }} as actions
where actions.status = 'open'
    and actions.who_id is not null
