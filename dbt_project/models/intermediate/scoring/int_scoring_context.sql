{#- The one reference time and rules version every score of a build shares. `scored_as_of` is
    the dbt var of that name when given, else the newest engagement event in the data (else the
    newest golden-record update): never the wall clock, so a rebuild on the same input is
    byte-identical. `score_version` hashes every rule and threshold that shapes a score. -#}
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

reference as (

    select
        {% if var('scored_as_of', none) %}
        cast('{{ var("scored_as_of") }}' as {{ dbt.type_timestamp() }})
        {% else %}
        coalesce(
            (select max(occurred_at) from {{ ref('int_person_engagement_events') }}),
            (select max(last_updated_at) from {{ ref('int_people') }})
        )
        {% endif %}
            as scored_as_of

)

select
    cast(reference.scored_as_of as {{ dbt.type_timestamp() }}) as scored_as_of,
    version.score_version
from reference
cross join version
