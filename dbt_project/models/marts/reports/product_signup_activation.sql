{#- Do product sign-ups start using the product? Per sign-up month: sign-ups, those with a
    usage event within `activation_window_days` of signing up (activated), the activation rate
    and the median days from sign-up to first use among the activated. -#}
with first_use as (

    select user_id, min(occurred_at) as first_used_at
    from {{ ref('stg_product__usage_events') }}
    group by user_id

),

signups as (

    select
        cast({{ dbt.date_trunc('month', 'users.created_at') }} as date) as signup_month,
        {{ days_between('users.created_at', 'first_use.first_used_at') }} as days_to_first_use
    from {{ ref('stg_product__users') }} as users
    left join first_use
        on first_use.user_id = users.user_id

),

judged as (

    select
        signup_month,
        case when days_to_first_use <= {{ var('activation_window_days') }} then days_to_first_use end
            as days_to_activation
    from signups

)

select
    signup_month,
    count(*) as signups,
    count(days_to_activation) as activated,
    {{ rounded(share('count(days_to_activation)', 'count(*)')) }} as activation_rate,
    {{ median('days_to_activation') }} as median_days_to_activation
from judged
group by signup_month
