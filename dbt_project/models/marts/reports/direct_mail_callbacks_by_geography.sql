{#- Where mail gets answered: callback (response) rate per state and mail-piece type (the
    IMb Service Type ID), so a team can see which regions and mail classes pay off. -#}
select
    state,
    mail_piece_type,
    count(*) as pieces_mailed,
    sum(case when has_callback then 1 else 0 end) as responses,
    {{ rounded(share('sum(case when has_callback then 1 else 0 end)', 'count(*)')) }} as response_rate
from {{ ref('int_mail_piece_outcomes') }}
group by state, mail_piece_type
