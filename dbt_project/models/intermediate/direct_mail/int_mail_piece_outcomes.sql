{#- One row per mail piece a partner dropped, with what became of it: delivered when and
    called back when. The direct-mail reports all count from here, so "a response" means the
    same thing in each (a piece with at least one callback, however many calls it got). -#}
with deliveries as (

    select imb_tracking, min(delivered_at) as delivered_at
    from {{ ref('stg_partners__delivery_confirmations') }}
    group by imb_tracking

),

callbacks as (

    select imb_tracking, min(called_at) as first_called_at, count(*) as calls
    from {{ ref('stg_partners__callbacks') }}
    group by imb_tracking

)

select
    pieces.imb_tracking,
    pieces.partner,
    coalesce(pieces.mailer_version, '(none)') as mailer_version,
    coalesce(pieces.state, '(unknown)') as state,
    -- The IMb's Service Type ID (digits 3-5 of the tracking code) names the mail class and
    -- services of the piece: its mail-piece type.
    substr(pieces.imb_tracking, 3, 3) as mail_piece_type,
    cast(pieces.mailed_on as date) as mailed_on,
    deliveries.delivered_at,
    callbacks.first_called_at,
    coalesce(callbacks.calls, 0) as calls,
    deliveries.delivered_at is not null as is_delivered,
    callbacks.imb_tracking is not null as has_callback
from {{ ref('stg_partners__mailed_records') }} as pieces
left join deliveries
    on deliveries.imb_tracking = pieces.imb_tracking
left join callbacks
    on callbacks.imb_tracking = pieces.imb_tracking
