{#- Who owns each person, why, and by when an MQL must be touched. Precedence: the owner of the
    person's company account; else their current CRM owner when that is a real, active person
    (Salesforce's, else the HubSpot contact's `hubspot_owner_id`);
    else, when the territory cannot be decided, the default queue with the reason; else the
    owner this model gave them last run (sticky) while their territory is unchanged and that
    owner is still on the team; else the next seat of a balanced round-robin over the team's
    active reps (the least-loaded first). A change of owner says why in `routing_reason`.

    Incremental, because stickiness needs the previous run's answer: `{{ this }}` is that state,
    read before it is replaced (every person's row is rewritten each run, delete+insert on
    person_id; people no longer scored are deleted by the post-hook). A snapshot would keep
    every past version, which nothing reads; a full refresh forgets the round-robin deals, the
    CRM-owned and account-owned people stay where they are. No wall-clock column: an unchanged
    input rebuilds identical rows. -#}
{{ config(
    materialized='incremental',
    unique_key='person_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook="delete from {{ this }} where person_id not in (select person_id from {{ ref('lead_scores') }})"
) }}

with subjects as (

    select * from {{ ref('int_routing_subjects') }}

),

territories as (

    select * from {{ ref('int_routing_territories') }}

),

roster as (

    select * from {{ ref('int_routing_roster') }}

),

previous as (

    {% if is_incremental() %}
    select person_id, team, owner_email, queue, routing_method, owner_since from {{ this }}
    {% else %}
    select
        cast(null as {{ dbt.type_string() }}) as person_id,
        cast(null as {{ dbt.type_string() }}) as team,
        cast(null as {{ dbt.type_string() }}) as owner_email,
        cast(null as {{ dbt.type_string() }}) as queue,
        cast(null as {{ dbt.type_string() }}) as routing_method,
        cast(null as {{ dbt.type_timestamp() }}) as owner_since
    where 1 = 0
    {% endif %}

),

decided as (

    select
        subjects.*,
        territories.team,
        territories.territory_rule_id,
        territories.segment,
        territories.unroutable_reason,
        previous.team as previous_team,
        previous.owner_email as previous_owner_email,
        previous.queue as previous_queue,
        previous.owner_since as previous_owner_since,
        exists (
            select 1 from roster
            where roster.team = territories.team and roster.owner_email = previous.owner_email
        ) as previous_owner_on_team,
        case
            when subjects.account_owner_email is not null then 'account'
            when subjects.crm_owner_email is not null then 'crm_owner'
            when territories.unroutable_reason is not null then 'queue'
            when previous.routing_method in ('round_robin', 'sticky')
                and previous.team = territories.team
                and exists (
                    select 1 from roster
                    where roster.team = territories.team and roster.owner_email = previous.owner_email
                )
                then 'sticky'
            when exists (select 1 from roster where roster.team = territories.team) then 'round_robin'
            else 'queue'
        end as routing_method
    from subjects
    inner join territories on territories.person_id = subjects.person_id
    left join previous on previous.person_id = subjects.person_id

),

kept_load as (

    select team, previous_owner_email as owner_email, count(*) as kept
    from decided
    where routing_method = 'sticky'
    group by team, previous_owner_email

),

turns as (

    {#- The order a team deals new people in: least loaded first, then by email. -#}
    select
        roster.team,
        roster.owner_email,
        roster.team_size,
        row_number() over (
            partition by roster.team order by coalesce(kept_load.kept, 0), roster.owner_email
        ) as turn
    from roster
    left join kept_load
        on kept_load.team = roster.team and kept_load.owner_email = roster.owner_email

),

dealt as (

    select
        decided.person_id,
        decided.team,
        row_number() over (partition by decided.team order by decided.person_id) as position
    from decided
    where decided.routing_method = 'round_robin'

),

assigned as (

    select
        decided.*,
        case decided.routing_method
            when 'account' then decided.account_owner_email
            when 'crm_owner' then decided.crm_owner_email
            when 'sticky' then decided.previous_owner_email
            when 'round_robin' then turns.owner_email
        end as owner_email,
        case
            when decided.routing_method = 'queue'
                then coalesce(settings.default_queue, '{{ var("routing_default_queue") }}')
        end as queue
    from decided
    left join dealt on dealt.person_id = decided.person_id
    left join turns
        on turns.team = dealt.team
        and turns.turn = ((dealt.position - 1) % turns.team_size) + 1
    left join {{ ref('team_settings') }} as settings on settings.team = decided.team

),

explained as (

    select
        assigned.*,
        case
            when assigned.routing_method = 'queue'
                then coalesce(assigned.unroutable_reason, 'unroutable: no active rep in ' || assigned.team)
            when assigned.previous_owner_email is not null
                and assigned.previous_owner_email <> assigned.owner_email
                and assigned.previous_team <> assigned.team
                then 'reassigned: territory changed from ' || assigned.previous_team || ' to ' || assigned.team
            when assigned.previous_owner_email is not null
                and assigned.previous_owner_email <> assigned.owner_email
                and not assigned.previous_owner_on_team
                and assigned.routing_method = 'round_robin'
                then 'reassigned: previous owner no longer active in ' || assigned.team
            when assigned.routing_method = 'account' then 'account owner of ' || assigned.company_domain
            when assigned.routing_method = 'crm_owner' and assigned.crm_owner_source = 'hubspot'
                then 'kept: owner in HubSpot'
            when assigned.routing_method = 'crm_owner' then 'kept: owner in the CRM'
            when assigned.routing_method = 'sticky' then 'kept: routed to this owner before'
            else 'round robin in ' || assigned.team || ' (rule ' || assigned.territory_rule_id || ')'
        end as routing_reason
    from assigned

)

select
    explained.person_id,
    explained.grade,
    explained.score,
    explained.is_mql,
    explained.mql_at,
    explained.team,
    explained.territory_rule_id,
    explained.segment,
    explained.routing_method,
    explained.owner_email,
    users.salesforce_user_id,
    users.hubspot_owner_id,
    explained.queue,
    explained.routing_reason,
    explained.previous_owner_email,
    case
        when coalesce(explained.owner_email, 'queue:' || explained.queue)
            = coalesce(explained.previous_owner_email, 'queue:' || explained.previous_queue)
            then explained.previous_owner_since
        else explained.scored_as_of
    end as owner_since,
    explained.industry_source,
    explained.industry_confidence,
    explained.industry_model_version,
    sla.sla_business_minutes,
    case
        when explained.is_mql and sla.sla_business_minutes is not null then
            {{ business_due_at('explained.mql_at', 'settings.time_zone', 'settings.business_start_hour',
                               'settings.business_end_hour', 'sla.sla_business_minutes') }}
    end as due_at,
    explained.scored_as_of as routed_as_of
from explained
left join {{ ref('int_crm_users') }} as users on users.email = explained.owner_email
left join {{ ref('team_settings') }} as settings
    on settings.team = coalesce(explained.team, '{{ var("routing_default_queue") }}')
left join {{ ref('sla_rules') }} as sla on sla.grade = explained.grade
