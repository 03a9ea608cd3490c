{#- Each spelling a CRM may hold (alpha-2, alpha-3, upper-cased English name) names one country
    at most. `country_code` takes the min() of the matches; this keeps the failure a bare scalar
    subquery raised (more than one row) when two countries share a spelling. -#}
with spellings as (

    select alpha2 as spelling, alpha2 from {{ ref('country_codes') }}
    union all
    select alpha3, alpha2 from {{ ref('country_codes') }}
    union all
    select upper(name), alpha2 from {{ ref('country_codes') }}

)

select spelling, count(distinct alpha2) as countries
from spellings
where spelling is not null
group by spelling
having count(distinct alpha2) > 1
