{#- Delivery per partner, counted by IMb tracking code: delivered share, days from mailing to
    the first delivery scan, and the share of pieces old enough to have arrived that never did.
    "Old enough" is `mail_undeliverable_after_days` before the newest date in the mail data, so
    a rebuild on the same input gives the same answer. -#}
with pieces as (

    select * from {{ ref('int_mail_piece_outcomes') }}

),

as_of as (

    select max(cast(coalesce(first_called_at, delivered_at, mailed_on) as date)) as as_of_date
    from (
        select first_called_at, delivered_at, mailed_on from pieces
    ) as dates

),

judged as (

    select
        pieces.partner,
        pieces.is_delivered,
        case when pieces.is_delivered
            then {{ days_between('pieces.mailed_on', 'pieces.delivered_at') }}
        end as days_to_deliver,
        {{ dbt.datediff('pieces.mailed_on', 'as_of.as_of_date', 'day') }}
            >= {{ var('mail_undeliverable_after_days') }} as is_due
    from pieces
    cross join as_of

)

select
    partner,
    count(*) as pieces_mailed,
    sum(case when is_delivered then 1 else 0 end) as pieces_delivered,
    {{ rounded(share('sum(case when is_delivered then 1 else 0 end)', 'count(*)')) }} as delivered_share,
    {{ median('days_to_deliver') }} as median_days_to_deliver,
    max(days_to_deliver) as max_days_to_deliver,
    sum(case when is_due then 1 else 0 end) as pieces_due,
    sum(case when is_due and not is_delivered then 1 else 0 end) as pieces_undeliverable,
    {{ rounded(share(
        'sum(case when is_due and not is_delivered then 1 else 0 end)',
        'sum(case when is_due then 1 else 0 end)'
    )) }} as undeliverable_share
from judged
group by partner
