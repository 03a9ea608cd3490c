"""The speed-to-lead SLIs as Dagster metadata, from gold.lead_speed_to_lead.

RevOps watch two numbers: the share of MQLs touched within their SLA (of those whose SLA has
resolved, met or missed) and the median minutes from capture to first touch. Shown on the SLI
asset's materialization, they plot over runs in the Dagster UI without anyone opening the
warehouse; the warn check (dbt test `speed_to_lead_within_sla_floor`) stays beside them.
Counts only: no person, owner or email leaves the warehouse.
"""

from __future__ import annotations

from typing import Any

from warehouse import Warehouse

SLI_SQL = """
select
    grade,
    count(*) as mqls,
    sum(case when first_touch_at is not null then 1 else 0 end) as touched,
    sum(case when sla_status = 'met' then 1 else 0 end) as met,
    sum(case when sla_status = 'missed' then 1 else 0 end) as missed,
    sum(case when sla_status = 'pending' then 1 else 0 end) as pending
from {gold}.lead_speed_to_lead
group by grade
order by grade
"""
MEDIAN_SQL = """
select percentile_cont(0.5) within group (order by minutes_to_first_touch)
from {gold}.lead_speed_to_lead
where minutes_to_first_touch is not null
"""


def _share(met: int, missed: int) -> float | None:
    return round(met / (met + missed), 4) if met + missed else None


def sli_metadata(warehouse: Warehouse) -> dict[str, Any]:
    """Overall share within SLA and median minutes to first touch, with counts and the share
    per grade; {} before the model exists. The share is left out while no SLA has resolved."""
    if not warehouse.table_exists(warehouse.schema("gold"), "lead_speed_to_lead"):
        return {}
    rows = [(grade, *(int(v or 0) for v in counts)) for grade, *counts in warehouse.query(warehouse.qualify(SLI_SQL))]
    (median,) = warehouse.query(warehouse.qualify(MEDIAN_SQL))[0]
    met, missed = sum(r[3] for r in rows), sum(r[4] for r in rows)
    shown = {
        "speed_to_lead_share_within_sla": _share(met, missed),
        "speed_to_lead_median_minutes_to_first_touch": None if median is None else round(float(median), 1),
        "speed_to_lead_mqls": sum(r[1] for r in rows),
        "speed_to_lead_touched": sum(r[2] for r in rows),
        "speed_to_lead_met": met,
        "speed_to_lead_missed": missed,
        "speed_to_lead_pending": sum(r[5] for r in rows),
        "speed_to_lead_share_within_sla_by_grade": {
            str(grade): _share(r_met, r_missed) for grade, _, _, r_met, r_missed, _ in rows
        },
    }
    # A number not yet measured is left out rather than shown as null.
    return {name: value for name, value in shown.items() if value is not None}
