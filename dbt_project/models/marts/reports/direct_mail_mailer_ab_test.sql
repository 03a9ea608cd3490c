{#- Callback (response) rate per mailer version, and each version against the baseline (the
    first version by name, "A" in an A/B test): the difference in rates with its 95% Newcombe
    (hybrid Wilson score) interval. `is_significant` says the interval excludes zero. -#}
with versions as (

    select
        mailer_version,
        count(*) as pieces_mailed,
        sum(case when has_callback then 1 else 0 end) as responses
    from {{ ref('int_mail_piece_outcomes') }}
    group by mailer_version

),

rates as (

    select
        mailer_version,
        pieces_mailed,
        responses,
        {{ share('responses', 'pieces_mailed') }} as response_rate,
        {{ wilson_bound('responses', 'pieces_mailed', -1) }} as response_rate_low,
        {{ wilson_bound('responses', 'pieces_mailed', 1) }} as response_rate_high
    from versions

),

baseline as (

    select * from rates
    where mailer_version = (select min(mailer_version) from rates)

),

compared as (

    select
        rates.*,
        baseline.mailer_version as baseline_version,
        rates.response_rate - baseline.response_rate as difference,
        rates.response_rate - baseline.response_rate - sqrt(
            power(rates.response_rate - rates.response_rate_low, 2)
            + power(baseline.response_rate_high - baseline.response_rate, 2)
        ) as difference_low,
        rates.response_rate - baseline.response_rate + sqrt(
            power(rates.response_rate_high - rates.response_rate, 2)
            + power(baseline.response_rate - baseline.response_rate_low, 2)
        ) as difference_high
    from rates
    cross join baseline

)

select
    mailer_version,
    pieces_mailed,
    responses,
    {{ rounded('response_rate') }} as response_rate,
    {{ rounded('response_rate_low') }} as response_rate_low,
    {{ rounded('response_rate_high') }} as response_rate_high,
    baseline_version,
    {{ rounded('difference') }} as difference,
    {{ rounded('difference_low') }} as difference_low,
    {{ rounded('difference_high') }} as difference_high,
    mailer_version <> baseline_version and (difference_low > 0 or difference_high < 0) as is_significant
from compared
