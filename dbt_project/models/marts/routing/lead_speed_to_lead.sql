{#- Speed to lead per MQL: from capture (the person's first record) to the first rep touch in
    the CRM (a Salesforce task a rep made, on or after capture), against the MQL's SLA due time
    from lead_routing. `sla_status`: met (touched by due_at), missed (touched late, or not
    touched and already due as of the scores' reference time), pending (not touched, not yet
    due). The SLIs aggregate this; the warn-check reads it. -#}
with routing as (

    select * from {{ ref('lead_routing') }}
    where is_mql

),

people as (

    select person_id, first_seen_at from {{ ref('int_people') }}

),

subjects as (

    select person_id, lead_source from {{ ref('int_scoring_subjects') }}

),

first_touch as (

    select touches.person_id, min(touches.touched_at) as first_touch_at
    from {{ ref('int_person_crm_touches') }} as touches
    inner join people on people.person_id = touches.person_id
    where touches.touched_at >= people.first_seen_at
    group by touches.person_id

),

measured as (

    select
        routing.person_id,
        routing.grade,
        routing.owner_email,
        routing.queue,
        coalesce(subjects.lead_source, 'unknown') as lead_source,
        people.first_seen_at as captured_at,
        routing.mql_at,
        routing.due_at,
        first_touch.first_touch_at,
        routing.routed_as_of
    from routing
    left join people on people.person_id = routing.person_id
    left join subjects on subjects.person_id = routing.person_id
    left join first_touch on first_touch.person_id = routing.person_id

)

select
    person_id,
    grade,
    owner_email,
    queue,
    lead_source,
    captured_at,
    mql_at,
    due_at,
    first_touch_at,
    case
        when first_touch_at is not null and captured_at is not null
            then {{ dbt.datediff('captured_at', 'first_touch_at', 'minute') }}
    end as minutes_to_first_touch,
    case
        when due_at is null then 'no_sla'
        when first_touch_at is not null and first_touch_at <= due_at then 'met'
        when first_touch_at is not null or due_at <= routed_as_of then 'missed'
        else 'pending'
    end as sla_status
from measured
