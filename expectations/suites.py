"""The data contracts, declared in code so they are reviewed and versioned like the models.

Each suite is a function returning fresh expectation objects rather than a module-level list:
GX binds an expectation to the suite it is added to, so sharing instances between validations
(or between threads in one Dagster process) would leak state from one run into the next.
The functions import GX themselves: importing it takes seconds, and this module is imported
whenever Dagster loads the code location, long before (or without) any check running.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

# Set before GX is first imported anywhere in the package: it reads the variable when a context
# is created, and a validation inside a pipeline run has no business phoning home.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

if TYPE_CHECKING:
    import great_expectations.expectations as gxe

GRADES = ("A", "B", "C", "D")


def salesforce_lead_scores() -> list[gxe.Expectation]:
    """gold.salesforce_lead_scores (each lead with its person's score) as the reverse-ETL sync
    and RevOps rely on it.

    An empty table fails: a silently empty mart would otherwise "sync" by changing nothing.
    `grade` is also required non-null because GX's in-set check skips nulls, and a null grade
    is not one of the four grades the CRM picklists accept.
    """
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="lead_id"),
        gxe.ExpectColumnValuesToBeUnique(column="lead_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="score"),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToNotBeNull(column="grade"),
        gxe.ExpectColumnValuesToBeInSet(column="grade", value_set=list(GRADES)),
        gxe.ExpectColumnValuesToNotBeNull(column="reasons"),
        gxe.ExpectColumnValuesToBeBetween(column="rules_matched", min_value=0),
    ]


SUITES: dict[str, Callable[[], list[gxe.Expectation]]] = {"salesforce_lead_scores": salesforce_lead_scores}
