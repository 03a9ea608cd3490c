{#- Who gets a score: every person of the golden record, plus every live Salesforce lead that
    has no person yet (scored from its own record, `person_id` = its record key), so a lead
    loaded after identity resolution last ran still shows a score. Erased people are in
    neither: identity leaves them out of int_people, and their leads are suppressed here.
    Firmographics come from enrichment when the provider knew the company, else from what the
    person's newest Salesforce lead says (newest by creation: the score sync's own writes move
    every lead's modification time). Not on a shared domain: where records of several companies
    (by identity's company key) share a company domain (a holding company's, a host's, a
    free-mail domain the list misses), the provider's answer describes one of them at best, so
    there the person's own lead wins and enrichment only fills what it lacks. A bounce counts only when it was on the address scored:
    a person who gave a working address since is not penalized for the old one. -#}
with people as (

    select * from {{ ref('int_people') }}

),

identity as (

    select record_key, person_id, source, source_id, company_key from {{ source('identity', 'identity_records') }}

),

shared_domains as (

    select records.company_domain
    from {{ ref('int_person_source_records') }} as records
    inner join identity on identity.record_key = records.record_key
    where records.company_domain is not null and identity.company_key is not null
    group by records.company_domain
    having count(distinct identity.company_key) > 1

),

leads as (

    select * from {{ ref('stg_salesforce__leads') }}
    where not is_deleted

),

latest_lead as (

    select
        identity.person_id,
        leads.industry,
        leads.number_of_employees,
        leads.annual_revenue,
        leads.lead_source,
        row_number() over (
            partition by identity.person_id
            order by leads.created_at desc nulls last, leads.lead_id
        ) as recency
    from identity
    inner join leads
        on identity.source = 'salesforce_lead'
        and identity.source_id = leads.lead_id

),

enrichment as (

    select person_id, industry, employees, annual_revenue
    from {{ source('enrichment', 'person_enrichment') }}
    where enrichment_status = 'enriched'

),

-- Each person's bounced addresses (any of their CRM records may have bounced).
bounces as (

    select identity.person_id, bounces.email_key, max(bounces.bounce_reason) as bounce_reason
    from {{ ref('int_email_bounces') }} as bounces
    inner join identity on identity.record_key = bounces.record_key
    group by identity.person_id, bounces.email_key

),

consent as (

    select
        person_id,
        {% for channel in ['email', 'phone', 'mail'] %}
        max(case when channel = '{{ channel }}' and consent_state = 'opted_out' then 1 else 0 end) = 0
            as can_contact_{{ channel }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('int_person_consent') }}
    group by person_id

),

resolved as (

    select
        people.person_id,
        'person' as scored_from,
        people.title,
        people.country,
        people.phone,
        people.email,
        bounces.bounce_reason as email_bounce_reason,
        case when shared_domains.company_domain is null
            then coalesce(enrichment.industry, latest_lead.industry)
            else coalesce(latest_lead.industry, enrichment.industry)
        end as industry,
        cast(case when shared_domains.company_domain is null
            then coalesce(enrichment.employees, latest_lead.number_of_employees)
            else coalesce(latest_lead.number_of_employees, enrichment.employees)
        end as {{ dbt.type_float() }}) as number_of_employees,
        cast(case when shared_domains.company_domain is null
            then coalesce(enrichment.annual_revenue, latest_lead.annual_revenue)
            else coalesce(latest_lead.annual_revenue, enrichment.annual_revenue)
        end as {{ dbt.type_float() }}) as annual_revenue,
        latest_lead.lead_source,
        coalesce(consent.can_contact_email, true) as can_contact_email,
        coalesce(consent.can_contact_phone, true) as can_contact_phone,
        coalesce(consent.can_contact_mail, true) as can_contact_mail
    from people
    left join latest_lead
        on latest_lead.person_id = people.person_id
        and latest_lead.recency = 1
    left join enrichment
        on enrichment.person_id = people.person_id
    left join shared_domains
        on shared_domains.company_domain = people.company_domain
    left join consent
        on consent.person_id = people.person_id
    left join bounces
        on bounces.person_id = people.person_id
        and bounces.email_key = {{ email_match_key('people.email') }}

),

unresolved_leads as (

    select
        'salesforce_lead:' || leads.lead_id as person_id,
        'lead_record' as scored_from,
        leads.title,
        leads.country,
        leads.phone,
        {{ email_match_key('leads.email') }} as email,
        lead_bounces.bounce_reason as email_bounce_reason,
        leads.industry,
        cast(leads.number_of_employees as {{ dbt.type_float() }}) as number_of_employees,
        cast(leads.annual_revenue as {{ dbt.type_float() }}) as annual_revenue,
        leads.lead_source,
        not leads.has_opted_out_of_email as can_contact_email,
        not leads.do_not_call as can_contact_phone,
        true as can_contact_mail
    from leads
    left join {{ ref('int_email_bounces') }} as lead_bounces
        on lead_bounces.record_key = 'salesforce_lead:' || leads.lead_id
    where not exists (
        select 1 from identity
        where identity.source = 'salesforce_lead' and identity.source_id = leads.lead_id
    )
        and not exists (
            select 1 from {{ source('identity', 'identity_suppressed_records') }} as suppressed
            where suppressed.source = 'salesforce_lead' and suppressed.source_id = leads.lead_id
        )

),

subjects as (

    select * from resolved
    union all
    select * from unresolved_leads

)

select
    person_id,
    scored_from,
    title,
    country,
    phone,
    email,
    email_bounce_reason,
    nullif(split_part(email, '@', 2), '') as email_domain,
    case
        when nullif(split_part(email, '@', 2), '') is null then null
        when split_part(email, '@', 2) in (select domain from {{ ref('free_mail_domains') }}) then 'free_mail'
        else 'work'
    end as email_type,
    case
        when email is null then null
        when {{ is_valid_email('email') }} then 'valid'
        else 'invalid'
    end as email_status,
    industry,
    number_of_employees,
    annual_revenue,
    lead_source,
    can_contact_email,
    can_contact_phone,
    can_contact_mail
from subjects
