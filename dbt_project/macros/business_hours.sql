{#- Business-hours arithmetic, set-based and the same SQL on DuckDB and Postgres: when is
    `minutes` business minutes after `utc_ts` in a team's time zone, Monday to Friday between
    `start_hour` and `end_hour` local? Returns a UTC timestamp without time zone.
    Why SQL and not Python: due_at is a column of a gold model every build recomputes for every
    routed MQL, so it has to be a join-free expression. How: move to local time, push the start
    into business hours (a weekend or after-hours capture starts the next business morning), add
    whole business days (skipping weekends) and the remaining minutes, and move back to UTC.
    A deadline that lands exactly on closing time stays there (17:00, not 09:00 the next day).
    Holidays are not modelled. -#}
{% macro local_time(utc_ts, time_zone) -%}
    (({{ utc_ts }}) at time zone 'UTC') at time zone ({{ time_zone }})
{%- endmacro %}

{% macro utc_time(local_ts, time_zone) -%}
    (({{ local_ts }}) at time zone ({{ time_zone }})) at time zone 'UTC'
{%- endmacro %}

{#- Days to add to a date of ISO weekday `isodow` (1 = Monday) to land `n` business days later. -#}
{% macro business_days_span(isodow, n) -%}
    (({{ n }}) + 2 * floor((({{ isodow }}) - 1 + ({{ n }})) / 5))
{%- endmacro %}

{% macro business_due_at(utc_ts, time_zone, start_hour, end_hour, minutes) -%}
    {%- set local = local_time(utc_ts, time_zone) -%}
    {%- set dow = "extract(isodow from " ~ local ~ ")" -%}
    {%- set minute_of_day = "(extract(hour from " ~ local ~ ") * 60 + extract(minute from " ~ local ~ "))" -%}
    {%- set open_minute = "((" ~ start_hour ~ ") * 60)" -%}
    {%- set day_length = "((" ~ end_hour ~ ") * 60 - (" ~ start_hour ~ ") * 60)" -%}
    {#- The business day the clock starts on (offset in calendar days from the local date) and the
        business minutes already gone on it. -#}
    {%- set start_shift -%}
        (case
            when {{ dow }} = 6 then 2
            when {{ dow }} = 7 then 1
            when {{ minute_of_day }} >= ({{ end_hour }}) * 60 then case {{ dow }} when 5 then 3 else 1 end
            else 0
        end)
    {%- endset -%}
    {%- set elapsed -%}
        (case
            when {{ dow }} in (6, 7) or {{ minute_of_day }} >= ({{ end_hour }}) * 60 then 0
            else greatest({{ minute_of_day }} - {{ open_minute }}, 0)
        end)
    {%- endset -%}
    {%- set start_dow = "(((" ~ dow ~ " - 1 + " ~ start_shift ~ ") % 7) + 1)" -%}
    {%- set total = "(" ~ elapsed ~ " + (" ~ minutes ~ "))" -%}
    {#- Whole business days after the start day, and the minutes into the last one (in (0, L]). -#}
    {%- set whole_days = "greatest(ceil(" ~ total ~ " * 1.0 / " ~ day_length ~ ") - 1, 0)" -%}
    {%- set remainder = "(" ~ total ~ " - " ~ whole_days ~ " * " ~ day_length ~ ")" -%}
    {%- set due_date = "(cast(" ~ local ~ " as date) + cast(" ~ start_shift ~ " + "
        ~ business_days_span(start_dow, whole_days) ~ " as integer))" -%}
    {%- set due_local = dbt.dateadd('minute', "cast(" ~ open_minute ~ " + " ~ remainder ~ " as integer)",
        "cast(" ~ due_date ~ " as " ~ dbt.type_timestamp() ~ ")") -%}
    cast({{ utc_time(due_local, time_zone) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}
