{#- Who can be routed to, per team: the members RevOps list in seed team_members who are active
    in a CRM (an active Salesforce User or an unarchived HubSpot owner, matched by email). The
    integration user and queues are never members, so they are never dealt leads; a rep who
    leaves drops out here and their people are re-routed. `seat` orders a team for round-robin. -#}
with members as (

    select team, lower(trim(user_email)) as owner_email from {{ ref('team_members') }}

)

select
    members.team,
    members.owner_email,
    users.salesforce_user_id,
    users.hubspot_owner_id,
    row_number() over (partition by members.team order by members.owner_email) as seat,
    count(*) over (partition by members.team) as team_size
from members
inner join {{ ref('int_crm_users') }} as users on users.email = members.owner_email
