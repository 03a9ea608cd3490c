{#- The lead funnel per lead source and campaign: lead -> MQL (score reached the threshold)
    -> SQL (sales converted the lead) -> opportunity (created from the conversion) -> won.
    A stage counts every lead that reached it or a later one (a lead sales converted without
    it ever scoring as an MQL did pass the MQL gate), so each rate is between 0 and 1. A lead in
    two campaigns counts in both; a lead in none is under '(no campaign)'. Days between two
    stages are taken over the leads with both dates. -#}
with leads as (

    select
        lead_id,
        coalesce(lead_source, '(none)') as lead_source,
        cast(created_at as {{ dbt.type_timestamp() }}) as lead_at,
        case when is_converted then cast(converted_date as {{ dbt.type_timestamp() }}) end as sql_at,
        case when is_converted then converted_opportunity_id end as opportunity_id
    from {{ ref('stg_salesforce__leads') }}
    where not is_deleted

),

memberships as (

    select distinct
        members.lead_id,
        coalesce(campaigns.campaign_name, members.campaign_id) as campaign_name
    from {{ ref('stg_salesforce__campaign_members') }} as members
    left join {{ ref('stg_salesforce__campaigns') }} as campaigns
        on campaigns.campaign_id = members.campaign_id
    where not members.is_deleted and members.lead_id is not null

),

opportunities as (

    select
        opportunity_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as opportunity_at,
        case when is_won then cast(close_date as {{ dbt.type_timestamp() }}) end as won_at
    from {{ ref('stg_salesforce__opportunities') }}
    where not is_deleted

),

stages as (

    select
        leads.lead_id,
        leads.lead_source,
        coalesce(memberships.campaign_name, '(no campaign)') as campaign_name,
        leads.lead_at,
        cast(scores.mql_at as {{ dbt.type_timestamp() }}) as mql_at,
        leads.sql_at,
        opportunities.opportunity_at,
        opportunities.won_at
    from leads
    left join memberships
        on memberships.lead_id = leads.lead_id
    left join {{ ref('salesforce_lead_scores') }} as scores
        on scores.lead_id = leads.lead_id and scores.is_mql
    left join opportunities
        on opportunities.opportunity_id = leads.opportunity_id

),

reached as (

    select
        *,
        won_at is not null as reached_won,
        won_at is not null or opportunity_at is not null as reached_opportunity,
        won_at is not null or opportunity_at is not null or sql_at is not null as reached_sql,
        won_at is not null or opportunity_at is not null or sql_at is not null or mql_at is not null as reached_mql
    from stages

),

counted as (

    select
        lead_source,
        campaign_name,
        count(*) as leads,
        sum(case when reached_mql then 1 else 0 end) as mqls,
        sum(case when reached_sql then 1 else 0 end) as sqls,
        sum(case when reached_opportunity then 1 else 0 end) as opportunities,
        sum(case when reached_won then 1 else 0 end) as won,
        {{ median(days_between('lead_at', 'mql_at')) }} as median_days_lead_to_mql,
        {{ median(days_between('mql_at', 'sql_at')) }} as median_days_mql_to_sql,
        {{ median(days_between('sql_at', 'opportunity_at')) }} as median_days_sql_to_opportunity,
        {{ median(days_between('opportunity_at', 'won_at')) }} as median_days_opportunity_to_won
    from reached
    group by lead_source, campaign_name

)

select
    lead_source,
    campaign_name,
    leads,
    mqls,
    sqls,
    opportunities,
    won,
    {{ rounded(share('mqls', 'leads')) }} as lead_to_mql_rate,
    {{ rounded(share('sqls', 'mqls')) }} as mql_to_sql_rate,
    {{ rounded(share('opportunities', 'sqls')) }} as sql_to_opportunity_rate,
    {{ rounded(share('won', 'opportunities')) }} as opportunity_to_won_rate,
    {{ rounded(share('won', 'leads')) }} as lead_to_won_rate,
    median_days_lead_to_mql,
    median_days_mql_to_sql,
    median_days_sql_to_opportunity,
    median_days_opportunity_to_won
from counted
