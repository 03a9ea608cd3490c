{#- Every action Leadloop has asked for, with its status: `open` (its trigger holds and no CRM
    task carries its key yet), `executed` (a Salesforce task with its key exists: the sync made
    it), `cancelled` (the trigger went away — touched, opted out, score fell back — before it was
    executed; it is never sent). `action_key` is deterministic (action type + a hash of person,
    action type and trigger event), so the sync's insert_once on Leadloop_Task_Key__c creates
    at most one task per action, even across crashed runs.

    Incremental: a cancelled action is one that was open last run and has no trigger now, so the
    previous run's rows are state. People no longer scored (erased) lose their actions. -#}
{{ config(
    materialized='incremental',
    unique_key='action_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="delete from {{ this }} where person_id not in (select person_id from {{ ref('lead_scores') }})"
) }}

with triggers as (

    select * from {{ ref('int_action_triggers') }}

),

previous as (

    {% if is_incremental() %}
    select * from {{ this }}
    {% else %}
    select * from (
        select
            {% for column in ['action_key', 'person_id', 'action_type', 'trigger', 'trigger_event', 'channel',
                              'subject', 'priority', 'status', 'owner_email', 'salesforce_owner_id', 'who_id'] %}
            cast(null as {{ dbt.type_string() }}) as {{ column }},
            {% endfor %}
            cast(null as {{ dbt.type_timestamp() }}) as due_at,
            cast(null as {{ dbt.type_timestamp() }}) as first_triggered_as_of,
            cast(null as {{ dbt.type_timestamp() }}) as status_as_of
    ) as nothing
    where 1 = 0
    {% endif %}

),

executed as (

    select distinct leadloop_task_key as action_key
    from {{ ref('stg_salesforce__tasks') }}
    where leadloop_task_key is not null and not is_deleted

),

routing as (

    select person_id, owner_email, salesforce_user_id, routed_as_of from {{ ref('lead_routing') }}

),

as_of as (

    select max(scored_as_of) as reference_time from {{ ref('lead_scores') }}

),

current_actions as (

    select
        triggers.action_key,
        triggers.person_id,
        triggers.action_type,
        triggers.trigger,
        triggers.trigger_event,
        triggers.channel,
        triggers.subject,
        triggers.priority,
        routing.owner_email,
        routing.salesforce_user_id as salesforce_owner_id,
        who.record_id as who_id,
        triggers.due_at
    from triggers
    left join routing on routing.person_id = triggers.person_id
    left join {{ ref('int_person_salesforce_records') }} as who
        on who.person_id = triggers.person_id and who.is_preferred

),

merged as (

    select
        coalesce(current_actions.action_key, previous.action_key) as action_key,
        coalesce(current_actions.person_id, previous.person_id) as person_id,
        coalesce(current_actions.action_type, previous.action_type) as action_type,
        coalesce(current_actions.trigger, previous.trigger) as trigger,
        coalesce(current_actions.trigger_event, previous.trigger_event) as trigger_event,
        coalesce(current_actions.channel, previous.channel) as channel,
        coalesce(current_actions.subject, previous.subject) as subject,
        coalesce(current_actions.priority, previous.priority) as priority,
        case
            when executed.action_key is not null then 'executed'
            when current_actions.action_key is not null then 'open'
            else 'cancelled'
        end as status,
        case when current_actions.action_key is not null then current_actions.owner_email else previous.owner_email end
            as owner_email,
        case
            when current_actions.action_key is not null then current_actions.salesforce_owner_id
            else previous.salesforce_owner_id
        end as salesforce_owner_id,
        coalesce(current_actions.who_id, previous.who_id) as who_id,
        case when current_actions.action_key is not null then current_actions.due_at else previous.due_at end as due_at,
        coalesce(previous.first_triggered_as_of, as_of.reference_time) as first_triggered_as_of,
        previous.status as previous_status,
        previous.status_as_of as previous_status_as_of,
        as_of.reference_time
    from current_actions
    full outer join previous on previous.action_key = current_actions.action_key
    left join executed on executed.action_key = coalesce(current_actions.action_key, previous.action_key)
    cross join as_of

)

select
    action_key,
    person_id,
    action_type,
    trigger,
    trigger_event,
    channel,
    subject,
    priority,
    status,
    owner_email,
    salesforce_owner_id,
    who_id,
    due_at,
    first_triggered_as_of,
    case when status = previous_status then previous_status_as_of else reference_time end as status_as_of
from merged
