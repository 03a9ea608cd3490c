"""The data contracts, declared in code so they are reviewed and versioned like the models.

Each suite is a function returning fresh expectation objects (GX mutates what it is given).
"""

from __future__ import annotations

from collections.abc import Callable

import great_expectations.expectations as gxe


def lead_scores() -> list[gxe.Expectation]:
    """gold.lead_scores as the reverse-ETL sync and RevOps rely on it."""
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="lead_id"),
        gxe.ExpectColumnValuesToBeUnique(column="lead_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="score"),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeInSet(column="grade", value_set=["A", "B", "C", "D"]),
        gxe.ExpectColumnValuesToNotBeNull(column="grade"),
        gxe.ExpectColumnValuesToNotBeNull(column="reasons"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="reasons", min_value=1, max_value=1000),
        gxe.ExpectColumnValuesToBeBetween(column="rules_matched", min_value=0),
    ]


SUITES: dict[str, Callable[[], list[gxe.Expectation]]] = {"lead_scores": lead_scores}
