"""What the latest scoring changed, from gold.lead_score_history, as Dagster metadata.

The history keeps one row per change of a person's score. Rows stamped with the current
reference time (`scored_as_of`) are the changes of the latest scoring: new people, rises, falls,
and the grade moves among them (e.g. "C→B": 12), so the Dagster UI shows a score move without
anyone opening the warehouse. A rebuild on unchanged input appends nothing, so the figures stay.
"""

from __future__ import annotations

from typing import Any

from warehouse import Warehouse

CHANGES_SQL = """
with latest as (
    select max(scored_as_of) as scored_as_of from {gold}.lead_score_history
),
changed as (
    select history.person_id, history.change_number, history.score_change, history.grade
    from {gold}.lead_score_history as history
    join latest on history.scored_as_of = latest.scored_as_of
)
select
    changed.change_number = 1 as is_new,
    coalesce(changed.score_change, 0) > 0 as rose,
    previous.grade as previous_grade,
    changed.grade
from changed
left join {gold}.lead_score_history as previous
    on previous.person_id = changed.person_id and previous.change_number = changed.change_number - 1
"""


def history_metadata(warehouse: Warehouse) -> dict[str, Any]:
    """Counts of the latest scoring's changes and grade moves (from→to, only real moves)."""
    if not warehouse.table_exists(warehouse.schema("gold"), "lead_score_history"):
        return {}
    rows = warehouse.query(warehouse.qualify(CHANGES_SQL))
    (as_of,) = warehouse.query(warehouse.qualify("select max(scored_as_of) from {gold}.lead_score_history"))[0]
    moves: dict[str, int] = {}
    for is_new, _rose, previous, grade in rows:
        if not is_new and previous != grade:
            key = f"{previous}→{grade}"
            moves[key] = moves.get(key, 0) + 1
    return {
        "score_history_as_of": str(as_of),
        "score_changes": sum(1 for is_new, *_ in rows if not is_new),
        "score_rises": sum(1 for is_new, rose, *_ in rows if not is_new and rose),
        "score_falls": sum(1 for is_new, rose, *_ in rows if not is_new and not rose),
        "newly_scored_people": sum(1 for is_new, *_ in rows if is_new),
        "grade_moves": dict(sorted(moves.items())),
    }
