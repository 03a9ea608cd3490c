{{ config(meta={"dagster": {"ref": {"name": "lead_actions"}}}) }}
{#- Blocking: an open action for a person opted out of the action's channel, or for a person
    no longer scored (erased), must never reach the CRM. Any row here fails the build before the
    task sync runs. -#}
select actions.action_key, actions.person_id, actions.channel
from {{ ref('lead_actions') }} as actions
left join {{ ref('lead_scores') }} as scores on scores.person_id = actions.person_id
where actions.status = 'open'
    and (
        scores.person_id is null
        or not case actions.channel
            when 'email' then scores.can_contact_email
            when 'phone' then scores.can_contact_phone
            when 'mail' then scores.can_contact_mail
        end
    )
