{#- The one reference time and rules version every score of a build shares. `scored_as_of` is
    the dbt var of that name when given, else the newest engagement event in silver (else the
    newest person's first record). Never the wall clock, nor a record's modification time (our
    own syncs move it), so a rebuild on the same input is byte-identical. `score_version`
    hashes every rule and threshold that shapes a score. -#}
with rules as (

    select
        'fit|' || rule_id || '|' || rule_group || '|' || attribute || '|' || match_type || '|'
        || coalesce(match_value, '') || '|' || cast(points as {{ dbt.type_string() }}) || '|' || reason
            as rule_text
    from {{ ref('fit_rules') }}

    union all

    select
        'engagement|' || rule_id || '|' || rule_group || '|' || event_kind || '|' || coalesce(match_value, '')
        || '|' || cast(points as {{ dbt.type_string() }}) || '|' || cast(half_life_days as {{ dbt.type_string() }})
        || '|' || cast(lookback_days as {{ dbt.type_string() }}) || '|' || cast(group_cap as {{ dbt.type_string() }})
        || '|' || reason
    from {{ ref('engagement_rules') }}

    union all

    select
        'vars|{{ var("lead_grade_a_min") }}|{{ var("lead_grade_b_min") }}|{{ var("lead_grade_c_min") }}'
        || '|{{ var("mql_score_threshold") }}'

),

version as (

    select substr({{ dbt.hash(dbt.listagg('rule_text', "'~'", 'order by rule_text')) }}, 1, 12) as score_version
    from rules

),

{#- Newest in the data itself, not among the events matched to a person: deleting or erasing
    one person must not move everyone else's reference time. -#}
newest_events as (

    select cast(max(occurred_at) as {{ dbt.type_timestamp() }}) as occurred_at from {{ ref('stg_web_events__events') }}
    union all
    select cast(max(occurred_at) as {{ dbt.type_timestamp() }}) from {{ ref('stg_product__usage_events') }}
    union all
    select cast(max(created_at) as {{ dbt.type_timestamp() }}) from {{ ref('stg_product__users') }}
    union all
    select cast(max(called_at) as {{ dbt.type_timestamp() }}) from {{ ref('stg_partners__callbacks') }}
    union all
    select cast(max(created_at) as {{ dbt.type_timestamp() }}) from {{ ref('stg_salesforce__campaign_members') }}
    union all
    select cast(max(first_responded_date) as {{ dbt.type_timestamp() }}) from {{ ref('stg_salesforce__campaign_members') }}

),

reference as (

    select
        {% if var('scored_as_of', none) %}
        cast('{{ var("scored_as_of") }}' as {{ dbt.type_timestamp() }})
        {% else %}
        coalesce(
            (select max(occurred_at) from newest_events),
            (select max(first_seen_at) from {{ ref('int_people') }})
        )
        {% endif %}
            as scored_as_of

)

select
    cast(reference.scored_as_of as {{ dbt.type_timestamp() }}) as scored_as_of,
    version.score_version
from reference
cross join version
