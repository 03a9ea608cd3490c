{#- What a response costs per partner and mailer version, from the optional cost seed: the
    spend on every mailed piece divided by the pieces answered. Without a cost row the spend and
    cost per response are null rather than zero, so a missing price never looks free. -#}
with pieces as (

    select
        partner,
        mailer_version,
        count(*) as pieces_mailed,
        sum(case when has_callback then 1 else 0 end) as responses
    from {{ ref('int_mail_piece_outcomes') }}
    group by partner, mailer_version

)

select
    pieces.partner,
    pieces.mailer_version,
    pieces.pieces_mailed,
    pieces.responses,
    costs.cost_per_piece,
    {{ rounded('pieces.pieces_mailed * costs.cost_per_piece', 2) }} as spend,
    {{ rounded('pieces.pieces_mailed * costs.cost_per_piece / nullif(pieces.responses, 0)', 2) }} as cost_per_response
from pieces
left join {{ ref('direct_mail_costs') }} as costs
    on costs.partner = pieces.partner
    and costs.mailer_version = pieces.mailer_version
