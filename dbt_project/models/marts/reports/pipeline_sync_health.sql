{#- How the syncs into the CRMs are doing, per sync: runs (dry runs left out), the last run and
    its status, records sent and rejected over all runs, the rejection rate, and records still
    rejected now (retried next run). -#}
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
        sum(coalesce(failed, 0)) as records_rejected
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
    coalesce(open_rejections.open_rejections, 0) as open_rejections
from per_sync
left join open_rejections
    on open_rejections.sync_name = per_sync.sync_name
