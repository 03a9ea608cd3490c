"""The speed-to-lead SLIs shown on the SLI asset: the share of MQLs touched within SLA (of those
whose SLA resolved) and the median minutes from capture to first touch, on both warehouses."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from silver.routing.speed_to_lead import sli_metadata


def test_the_slis_count_resolved_slas_and_take_the_median_of_touched_mqls(warehouse):
    assert sli_metadata(warehouse) == {}  # the model was never built: nothing to show
    touched = datetime(2026, 11, 2, 9)
    rows = [
        # person, grade, first touch, minutes to first touch, SLA status
        ("P1", "A", touched, 30, "met"),
        ("P2", "A", touched, 200, "missed"),
        ("P3", "A", None, None, "missed"),  # due and never touched
        ("P4", "B", touched, 90, "met"),
        ("P5", "B", None, None, "pending"),  # not yet due: not counted in the share
        ("P6", "C", touched, 600, "met"),
    ]
    columns = ["person_id", "grade", "first_touch_at", "minutes_to_first_touch", "sla_status"]
    warehouse.replace_table(
        "gold",
        "lead_speed_to_lead",
        pa.table(
            {name: [r[i] for r in rows] for i, name in enumerate(columns)},
            schema=pa.schema(
                [("person_id", pa.string()), ("grade", pa.string()), ("first_touch_at", pa.timestamp("us"))]
                + [("minutes_to_first_touch", pa.int64()), ("sla_status", pa.string())]
            ),
        ),
    )
    shown = sli_metadata(warehouse)
    assert shown["speed_to_lead_share_within_sla"] == round(3 / 5, 4)
    assert shown["speed_to_lead_median_minutes_to_first_touch"] == 145.0  # of 30, 90, 200, 600
    assert (shown["speed_to_lead_mqls"], shown["speed_to_lead_touched"]) == (6, 4)
    assert (shown["speed_to_lead_met"], shown["speed_to_lead_missed"], shown["speed_to_lead_pending"]) == (3, 2, 1)
    assert shown["speed_to_lead_share_within_sla_by_grade"] == {"A": round(1 / 3, 4), "B": 1.0, "C": 1.0}
