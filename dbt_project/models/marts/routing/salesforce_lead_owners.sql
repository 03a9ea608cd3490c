{#- The owner routing's rules chose, for each Salesforce lead that is Leadloop's to assign, for
    the sync reverse_etl/specs/lead_owners_to_salesforce (Lead.OwnerId). Only people the rules
    routed (round robin, sticky, account owner), and only their live open leads that have no
    real owner: a lead owned by an active person (a rep, or the owner a rep reassigned it to)
    is never moved; routing keeps that owner. A lead whose owner is already the chosen one is
    left out, so nothing is written twice. After the sync, bronze still shows the old owner
    (it does not reload the sync's own writes), so the row stays and the planner, which diffs
    against what Salesforce confirmed, sends nothing; a rep's later reassignment loads, the
    lead leaves this table and the sync (on_removal: keep) forgets it. -#}
with routed as (

    select person_id, salesforce_user_id
    from {{ ref('lead_routing') }}
    where routing_method in ('round_robin', 'sticky', 'account')
        and salesforce_user_id is not null

),

real_owners as (

    {#- Active Salesforce users who are people (005…, not a queue's 00G…), not integration users. -#}
    select salesforce_user_id
    from {{ ref('int_crm_users') }}
    where substr(salesforce_user_id, 1, 3) = '005'
        {%- for email in var('routing_integration_user_emails') %}
        and email <> '{{ email | lower }}'
        {%- endfor %}

)

select
    records.record_id as lead_id,
    routed.salesforce_user_id as owner_id
from {{ ref('int_person_salesforce_records') }} as records
inner join routed on routed.person_id = records.person_id
where records.record_type = 'lead'
    and (
        records.owner_id is null
        or records.owner_id not in (select salesforce_user_id from real_owners)
    )
