{#- Everyone with a score, with what routing decides on: territory attributes (country, industry,
    employees; an industry the records lack comes from the fallback classifier when its
    confidence reaches `routing_min_confidence`, and a rejected guess keeps its confidence for
    the queue's reason), the person's current CRM owner when that is a real, active person (not
    the integration user, a queue or a deactivated user), and the owner of their company's
    account. -#}
with scores as (

    select person_id, grade, score, is_mql, mql_at, scored_as_of from {{ ref('lead_scores') }}

),

subjects as (

    select person_id, country, industry, number_of_employees, email_domain, email_type
    from {{ ref('int_scoring_subjects') }}

),

people as (

    select person_id, company_domain from {{ ref('int_people') }}

),

real_users as (

    {#- An owner id a person can keep: an active Salesforce user (ids 005…; queues are 00G…),
        not one of the integration users the var lists. -#}
    select salesforce_user_id as user_id, email
    from {{ ref('int_crm_users') }}
    where substr(salesforce_user_id, 1, 3) = '005'
        {%- for email in var('routing_integration_user_emails') %}
        and email <> '{{ email | lower }}'
        {%- endfor %}

),

crm_owner as (

    {#- A real, active owner in Salesforce, else in HubSpot (int_person_crm_owners). -#}
    select person_id, salesforce_owner_id as owner_id, owner_email, owner_source
    from {{ ref('int_person_crm_owners') }}

),

account_owner as (

    {#- The company's account: the oldest live Salesforce account at the domain whose owner is a
        real active user. -#}
    select domain, owner_email
    from (
        select
            accounts.domain,
            real_users.email as owner_email,
            row_number() over (
                partition by accounts.domain order by accounts.created_at, accounts.account_id
            ) as age_rank
        from {{ ref('stg_salesforce__accounts') }} as accounts
        inner join real_users on real_users.user_id = accounts.owner_id
        where not accounts.is_deleted and accounts.domain is not null
    ) as ranked
    where age_rank = 1

),

classified as (

    {#- Typed here, not by whichever of the table or its empty stand-in exists: the incremental
        lead_routing above must see the same column types before and after the first run. -#}
    select person_id, label, cast(confidence as double precision) as confidence, model_version
    from ({{ source_or_empty('routing', 'routing_classifications', {
        'person_id': dbt.type_string(), 'attribute': dbt.type_string(), 'label': dbt.type_string(),
        'confidence': 'double precision', 'model_version': dbt.type_string()}) }}) as classifications
    where attribute = 'industry'

)

select
    scores.person_id,
    scores.grade,
    scores.score,
    scores.is_mql,
    scores.mql_at,
    scores.scored_as_of,
    subjects.country,
    case
        when subjects.industry is not null then subjects.industry
        when classified.confidence >= {{ var('routing_min_confidence') }} then classified.label
    end as industry,
    case
        when subjects.industry is not null then 'crm'
        when classified.confidence >= {{ var('routing_min_confidence') }} then 'classifier'
    end as industry_source,
    classified.confidence as industry_confidence,
    classified.model_version as industry_model_version,
    subjects.number_of_employees,
    coalesce(people.company_domain, case when subjects.email_type = 'work' then subjects.email_domain end)
        as company_domain,
    crm_owner.owner_id as crm_owner_id,
    crm_owner.owner_email as crm_owner_email,
    crm_owner.owner_source as crm_owner_source,
    account_owner.owner_email as account_owner_email
from scores
left join subjects on subjects.person_id = scores.person_id
left join people on people.person_id = scores.person_id
left join crm_owner on crm_owner.person_id = scores.person_id
left join classified
    on classified.person_id = scores.person_id
    and subjects.industry is null
left join account_owner
    on account_owner.domain = coalesce(
        people.company_domain, case when subjects.email_type = 'work' then subjects.email_domain end
    )
