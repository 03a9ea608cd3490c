{#- How the syncs into the CRMs are doing, per sync: runs (dry runs left out), the last run and
    its status, records sent and rejected over all runs, the rejection rate, records still
    rejected now (retried next run), and the CRM API calls the runs cost: in all, per run (over
    runs that recorded them; runs from before `api_calls` existed have none) and in the last run. -#}
with runs as (

    select * from {{ ref('int_pipeline_sync_runs') }}

),

rejections as (

    select * from {{ ref('int_pipeline_sync_rejections') }}

),

real_runs as (

    select
        *,
        row_number() over (partition by sync_name order by started_at desc, run_id desc) as recency
    from runs
    where not dry_run

),

per_sync as (

    select
        sync_name,
        count(*) as runs,
        max(started_at) as last_run_at,
        max(case when recency = 1 then status end) as last_run_status,
        sum(case when status = 'abandoned' then 1 else 0 end) as abandoned_runs,
        sum(coalesce(sent, 0)) as records_sent,
        sum(coalesce(failed, 0)) as records_rejected,
        sum(api_calls) as api_calls,
        avg(api_calls) as api_calls_per_run,
        max(case when recency = 1 then api_calls end) as last_run_api_calls
    from real_runs
    group by sync_name

),

open_rejections as (

    select sync_name, count(*) as open_rejections
    from rejections
    group by sync_name

)

select
    per_sync.sync_name,
    per_sync.runs,
    per_sync.last_run_at,
    per_sync.last_run_status,
    per_sync.abandoned_runs,
    per_sync.records_sent,
    per_sync.records_rejected,
    {{ rounded(share('per_sync.records_rejected', 'per_sync.records_sent')) }} as rejection_rate,
    coalesce(open_rejections.open_rejections, 0) as open_rejections,
    per_sync.api_calls,
    {{ rounded('per_sync.api_calls_per_run', 2) }} as api_calls_per_run,
    per_sync.last_run_api_calls
from per_sync
left join open_rejections
    on open_rejections.sync_name = per_sync.sync_name
