"""The score history's Dagster metadata counts the latest scoring's changes and grade moves."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from scoring.score_history import history_metadata


def test_the_latest_scoring_changes_and_grade_moves_are_counted(warehouse):
    assert history_metadata(warehouse) == {}  # nothing scored yet: nothing to show
    old, new = datetime(2026, 11, 1), datetime(2026, 11, 30)
    rows = [
        # person, change, as of, score, change, grade
        ("P1", 1, old, 40, None, "C"),
        ("P1", 2, new, 55, 15, "B"),  # rose, C -> B
        ("P2", 1, old, 80, None, "A"),
        ("P2", 2, new, 72, -8, "A"),  # fell, stays A
        ("P3", 1, old, 20, None, "D"),  # unchanged since November 1
        ("P4", 1, new, 65, None, "B"),  # new
        ("P5", 1, old, 75, None, "A"),
        ("P5", 2, new, 45, -30, "C"),  # fell, A -> C
    ]
    columns = ["person_id", "change_number", "scored_as_of", "score", "score_change", "grade"]
    warehouse.replace_table(
        "gold", "lead_score_history", pa.table({name: [r[i] for r in rows] for i, name in enumerate(columns)})
    )
    shown = history_metadata(warehouse)
    assert shown["score_history_as_of"].startswith("2026-11-30")
    assert (shown["score_changes"], shown["score_rises"], shown["score_falls"]) == (3, 1, 2)
    assert shown["newly_scored_people"] == 1
    assert shown["grade_moves"] == {"A→C": 1, "C→B": 1}
